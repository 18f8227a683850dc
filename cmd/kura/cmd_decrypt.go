package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/k8ssecret"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// decryptFlags are the flags of decrypt beyond input and output.
type decryptFlags struct {
	extract   string
	ignoreMAC bool
	strict    bool
	order     string
	// --output-type k8s-secret
	secret       bool
	secretName   string
	secretNS     string
	secretType   string
	secretBase64 bool
}

func (f *decryptFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.extract, "extract", "", `print only the value at this path, such as '["db"]["hosts"][0]'`)
	fs.BoolVar(&f.ignoreMAC, "ignore-mac", false, "do not check the file's MAC (decrypt a file that was changed after encryption)")
	fs.BoolVar(&f.strict, "strict", false, "refuse (exit 25) what sops accepts with a warning: an encrypted comment that does not authenticate, a value whose text does not fit its type tag")
	fs.StringVar(&f.order, "decryption-order", "", "comma-separated key types to try first, such as pgp,age (also SOPS_DECRYPTION_ORDER)")
	fs.StringVar(&f.secretName, "name", "", "with --output-type k8s-secret: the Secret's name")
	fs.StringVar(&f.secretNS, "namespace", "", "with --output-type k8s-secret: the Secret's namespace")
	fs.StringVar(&f.secretType, "secret-type", "", "with --output-type k8s-secret: the Secret's type (default Opaque)")
	fs.BoolVar(&f.secretBase64, "base64", false, "with --output-type k8s-secret: write data with base64 values instead of stringData")
}

func (a *app) decryptCommand() *cobra.Command {
	var io ioFlags
	var df decryptFlags
	cmd := &cobra.Command{
		Use:   "decrypt [FILE]",
		Short: "Decrypt a file and print the result",
		Long: `Decrypt FILE (or standard input) with the first identity that unwraps its
data key, check its MAC, and print the plaintext in the file's format or
--output-type.

--output-type k8s-secret prints a Kubernetes Secret manifest instead, one
data key per top-level key, named by --name (and --namespace): pipe it to
kubectl apply -f - and no plaintext file is written.`,
		Example: `  kura decrypt secrets.enc.yaml
  kura decrypt --extract '["db"]["password"]' secrets.enc.yaml
  kura decrypt --output-type json secrets.enc.yaml
  kura decrypt --output-type k8s-secret --name app --namespace prod secrets.enc.env | kubectl apply -f -
  SOPS_AGE_KEY_FILE=~/keys.txt kura decrypt -i secrets.yaml`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.decrypt(cmd, &io, &df, args)
		},
	}
	io.register(cmd.Flags())
	df.register(cmd.Flags())
	return cmd
}

func (a *app) decrypt(cmd *cobra.Command, io *ioFlags, df *decryptFlags, args []string) error {
	if io.outputType == "k8s-secret" {
		if df.secretName == "" {
			return usageError{errors.New("--output-type k8s-secret needs --name")}
		}
		if df.extract != "" {
			return usageError{errors.New("--output-type k8s-secret takes the whole file: no --extract")}
		}
		df.secret, io.outputType = true, ""
	} else if df.secretName != "" || df.secretNS != "" || df.secretType != "" || df.secretBase64 {
		return usageError{errors.New("--name, --namespace, --secret-type and --base64 go with --output-type k8s-secret")}
	}
	j, err := a.resolve(io, args)
	if err != nil {
		return err
	}
	order, err := a.decryptionOrder(df.order)
	if err != nil {
		return err
	}
	var path []tree.PathStep
	if df.extract != "" {
		if path, err = tree.ParsePath(df.extract); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeInvalidTreePath, Err: fmt.Errorf("error parsing --extract path: %w", err)}
		}
	}
	return inFile(displayName(j.file), a.decryptJob(j, io, df, order, path))
}

func (a *app) decryptJob(j *job, io *ioFlags, df *decryptFlags, order []keys.Type, path []tree.PathStep) error {
	data, err := a.readInput(j)
	if err != nil {
		return err
	}
	if _, ok := format.Parse(io.inputType); !ok {
		if f := format.OfEncrypted(j.input, data); f != j.input {
			// A .toml file sops encrypted as binary decrypts to its
			// bytes, as sops prints it.
			if _, ok := format.Parse(io.outputType); !ok && j.output == j.input {
				j.output = f
			}
			j.input = f
		}
	}
	in := a.store(j.input, j.cfg, false)
	out := a.store(j.output, j.cfg, true)
	// data is not changed while f is in use: its tree may point into it.
	f, err := sopsfile.LoadShared(data, in, j.input == format.Binary)
	if err != nil {
		return err
	}
	var read []string
	if path != nil {
		read = []string{tree.FormatPath(path)}
	}
	if err := f.Decrypt(sopsfile.DecryptOptions{Sources: a.keySources(), Order: order, IgnoreMAC: df.ignoreMAC, ReadOnly: true, Strict: df.strict}); err != nil {
		a.audit("decrypt", j.file, auditOutcome(err), nil, read...)
		return err
	}
	a.audit("decrypt", j.file, "ok", &loaded{}, read...)
	for _, w := range f.Warnings {
		a.warnf("%s: %s (--strict refuses this)", displayName(j.file), w)
	}
	tree.DetachComments(f.Docs)
	if df.secret {
		entries, err := k8ssecret.Entries(f.Docs, j.input == format.Dotenv)
		if err == nil {
			var manifest []byte
			if manifest, err = k8ssecret.Render(k8ssecret.Options{Name: df.secretName, Namespace: df.secretNS, Type: df.secretType, Base64: df.secretBase64}, entries); err == nil {
				return a.writeOutput(j, io, manifest)
			}
		}
		return &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: err}
	}
	if se, ok := out.(format.StreamEmitter); ok && path == nil && !io.inPlace && io.output == "" {
		return a.streamOutput(se, f.Docs)
	}
	plain, err := render(f.Docs, out, path, j.input)
	if err != nil {
		return err
	}
	return a.writeOutput(j, io, plain)
}

// render writes decrypted documents, or the part --extract selects. A
// dotenv value is extracted as it means (unquoted), and a dotenv variable
// may be named without its "export " prefix.
func render(docs []tree.Document, out format.Store, path []tree.PathStep, input format.Format) ([]byte, error) {
	dump := func(b []byte, err error) ([]byte, error) {
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: fmt.Errorf("error dumping file: %w", err)}
		}
		return b, nil
	}
	if path == nil {
		return dump(out.EmitPlain(docs))
	}
	if len(docs) == 0 {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: errors.New("the file holds no document")}
	}
	v, err := tree.Lookup(docs[0], path)
	if err != nil && input == format.Dotenv && len(path) == 1 && !path[0].IsIndex {
		for _, it := range docs[0] {
			if !it.IsComment() && dotenv.Name(it.Key.Str) == path[0].Key {
				v, err = it.Value, nil
				break
			}
		}
	}
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("error truncating tree: %w", err)}
	}
	switch v.Kind {
	case tree.Map:
		return dump(out.EmitPlain([]tree.Document{v.Items()}))
	case tree.String:
		if input == format.Dotenv {
			return []byte(dotenv.Unquote(v.Str)), nil
		}
		return []byte(v.Str), nil
	}
	return dump(out.EmitValue(v))
}
