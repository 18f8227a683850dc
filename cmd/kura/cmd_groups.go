package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

func (a *app) groupsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "groups",
		Short: "Add or delete key groups of files",
		Long: `Key groups split a file's data key with Shamir's scheme: each group holds one
share, and shamir_threshold groups are needed to decrypt. Adding or deleting
a group splits the same data key afresh; the values and the MAC do not
change. Either needs a key that opens the file now.`,
		Example: `  kura groups add --file secrets.yaml -i --age age1...
  kura groups delete --file secrets.yaml -i 1
  kura inspect secrets.yaml        # the groups and their keys`,
	}
	cmd.AddCommand(a.groupsAddCommand(), a.groupsDeleteCommand())
	return cmd
}

// groupFlags are the flags groups add and delete share.
type groupFlags struct {
	files     []string
	inPlace   bool
	threshold int
	b         bulkFlags
}

func (g *groupFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&g.files, "file", "f", nil, "the file to change (repeatable; files may also follow the flags)")
	cmd.Flags().BoolVarP(&g.inPlace, "in-place", "i", false, "write the result back to the file instead of standard output (implied for several files)")
	cmd.Flags().IntVar(&g.threshold, "shamir-secret-sharing-threshold", 0, "groups needed to decrypt afterwards (default: the file's, capped to the number of groups)")
	g.b.register(cmd.Flags())
}

func (a *app) groupsAddCommand() *cobra.Command {
	var g groupFlags
	var k keyFlags
	cmd := &cobra.Command{
		Use:   "add --file FILE [KEY FLAGS]",
		Short: "Add a key group made of the keys the flags name",
		Long: `Add a key group made of the keys the --age, --pgp, --kms, --gcp-kms,
--azure-kv and --hc-vault-transit flags name, and split the file's data
key again among all its groups. --shamir-secret-sharing-threshold sets how
many groups are needed to decrypt afterwards. One file is printed on
standard output unless -i; several files (or --recursive) are changed in
place, one line each.`,
		Example: `  kura groups add --file secrets.yaml -i --pgp 85D77543B3D624B63CEA9E6DBC17301B491B3F21
  kura groups add --file secrets.yaml -i --age age1... --shamir-secret-sharing-threshold 2`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			if !k.any() {
				return usageError{errors.New("name the new group's keys with --age, --pgp, --kms, --gcp-kms, --azure-kv or --hc-vault-transit")}
			}
			group, err := a.flagGroup(k)
			if err != nil {
				return err
			}
			return a.changeKeyGroups(&g, args, func(groups [][]keys.Recipient) ([][]keys.Recipient, error) {
				return append(groups, group), nil
			})
		},
	}
	g.register(cmd)
	k.register(cmd.Flags())
	return cmd
}

func (a *app) groupsDeleteCommand() *cobra.Command {
	var g groupFlags
	cmd := &cobra.Command{
		Use:   "delete --file FILE INDEX",
		Short: "Delete the key group at INDEX (counting from 0)",
		Long: `Delete the key group at INDEX, counting from 0 in the order kura inspect
lists them, and split the file's data key again among the groups left;
the threshold is capped to their number. One file is printed on standard
output unless -i.`,
		Example: `  kura groups delete --file secrets.yaml -i 1`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			index, err := strconv.Atoi(args[len(args)-1])
			if err != nil || index < 0 {
				return usageError{fmt.Errorf("%q is not a group index", args[len(args)-1])}
			}
			return a.changeKeyGroups(&g, args[:len(args)-1], func(groups [][]keys.Recipient) ([][]keys.Recipient, error) {
				if index >= len(groups) {
					return nil, fmt.Errorf("there is no key group %d: the file has %d, numbered from 0", index, len(groups))
				}
				return append(groups[:index:index], groups[index+1:]...), nil
			})
		},
	}
	g.register(cmd)
	return cmd
}

// changeKeyGroups re-wraps files' data keys for changed key groups.
func (a *app) changeKeyGroups(g *groupFlags, args []string, change func([][]keys.Recipient) ([][]keys.Recipient, error)) error {
	files, err := a.files(&g.b, append(append([]string(nil), g.files...), args...))
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	one := func(path string) (*loaded, error) {
		l, err := a.loadEncrypted(path, g.b.inputType, cfg)
		if err != nil {
			return nil, err
		}
		var current [][]keys.Recipient
		for _, grp := range l.file.Meta.KeyGroups {
			var rs []keys.Recipient
			for _, st := range grp {
				r, err := a.stanzaRecipient(st)
				if err != nil {
					return nil, err
				}
				rs = append(rs, r)
			}
			current = append(current, rs)
		}
		groups, err := change(current)
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		if len(groups) == 0 {
			return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: errors.New("a file needs at least one key group")}
		}
		threshold := g.threshold
		if threshold == 0 {
			threshold = min(l.file.Meta.ShamirThreshold, len(groups))
		}
		if len(groups) > 1 && threshold == 0 {
			threshold = len(groups)
		}
		if len(groups) == 1 {
			threshold = 0
		}
		key, err := l.file.DataKey(sopsfile.DecryptOptions{Sources: a.unwrappers()})
		if err != nil {
			return nil, err
		}
		if err := l.file.Rewrap(key, groups, threshold); err != nil {
			return nil, err
		}
		return l, nil
	}
	if len(files) == 1 && !g.inPlace && !g.b.recursive {
		l, err := one(files[0].Path)
		if err != nil {
			return inFile(displayName(files[0].Path), err)
		}
		out, err := l.file.EmitLike(l.store, l.layout)
		if err != nil {
			return inFile(displayName(files[0].Path), err)
		}
		_, err = a.stdout.Write(out)
		return err
	}
	return a.finish(a.runBulk(files, &g.b, func(target bulk.Target) outcome {
		path := target.Path
		l, err := one(path)
		if err != nil {
			return outcome{status: "failed", err: err}
		}
		if _, err := l.save(path); err != nil {
			return outcome{status: "failed", err: err}
		}
		return outcome{status: "updated", detail: fmt.Sprintf("%d key groups, threshold %d", len(l.file.Meta.KeyGroups), l.file.Meta.ShamirThreshold)}
	}))
}
