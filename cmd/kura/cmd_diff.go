package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/gitrepo"

	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/treediff"
)

func (a *app) diffCommand() *cobra.Command {
	var inputType string
	var noValues bool
	cmd := &cobra.Command{
		Use:   "diff A [B]",
		Short: "Show which values changed between two versions of a SOPS file",
		Long: `Compare two encrypted files key path by key path: A and B, or FILE as
committed at HEAD and FILE as it is now.

With a key that opens both, kura prints the changed values:
  + PATH: VALUE        added
  - PATH: VALUE        removed
  ~ PATH: OLD -> NEW   changed
Without one (or with --no-values), it prints the key paths only, telling
changes apart by their ciphertext: kura keeps an unchanged value's
ciphertext, so only changed values differ (a file re-encrypted by sops
shows every value as changed). Recipient changes are listed after the
values.

The exit status is 0 when they are the same, 1 when they differ, and 2 or
more when they could not be compared.`,
		Example: `  kura diff secrets.yaml                  # against HEAD
  kura diff old/secrets.yaml secrets.yaml`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			err := a.diff(args, inputType, noValues)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) && sopsfile.CodeOf(err) == sopsfile.CodeGeneric {
				// 1 means "they differ", as for diff(1).
				a.report(err)
				return &exitError{code: 2, silent: true}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&inputType, "input-type", "", "format of the files: yaml, json, dotenv, ini, toml or binary (default: from the file name)")
	cmd.Flags().BoolVar(&noValues, "no-values", false, "print key paths only, even with a key")
	return cmd
}

// diffSide is one version of the file.
type diffSide struct {
	name string
	data []byte
}

func (a *app) diff(args []string, inputType string, noValues bool) error {
	var sides [2]diffSide
	read := func(path string) (diffSide, error) {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return diffSide{}, inFile(path, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
		}
		if err != nil {
			return diffSide{}, inFile(path, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)})
		}
		return diffSide{name: path, data: data}, nil
	}
	var err error
	if len(args) == 1 {
		repo, err := gitrepo.Open(".")
		if err != nil {
			return inFile(args[0], &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err,
				Hint: "run it inside a Git working tree to compare with HEAD, or compare two files: kura diff OLD NEW"})
		}
		abs, err := filepath.Abs(args[0])
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo.Root, abs)
		if err != nil {
			return err
		}
		old, err := repo.Show("HEAD", filepath.ToSlash(rel))
		if err != nil {
			return inFile(args[0], &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: fmt.Errorf("not at HEAD: %w", err)})
		}
		sides[0] = diffSide{name: "HEAD:" + filepath.ToSlash(rel), data: old}
		args = []string{args[0], args[0]}
	} else if sides[0], err = read(args[0]); err != nil {
		return err
	}
	if sides[1], err = read(args[1]); err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		cfg = &config.Config{}
	}
	var files [2]*sopsfile.File
	for i, s := range sides {
		f := a.encryptedFormat(args[1], inputType, s.data)
		file, err := sopsfile.Load(s.data, a.store(f, cfg, false), f == format.Binary)
		if err != nil {
			return inFile(s.name, err)
		}
		files[i] = file
	}
	values := !noValues
	if values {
		for _, f := range files {
			if err := f.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers(), ReadOnly: true}); err != nil {
				values = false
				break
			}
		}
		if !values && !noValues {
			// Decrypt in place may have opened one of them: start again
			// from the ciphertexts.
			for i, s := range sides {
				f := a.encryptedFormat(args[1], inputType, s.data)
				files[i], _ = sopsfile.Load(s.data, a.store(f, cfg, false), f == format.Binary)
			}
			fmt.Fprintln(a.stderr, "kura: no key opens both versions: comparing ciphertexts, so only key paths are shown")
		}
	}
	changes := treediff.Documents(files[0].Docs, files[1].Docs)
	var out bytes.Buffer
	if err := treediff.Write(&out, changes, values); err != nil {
		return err
	}
	recipients := recipientChanges(files[0].Meta, files[1].Meta)
	for _, r := range recipients {
		fmt.Fprintln(&out, r)
	}
	if _, err := io.WriteString(a.stdout, colorDiff(a.outUI(), out.String())); err != nil {
		return err
	}
	if len(changes) > 0 || len(recipients) > 0 {
		return &exitError{code: 1, silent: true}
	}
	return nil
}

// recipientChanges lists the recipients only one version has, as
// "+ recipient TYPE IDENTITY" and "- recipient ...".
func recipientChanges(a, b *metadata.Metadata) []string {
	list := func(m *metadata.Metadata) map[string]bool {
		out := map[string]bool{}
		for _, g := range m.KeyGroups {
			for _, k := range g {
				out[string(k.Type)+" "+k.Identity()] = true
			}
		}
		return out
	}
	la, lb := list(a), list(b)
	var out []string
	for _, m := range []struct {
		from, other map[string]bool
		sign        string
		meta        *metadata.Metadata
	}{{la, lb, "-", a}, {lb, la, "+", b}} {
		for _, g := range m.meta.KeyGroups {
			for _, k := range g {
				id := string(k.Type) + " " + k.Identity()
				if !m.other[id] {
					out = append(out, m.sign+" recipient "+id)
					m.other[id] = true // once
				}
			}
		}
	}
	return out
}
