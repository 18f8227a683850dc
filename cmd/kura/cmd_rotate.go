package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"
	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// changeFlags are rotate's --add-* and --rm-* flags, as sops names them.
type changeFlags struct {
	add, rm keyFlags
}

func (c *changeFlags) register(fs *pflag.FlagSet) {
	for _, f := range []struct {
		verb string
		k    *keyFlags
		what string
	}{{"add", &c.add, "add to the first key group"}, {"rm", &c.rm, "remove from every key group"}} {
		fs.Var((*listFlag)(&f.k.age), f.verb+"-age", "age recipients to "+f.what)
		fs.Var((*listFlag)(&f.k.pgp), f.verb+"-pgp", "PGP fingerprints to "+f.what)
		fs.Var((*listFlag)(&f.k.kms), f.verb+"-kms", "AWS KMS ARNs to "+f.what)
		fs.Var((*listFlag)(&f.k.gcpKMS), f.verb+"-gcp-kms", "GCP KMS resource IDs to "+f.what)
		fs.Var((*listFlag)(&f.k.azureKV), f.verb+"-azure-kv", "Azure Key Vault key URLs to "+f.what)
		fs.Var((*listFlag)(&f.k.vault), f.verb+"-hc-vault-transit", "Vault transit key URIs to "+f.what)
		fs.Var((*listFlag)(&f.k.hckms), f.verb+"-hckms", "HuaweiCloud KMS keys to "+f.what)
	}
	fs.StringVar(&c.add.awsProfile, "aws-profile", "", "AWS profile for the --add-kms keys")
	fs.StringVar(&c.add.encryptionContext, "encryption-context", "", "AWS KMS encryption context for the --add-kms keys")
}

func (a *app) rotateCommand() *cobra.Command {
	var b bulkFlags
	var c changeFlags
	var io ioFlags
	var ignoreMAC bool
	var order string
	cmd := &cobra.Command{
		Use:   "rotate FILE...",
		Short: "Give files a new data key, optionally changing their keys",
		Long: `Decrypt each file, generate a new data key, encrypt every value again under
it and wrap it for the file's keys, with --add-* keys added to the first key
group and --rm-* keys removed from every group.

One file is printed on standard output unless -i; with several files or a
directory each is rewritten in place, with a line per file and a summary.
--json (with -i, or several files) prints one JSON object per file (file,
status, added, removed, error) and a summary object (files, counts,
failed).`,
		Example: `  kura rotate -i secrets.yaml
  kura rotate -i --add-age age1... --rm-pgp 85D77543B3D624B63CEA9E6DBC17301B491B3F21 secrets.yaml
  kura rotate --recursive secrets/
  kura rotate --recursive --json secrets/ > rotation.jsonl`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.rotate(&b, &c, &io, ignoreMAC, order, args)
		},
	}
	b.register(cmd.Flags())
	b.registerJSON(cmd.Flags())
	c.register(cmd.Flags())
	cmd.Flags().BoolVarP(&io.inPlace, "in-place", "i", false, "write the result back to the file (implied for several files)")
	cmd.Flags().StringVar(&io.output, "output", "", "write the result to this file (one file only)")
	cmd.Flags().BoolVar(&ignoreMAC, "ignore-mac", false, "rotate a file whose MAC does not match (sops only allows this in its legacy -r form)")
	cmd.Flags().StringVar(&order, "decryption-order", "", "comma-separated key types to try first (also SOPS_DECRYPTION_ORDER)")
	return cmd
}

// changeGroups applies --add-* and --rm-* to a file's key groups and
// returns recipients for the result.
func (a *app) changeGroups(groups []keys.Group, c *changeFlags) ([][]keys.Recipient, error) {
	add, err := a.flagGroup(c.add)
	if err != nil {
		return nil, err
	}
	rm, err := a.flagGroup(c.rm)
	if err != nil {
		return nil, err
	}
	remove := map[string]bool{}
	for _, r := range rm {
		remove[keys.Name(r.Type(), r.Identity())] = true
	}
	out := make([][]keys.Recipient, len(groups))
	for i, g := range groups {
		for _, st := range g {
			if remove[keys.Name(st.Type, st.Identity())] {
				continue
			}
			r, err := a.stanzaRecipient(st)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], r)
		}
	}
	out[0] = dedupRecipients(append(out[0], add...))
	for i, g := range out {
		if len(g) == 0 {
			return nil, fmt.Errorf("key group %d would have no keys left", i)
		}
	}
	return out, nil
}

func (a *app) rotate(b *bulkFlags, c *changeFlags, io *ioFlags, ignoreMAC bool, orderText string, args []string) error {
	files, err := a.files(b, args)
	if err != nil {
		return err
	}
	order, err := a.decryptionOrder(orderText)
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	// rotateOne rotates a file in memory and says which keys changed.
	rotateOne := func(path string) (*loaded, *plan, error) {
		l, err := a.loadEncrypted(path, b.inputType, cfg)
		if err != nil {
			return nil, nil, err
		}
		if err := l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers(), Order: order, IgnoreMAC: ignoreMAC}); err != nil {
			return nil, nil, err
		}
		old := l.file.Meta.KeyGroups
		groups, err := a.changeGroups(old, c)
		if err != nil {
			return nil, nil, sopsfile.Wrap(sopsfile.CodeGeneric, err)
		}
		want := make([][]string, len(groups))
		for i, g := range groups {
			for _, r := range g {
				want[i] = append(want[i], keys.Name(r.Type(), r.Identity()))
			}
		}
		changes := keys.Diff(old, want)
		if err := l.file.Rotate(groups, l.file.Meta.ShamirThreshold, time.Now()); err != nil {
			return nil, nil, err
		}
		return l, &plan{l: l, groups: groups, changes: changes}, nil
	}
	// One file without -i goes to standard output or --output, as sops.
	if len(files) == 1 && !io.inPlace && len(args) == 1 && files[0].Path == args[0] {
		if b.json {
			return usageError{errors.New("--json reports on files rotated in place: add -i (without it the rotated file is printed)")}
		}
		path := files[0].Path
		if _, err := os.Stat(path); err != nil {
			return inFile(path, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
		}
		l, _, err := rotateOne(path)
		if err != nil {
			return inFile(displayName(path), err)
		}
		out, err := l.file.EmitLike(l.store, l.layout)
		if err != nil {
			return inFile(displayName(path), err)
		}
		return inFile(displayName(path), a.writeOutput(&job{file: path}, io, out))
	}
	if io.output != "" {
		return &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("--output takes one file")}
	}
	return a.finish(a.runBulk(files, b, func(target bulk.Target) outcome {
		path := target.Path
		l, p, err := rotateOne(path)
		if err != nil {
			return outcome{status: "failed", err: err}
		}
		if _, err := l.save(path); err != nil {
			return outcome{status: "failed", err: err}
		}
		return p.outcome("rotated")
	}))
}
