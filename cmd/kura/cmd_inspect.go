package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

func (a *app) inspectCommand() *cobra.Command {
	var b bulkFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Show files' recipients, key groups and selectors, without any key",
		Long: `Read only the metadata of each file and show its format, its recipients and
key groups with when each key was added, when its values were last
encrypted, which values the selectors encrypt, and whether its keys are
what the matching .sops.yaml creation rule says. No key is needed and
nothing is decrypted. --json prints the same for machines.`,
		Example: `  kura inspect secrets.yaml
  kura inspect --recursive --json secrets/ | jq '.[] | select(.rule.status == "differs")'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.inspect(&b, asJSON, args)
		},
	}
	b.register(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// inspection is what inspect reports about one file; its JSON form is
// documented in docs/commands.md.
type inspection struct {
	File            string            `json:"file"`
	Format          string            `json:"format"`
	Version         string            `json:"version"`
	LastModified    string            `json:"lastmodified"`
	ShamirThreshold int               `json:"shamir_threshold,omitempty"`
	Groups          [][]inspectedKey  `json:"key_groups"`
	Selectors       map[string]string `json:"selectors,omitempty"`
	MACOnly         bool              `json:"mac_only_encrypted,omitempty"`
	Rule            inspectedRule     `json:"rule"`
	Error           string            `json:"error,omitempty"`
}

type inspectedKey struct {
	Type      string `json:"type"`
	Identity  string `json:"identity"`
	CreatedAt string `json:"created_at,omitempty"`
}

type inspectedRule struct {
	// Status is "up to date", "differs", "no matching rule" or "no config".
	Status    string   `json:"status"`
	Index     *int     `json:"index,omitempty"`
	PathRegex string   `json:"path_regex,omitempty"`
	Added     []string `json:"added,omitempty"`
	Removed   []string `json:"removed,omitempty"`
	Threshold *int     `json:"threshold,omitempty"`
}

func (a *app) inspectOne(path string, b *bulkFlags, cfg *config.Config) (*inspection, error) {
	l, err := a.loadEncrypted(path, b.inputType, cfg)
	if err != nil {
		return nil, err
	}
	f := l.format
	m := l.file.Meta
	in := &inspection{File: path, Format: f.String(), Version: m.Version, LastModified: m.LastModifiedText(), ShamirThreshold: m.ShamirThreshold}
	for _, g := range m.KeyGroups {
		var ks []inspectedKey
		for _, s := range g {
			ks = append(ks, inspectedKey{Type: string(s.Type), Identity: s.Identity(), CreatedAt: s.CreatedAt})
		}
		in.Groups = append(in.Groups, ks)
	}
	if f != format.Binary {
		in.Selectors = selectors(m.Rules)
		in.MACOnly = m.Rules.MACOnlyEncrypted
	}
	switch {
	case cfg.Path == "":
		in.Rule.Status = "no config"
	default:
		rule, err := cfg.Rule(path)
		if err != nil || rule == nil {
			in.Rule.Status = "no matching rule"
			break
		}
		idx := rule.Index
		in.Rule.Index, in.Rule.PathRegex = &idx, rule.PathRegex
		p, err := a.planLoaded(l, path, cfg)
		if err != nil {
			return nil, err
		}
		in.Rule.Status = "up to date"
		if p.changed() {
			in.Rule.Status = "differs"
			for _, c := range p.changes {
				in.Rule.Added = append(in.Rule.Added, c.Added...)
				in.Rule.Removed = append(in.Rule.Removed, c.Removed...)
			}
			if p.threshold != p.oldT {
				t := p.threshold
				in.Rule.Threshold = &t
			}
		}
	}
	return in, nil
}

// selectors names the selection rule in force.
func selectors(c rules.Config) map[string]string {
	out := map[string]string{}
	for name, v := range map[string]string{
		"unencrypted_suffix": c.UnencryptedSuffix, "encrypted_suffix": c.EncryptedSuffix,
		"unencrypted_regex": c.UnencryptedRegex, "encrypted_regex": c.EncryptedRegex,
		"unencrypted_comment_regex": c.UnencryptedCommentRegex, "encrypted_comment_regex": c.EncryptedCommentRegex,
	} {
		if v != "" {
			out[name] = v
		}
	}
	return out
}

func (in *inspection) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", in.File)
	fmt.Fprintf(&b, "  format:        %s (sops %s)\n", in.Format, in.Version)
	fmt.Fprintf(&b, "  lastmodified:  %s\n", in.LastModified)
	names := make([]string, 0, len(in.Selectors))
	for name := range in.Selectors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "  selector:      %s %s\n", name, in.Selectors[name])
	}
	if in.MACOnly {
		fmt.Fprintf(&b, "  mac:           encrypted values only (mac_only_encrypted)\n")
	}
	if len(in.Groups) == 1 {
		fmt.Fprintf(&b, "  keys:\n")
	} else {
		need := in.ShamirThreshold
		if need == 0 {
			need = len(in.Groups)
		}
		fmt.Fprintf(&b, "  keys:          %d groups, %d needed\n", len(in.Groups), need)
	}
	for i, g := range in.Groups {
		indent := "    "
		if len(in.Groups) > 1 {
			fmt.Fprintf(&b, "    group %d:\n", i)
			indent = "      "
		}
		for _, k := range g {
			line := fmt.Sprintf("%s%-9s %s", indent, k.Type, k.Identity)
			if k.CreatedAt != "" {
				line += "  (added " + k.CreatedAt + ")"
			}
			b.WriteString(line + "\n")
		}
	}
	switch in.Rule.Status {
	case "up to date", "differs":
		fmt.Fprintf(&b, "  rule:          creation rule %d", *in.Rule.Index)
		if in.Rule.PathRegex != "" {
			fmt.Fprintf(&b, " (path_regex %s)", in.Rule.PathRegex)
		}
		fmt.Fprintf(&b, ": %s\n", in.Rule.Status)
		for _, id := range in.Rule.Added {
			fmt.Fprintf(&b, "    the rule adds    %s\n", id)
		}
		for _, id := range in.Rule.Removed {
			fmt.Fprintf(&b, "    the rule removes %s\n", id)
		}
		if in.Rule.Threshold != nil {
			fmt.Fprintf(&b, "    the rule's threshold is %d\n", *in.Rule.Threshold)
		}
	default:
		fmt.Fprintf(&b, "  rule:          %s\n", in.Rule.Status)
	}
	return b.String()
}

func (a *app) inspect(b *bulkFlags, asJSON bool, args []string) error {
	files, err := a.files(b, args)
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	var all []any
	t := &tally{}
	bar := a.startBar(len(files))
	bulk.Run(files, b.jobs, a.interrupted(), func(target bulk.Target) *inspection {
		path := target.Path
		if _, err := os.Stat(path); err != nil {
			return &inspection{File: path, Error: "no such file"}
		}
		in, err := a.inspectOne(path, b, cfg)
		if err != nil {
			if target.Found && notSOPS(err) {
				return nil
			}
			return &inspection{File: path, Error: strings.Join(strings.Fields(err.Error()), " ")}
		}
		return in
	}, func(target bulk.Target, in *inspection, ran bool) {
		defer bar.Add(1)
		path := target.Path
		if !ran {
			t.interrupted++
			return
		}
		if in == nil {
			return
		}
		if in.Error != "" {
			t.add(outcome{status: "failed", err: errors.New(in.Error)})
			if !asJSON {
				a.printAbove(bar, false, func() { a.printError(errors.New(in.Error), path, "") })
			}
		} else {
			t.add(outcome{status: "inspected"})
		}
		if asJSON {
			if in.Error != "" {
				all = append(all, map[string]string{"file": in.File, "error": in.Error})
			} else {
				all = append(all, in)
			}
			return
		}
		if in.Error == "" {
			a.printAbove(bar, true, func() { fmt.Fprint(a.stdout, in.text()) })
		}
	})
	a.stopBar(bar)
	if asJSON {
		if all == nil {
			all = []any{}
		}
		out, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, string(out))
	}
	if t.interrupted > 0 {
		a.printError(fmt.Errorf("interrupted: %d file(s) not looked at", t.interrupted), "", "")
		return &exitError{code: int(sopsfile.CodeKeyboardInterrupt), silent: true}
	}
	if t.failed > 0 {
		return &exitError{code: int(sopsfile.CodeGeneric), silent: true}
	}
	return nil
}
