package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

func (a *app) filestatusCommand() *cobra.Command {
	var b bulkFlags
	cmd := &cobra.Command{
		Use:   "filestatus FILE...",
		Short: "Say whether files are encrypted, as JSON",
		Long: `Print {"encrypted":true} when FILE holds SOPS metadata with a version and a
MAC, {"encrypted":false} otherwise, as sops does. With several files (or
--recursive), print one JSON object per line that also names the file.`,
		Example: `  kura filestatus secrets.yaml
  kura filestatus --recursive --input-type yaml config/`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.filestatus(&b, args)
		},
	}
	b.register(cmd.Flags())
	return cmd
}

// isEncrypted reports sops's notion of an encrypted file: its metadata
// holds a version and a MAC. Nothing is decrypted.
func (a *app) isEncrypted(path, inputType string, cfg *config.Config) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)}
	}
	f := a.encryptedFormat(path, inputType, data)
	_, meta, err := a.store(f, cfg, false).LoadEncrypted(data)
	if errors.Is(err, format.ErrNoMetadata) {
		return false, nil
	}
	if err != nil {
		return false, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	v, _ := tree.Get(meta, "version")
	m, _ := tree.Get(meta, "mac")
	vs, _ := v.Canonical()
	ms, _ := m.Canonical()
	return vs != "" && ms != "", nil
}

func (a *app) filestatus(b *bulkFlags, args []string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	type status struct {
		File      string `json:"file,omitempty"`
		Encrypted bool   `json:"encrypted"`
	}
	if len(args) == 1 && !b.recursive {
		if _, err := os.Stat(args[0]); err != nil {
			return inFile(args[0], &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
		}
		enc, err := a.isEncrypted(args[0], b.inputType, cfg)
		if err != nil {
			return inFile(displayName(args[0]), err)
		}
		out, _ := json.Marshal(status{Encrypted: enc})
		fmt.Fprintln(a.stdout, string(out))
		return nil
	}
	files, err := a.files(b, args)
	if err != nil {
		return err
	}
	t := &tally{}
	bar := a.startBar(len(files))
	bulk.Run(files, b.jobs, a.interrupted(), func(target bulk.Target) outcome {
		if _, err := os.Stat(target.Path); err != nil {
			return outcome{status: "failed", err: &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")}}
		}
		enc, err := a.isEncrypted(target.Path, b.inputType, cfg)
		if err != nil {
			return outcome{status: "failed", err: err}
		}
		line, _ := json.Marshal(status{File: displayName(target.Path), Encrypted: enc})
		return outcome{status: "checked", detail: string(line)}
	}, func(target bulk.Target, o outcome, ran bool) {
		defer bar.Add(1)
		if !ran {
			t.interrupted++
			return
		}
		t.add(o)
		a.printAbove(bar, o.err == nil, func() {
			if o.err != nil {
				a.printError(o.err, target.Path, "")
				return
			}
			fmt.Fprintln(a.stdout, o.detail)
		})
	})
	a.stopBar(bar)
	if t.interrupted > 0 {
		a.printError(fmt.Errorf("interrupted: %d file(s) not looked at", t.interrupted), "", "")
		return &exitError{code: int(sopsfile.CodeKeyboardInterrupt), silent: true}
	}
	if t.failed > 0 {
		return &exitError{code: int(t.code), silent: true}
	}
	return nil
}
