package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	jsonstore "github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// changeFileFlags are the flags of set and unset.
type changeFileFlags struct {
	inputType  string
	ignoreMAC  bool
	idempotent bool
	order      string
	valueFile  bool
	valueStdin bool
	threshold  int
}

func (c *changeFileFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&c.inputType, "input-type", "", "format of the file: yaml, json, dotenv, ini, toml or binary (default: from the file name)")
	fs.BoolVar(&c.ignoreMAC, "ignore-mac", false, "change a file whose MAC does not match")
	fs.BoolVar(&c.idempotent, "idempotent", false, "succeed without writing when nothing would change (kura never rewrites an unchanged file)")
	fs.StringVar(&c.order, "decryption-order", "", "comma-separated key types to try first (also SOPS_DECRYPTION_ORDER)")
}

func (a *app) setCommand() *cobra.Command {
	var c changeFileFlags
	cmd := &cobra.Command{
		Use:   "set FILE PATH VALUE",
		Short: "Set one value of an encrypted file",
		Long: `Set the value at PATH (such as '["db"]["password"]') in FILE to VALUE, given
as JSON: a string in double quotes, a number, true, false, null, an object
or a list. Missing maps on the way are created; an index past the end of a
list appends. The file keeps its data key, and every other value keeps
its encrypted text byte for byte, so a diff shows the one line that
changed (and the MAC). Nothing is written when the value is already set.`,
		Example: `  kura set secrets.yaml '["db"]["password"]' '"s3cr3t"'
  kura set secrets.yaml '["replicas"]' 3
  kura set --value-file secrets.yaml '["tls"]["key"]' key.pem.json
  printf '"%s"' "$TOKEN" | kura set --value-stdin secrets.yaml '["api"]["token"]'`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.set(&c, args)
		},
	}
	c.register(cmd)
	cmd.Flags().BoolVar(&c.valueFile, "value-file", false, "VALUE is the name of a file holding the JSON value")
	cmd.Flags().BoolVar(&c.valueStdin, "value-stdin", false, "read the JSON value from standard input (then give only FILE and PATH)")
	cmd.Flags().IntVar(&c.threshold, "shamir-secret-sharing-threshold", 0, "accepted for compatibility with sops; set does not change key groups")
	return cmd
}

func (a *app) unsetCommand() *cobra.Command {
	var c changeFileFlags
	cmd := &cobra.Command{
		Use:   "unset FILE PATH",
		Short: "Remove one value of an encrypted file",
		Long: `Remove the entry or list element at PATH (such as '["db"]["password"]') from
FILE. Every other value keeps its encrypted text byte for byte. A path that
names nothing is an error (exit 1), or success with --idempotent.`,
		Example: `  kura unset secrets.yaml '["old_token"]'
  kura unset --idempotent secrets.yaml '["hosts"][2]'`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.unset(&c, args)
		},
	}
	c.register(cmd)
	return cmd
}

// parseSetValue reads a set VALUE: JSON, with integers kept as integers
// (sops turns a bare 5 into the float 5) and object keys in order.
func parseSetValue(text []byte) (tree.Value, error) {
	if !json.Valid(text) {
		return tree.Value{}, errors.New("the value is not valid JSON (a string needs double quotes: '\"text\"')")
	}
	docs, err := jsonstore.New(-1).LoadPlain(append(append([]byte(`{"v":`), text...), "\n}"...))
	if err != nil || len(docs) != 1 || len(docs[0]) != 1 {
		return tree.Value{}, errors.New("the value is not valid JSON")
	}
	return docs[0][0].Value, nil
}

// changeFile decrypts a file, lets change edit its first document, and
// writes the file back re-encrypted when anything changed.
func (a *app) changeFile(c *changeFileFlags, file string, change func(tree.Document) (tree.Document, error)) error {
	if _, err := os.Stat(file); err != nil {
		return inFile(file, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	order, err := a.decryptionOrder(c.order)
	if err != nil {
		return err
	}
	l, err := a.loadEncrypted(file, c.inputType, cfg)
	if err != nil {
		return inFile(displayName(file), err)
	}
	if err := l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers(), Order: order, IgnoreMAC: c.ignoreMAC}); err != nil {
		return inFile(displayName(file), err)
	}
	if len(l.file.Docs) == 0 {
		return inFile(displayName(file), errors.New("the file holds no document"))
	}
	before := tree.CloneDocuments(l.file.Docs)
	doc, err := change(l.file.Docs[0])
	if err != nil {
		return inFile(displayName(file), err)
	}
	l.file.Docs[0] = doc
	if tree.DocumentsEqual(before, l.file.Docs) {
		return nil
	}
	if err := l.file.Reseal(time.Now()); err != nil {
		return inFile(displayName(file), err)
	}
	if _, err := l.save(file); err != nil {
		return inFile(displayName(file), err)
	}
	return nil
}

func (a *app) set(c *changeFileFlags, args []string) error {
	var file, pathText string
	var value []byte
	switch {
	case c.valueStdin:
		if len(args) != 2 {
			return &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("with --value-stdin give FILE and PATH only")}
		}
		file, pathText = args[0], args[1]
		var err error
		if value, err = io.ReadAll(a.stdin); err != nil {
			return err
		}
	case len(args) != 3:
		return &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("give FILE, PATH and VALUE")}
	case c.valueFile:
		file, pathText = args[0], args[1]
		var err error
		if value, err = os.ReadFile(args[2]); err != nil {
			return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Err: fmt.Errorf("reading the value file %s: %w", args[2], unwrapPathError(err))})
		}
	default:
		file, pathText, value = args[0], args[1], []byte(args[2])
	}
	path, err := tree.ParsePath(pathText)
	if err != nil {
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Err: fmt.Errorf("invalid path %s: %w", pathText, err),
			Hint: `write a path as --extract takes it, such as '["db"]["hosts"][0]'`})
	}
	v, err := parseSetValue(value)
	if err != nil {
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Path: tree.FormatPath(path), Err: err})
	}
	switch f := a.fileFormat(file, c.inputType); {
	case v.Kind == tree.String && f == format.Dotenv:
		// A dotenv value is written so that dotenv readers read it back.
		v = tree.Str(dotenv.Quote(v.Str))
	case f == format.TOML && holdsNull(v):
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Path: tree.FormatPath(path), Err: errors.New("TOML has no null value")})
	}
	return a.changeFile(c, file, func(doc tree.Document) (tree.Document, error) {
		doc, err := tree.Set(doc, path, v)
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Path: tree.FormatPath(path), Err: err}
		}
		return doc, nil
	})
}

// holdsNull reports whether v is or holds a null.
func holdsNull(v tree.Value) bool {
	switch v.Kind {
	case tree.Null:
		return true
	case tree.Map:
		for _, it := range v.Items() {
			if holdsNull(it.Value) {
				return true
			}
		}
	case tree.List:
		for _, e := range v.Elems() {
			if holdsNull(e) {
				return true
			}
		}
	}
	return false
}

func (a *app) unset(c *changeFileFlags, args []string) error {
	path, err := tree.ParsePath(args[1])
	if err != nil {
		return inFile(displayName(args[0]), &sopsfile.Error{Code: sopsfile.CodeInvalidSetFormat, Err: fmt.Errorf("invalid path %s: %w", args[1], err),
			Hint: `write a path as --extract takes it, such as '["db"]["hosts"][0]'`})
	}
	return a.changeFile(c, args[0], func(doc tree.Document) (tree.Document, error) {
		out, err := tree.Unset(doc, path)
		if errors.Is(err, tree.ErrNotFound) && c.idempotent {
			return doc, nil
		}
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		return out, nil
	})
}
