package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// encryptFlags are the flags of encrypt beyond input and output.
type encryptFlags struct {
	keys      keyFlags
	selection selectionFlags
	threshold int
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
	docs, err := in.LoadPlain(data)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: fmt.Errorf("not valid %s: %w", j.input, err)}
	}
	if len(docs) == 0 {
		return &sopsfile.Error{Code: sopsfile.CodeNeedAtLeastOneDocument, Err: errors.New("file cannot be completely empty, it must contain at least one document")}
	}
	if out.HasMetadataKey(docs[0]) {
		return &sopsfile.Error{Code: sopsfile.CodeFileAlreadyEncrypted, Err: errors.New("the file already holds sops metadata (a top-level sops entry, sops_ keys or a [sops] section): it is encrypted already"),
			Hint: "to change an encrypted file use `kura decrypt`, edit, and encrypt again; to re-encrypt it, decrypt it first"}
	}
	rule, err := j.cfg.Rule(j.name)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("error loading config: %w", err)}
	}
	groups, err := a.recipientGroups(ef.keys, rule)
	if err != nil {
		return sopsfile.Wrap(sopsfile.CodeGeneric, err)
	}
	sel := a.selection(&ef.selection)
	threshold := ef.threshold
	if rule != nil {
		sel = rule.Rules.Merge(sel)
		if threshold == 0 {
			threshold = rule.ShamirThreshold
		}
	}
	binary := j.input == format.Binary
	if binary && !sel.IsZero() {
		a.warnf("selection rules do not apply to binary files and are ignored: the whole content is encrypted")
	}
	f, err := sopsfile.Encrypt(docs, sopsfile.EncryptOptions{
		Groups:          groups,
		ShamirThreshold: threshold,
		Rules:           sel,
		Binary:          binary,
	})
	if err != nil {
		return err
	}
	encrypted, err := f.Emit(out)
	if err != nil {
		return err
	}
	return a.writeOutput(j, io, encrypted)
}
