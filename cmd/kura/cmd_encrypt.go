package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// encryptFlags are the flags of encrypt beyond input and output.
type encryptFlags struct {
	keys      keyFlags
	selection selectionFlags
	threshold int
	reuse     string
}

func (f *encryptFlags) register(fs *pflag.FlagSet) {
	f.keys.register(fs)
	f.selection.register(fs)
	fs.IntVar(&f.threshold, "shamir-secret-sharing-threshold", 0, "number of key groups needed to decrypt (default: all)")
}

func (a *app) encryptCommand() *cobra.Command {
	var io ioFlags
	var ef encryptFlags
	cmd := &cobra.Command{
		Use:   "encrypt [FILE]",
		Short: "Encrypt a file and print the result",
		Long: `Encrypt the values of FILE (or standard input) with a new data key, wrapped
for every recipient given with --age or by the matching .sops.yaml creation
rule. Keys, structure and comments stay readable; comments are encrypted
unless a selector leaves them in clear.`,
		Example: `  kura encrypt --age age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p secrets.yaml > secrets.enc.yaml
  kura encrypt -i secrets.yaml                     # keys from .sops.yaml, in place
  kura encrypt --encrypted-regex '^(data|stringData)$' secret.yaml
  cat app.env | kura encrypt --filename-override app.env`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.encrypt(cmd, &io, &ef, args)
		},
	}
	io.register(cmd.Flags())
	ef.register(cmd.Flags())
	cmd.Flags().StringVar(&ef.reuse, "reuse", "", "an earlier encrypted version of this file: keep its data key and the encrypted text of every value that did not change")
	return cmd
}

func (a *app) encrypt(cmd *cobra.Command, io *ioFlags, ef *encryptFlags, args []string) error {
	j, err := a.resolve(io, args)
	if err != nil {
		return err
	}
	if j.file == "" && io.filenameOverride == "" && io.inputType == "" {
		return &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("reading from standard input needs --filename-override (or --input-type) to know the format")}
	}
	return inFile(displayName(j.file), a.encryptJob(j, io, ef))
}

func (a *app) encryptJob(j *job, io *ioFlags, ef *encryptFlags) error {
	data, err := a.readInput(j)
	if err != nil {
		return err
	}
	in := a.store(j.input, j.cfg, false)
	out := a.store(j.output, j.cfg, true)
	docs, err := loadPlainShared(in, data)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: fmt.Errorf("not valid %s: %w", j.input, err)}
	}
	if len(docs) == 0 {
		return &sopsfile.Error{Code: sopsfile.CodeNeedAtLeastOneDocument, Err: errors.New("file cannot be completely empty, it must contain at least one document")}
	}
	if out.HasMetadataKey(docs[0]) {
		// encrypt -i over a file that is already a valid SOPS file has
		// nothing to do: it is already what was asked for.
		if io.inPlace {
			if _, err := sopsfile.Load(data, in, j.input == format.Binary); err == nil {
				fmt.Fprintf(a.stderr, "kura: %s is already encrypted; nothing changed\n", displayName(j.file))
				return nil
			}
		}
		return &sopsfile.Error{Code: sopsfile.CodeFileAlreadyEncrypted, Err: errors.New("the file already holds sops metadata (a top-level sops entry, sops_ keys or a [sops] section): it is encrypted already"),
			Hint: "to change an encrypted file use kura edit or kura set; to encrypt it again from its plaintext, use kura encrypt --reuse OLD to keep unchanged values as they were"}
	}
	opts, err := a.encryptionOptions(j.name, j.input, j.cfg, ef)
	if err != nil {
		return err
	}
	prev, err := a.reuseSource(j, io, ef)
	if err != nil {
		return err
	}
	if prev != nil {
		// Nothing changed: the earlier file is the answer, lastmodified
		// included.
		if tree.DocumentsEqual(prev.plain, docs) && prev.l.file.SameEncryption(opts) {
			return a.writeOutput(j, io, prev.l.data)
		}
		opts.Reuse = prev.l.file
	}
	f, err := sopsfile.Encrypt(docs, opts)
	if err != nil {
		return err
	}
	var layout []byte
	if j.input == j.output {
		layout = a.keepLayout(data)
	}
	encrypted, err := f.EmitLike(out, layout)
	if err != nil {
		return err
	}
	return a.writeOutput(j, io, encrypted)
}

// reused is an earlier encrypted version of a file, decrypted.
type reused struct {
	l     *loaded
	plain []tree.Document // its plaintext, before anything changes it
}

// reuseSource finds the earlier encrypted version whose data key and
// ciphertexts encrypt keeps: --reuse FILE, or the file --output is about
// to replace when that is encrypted. It must decrypt; an --output target
// that does not is overwritten afresh, with a warning.
func (a *app) reuseSource(j *job, io *ioFlags, ef *encryptFlags) (*reused, error) {
	path, explicit := ef.reuse, ef.reuse != ""
	if !explicit && io.output != "" {
		if _, err := os.Stat(io.output); err == nil {
			path = io.output
		}
	}
	if path == "" {
		return nil, nil
	}
	f := format.FromPath(path)
	if t, ok := format.Parse(io.outputType); ok {
		f = t
	}
	l, err := a.loadEncrypted(path, string(f.String()), j.cfg)
	if err == nil {
		err = l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers()})
	}
	if err != nil {
		if explicit {
			return nil, inFile(displayName(path), err)
		}
		if !errors.Is(err, sopsfile.ErrNotSOPS) {
			a.warnf("%s: cannot reuse the encrypted file it replaces (%s); encrypting afresh", displayName(path), oneLine(err))
		}
		return nil, nil
	}
	return &reused{l: l, plain: tree.CloneDocuments(l.file.Docs)}, nil
}

// encryptionOptions works out how to encrypt new content for a file name:
// the keys of the flags or of the matching .sops.yaml rule, the rule's
// selectors with the flags' replacing them field by field, the threshold.
func (a *app) encryptionOptions(name string, input format.Format, cfg *config.Config, ef *encryptFlags) (sopsfile.EncryptOptions, error) {
	rule, err := cfg.Rule(name)
	if err != nil {
		return sopsfile.EncryptOptions{}, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("error loading config: %w", err)}
	}
	groups, err := a.recipientGroups(ef.keys, rule)
	if err != nil {
		return sopsfile.EncryptOptions{}, sopsfile.Wrap(sopsfile.CodeGeneric, err)
	}
	sel := a.selection(&ef.selection)
	threshold := ef.threshold
	if rule != nil {
		sel = rule.Rules.Merge(sel)
		if threshold == 0 {
			threshold = rule.ShamirThreshold
		}
	}
	binary := input == format.Binary
	if binary && !sel.IsZero() {
		a.warnf("selection rules do not apply to binary files and are ignored: the whole content is encrypted")
	}
	return sopsfile.EncryptOptions{Groups: groups, ShamirThreshold: threshold, Rules: sel, Binary: binary}, nil
}
