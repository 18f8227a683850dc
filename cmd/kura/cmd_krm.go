package main

import (
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/k8ssecret"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

func (a *app) krmCommand() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "krm",
		Short: "Generate Kubernetes Secrets from SOPS files as a kustomize KRM function",
		Long: `Read a KRM ResourceList on standard input whose functionConfig is a
KuraSecret generator (apiVersion kura.dev/v1) and print the list with a
Secret made from the decrypted files it names. kustomize runs it as an
exec function: a program named kura-krm (a link to kura) or a script
running "kura krm". See examples/kustomize and docs/deploy.md.`,
		Example: `  kustomize build --enable-alpha-plugins --enable-exec examples/kustomize
  kura krm < resourcelist.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.krm(&f)
		},
	}
	f.registerCommon(cmd)
	cmd.Flags().MarkHidden("user")
	return cmd
}

func (a *app) krm(f *execFlags) error {
	in, err := io.ReadAll(a.stdin)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: err}
	}
	out, err := k8ssecret.RunKRM(in, func(path string) ([]k8ssecret.Entry, error) {
		l, err := a.openForExec("krm", f, path)
		if err != nil {
			return nil, err
		}
		a.audit("krm", path, "ok", l)
		entries, err := k8ssecret.Entries(l.file.Docs, l.format == format.Dotenv)
		if err != nil {
			return nil, inFile(displayName(path), err)
		}
		return entries, nil
	})
	if err != nil {
		var se *sopsfile.Error
		if !errors.As(err, &se) {
			err = &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}

// krmProgram is the name under which kura is a KRM function: kustomize
// runs an exec function's program without arguments.
const krmProgram = "kura-krm"
