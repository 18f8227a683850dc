package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"

	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

func (a *app) updatekeysCommand() *cobra.Command {
	var b bulkFlags
	var yes, dryRun, check bool
	cmd := &cobra.Command{
		Use:   "updatekeys FILE...",
		Short: "Re-wrap files' data keys for the recipients .sops.yaml names now",
		Long: `Make each file's recipients and key groups what its .sops.yaml creation rule
says, without touching its values: the data key is re-wrapped for the keys
added, and keys removed lose their copy. kura shows what changes and asks
first, unless --yes.

Files and directories may be given; --recursive works on every SOPS file
below the directories, on every core. --dry-run shows the changes and writes
nothing; --check writes nothing and exits 1 when any file differs from the
rules: a gate for CI. --json prints one JSON object per file (file, status,
added, removed, error) and a summary object (files, counts, failed).`,
		Example: `  kura updatekeys secrets/prod.yaml
  kura updatekeys --recursive --yes secrets/
  kura updatekeys --recursive --check .        # in CI: fail on drift
  kura updatekeys --recursive --check --json . | jq -c 'select(.status == "differs")'`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			if check && !dryRun {
				dryRun = true
			}
			return a.updatekeys(&b, args, yes, dryRun, check)
		},
	}
	b.register(cmd.Flags())
	b.registerJSON(cmd.Flags())
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply the changes without asking")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change and write nothing")
	cmd.Flags().BoolVar(&check, "check", false, "write nothing; exit 1 when any file's keys differ from .sops.yaml")
	return cmd
}

// plan is what updatekeys would do to one file.
type plan struct {
	l         *loaded
	groups    [][]keys.Recipient
	threshold int
	changes   []keys.GroupChange
	oldT      int
}

func (p *plan) changed() bool { return len(p.changes) > 0 || p.threshold != p.oldT }

// outcome is the result of a plan: status, the changes as text, and the
// keys added and removed for --json.
func (p *plan) outcome(status string) outcome {
	o := outcome{status: status, detail: p.String()}
	for _, c := range p.changes {
		o.added = append(o.added, c.Added...)
		o.removed = append(o.removed, c.Removed...)
	}
	return o
}

func (p *plan) String() string {
	var parts []string
	multi := len(p.groups) > 1 || len(p.l.file.Meta.KeyGroups) > 1
	for _, c := range p.changes {
		prefix := ""
		if multi {
			prefix = fmt.Sprintf("group %d ", c.Group)
		}
		for _, id := range c.Added {
			parts = append(parts, prefix+"+"+id)
		}
		for _, id := range c.Removed {
			parts = append(parts, prefix+"-"+id)
		}
	}
	if p.threshold != p.oldT {
		parts = append(parts, fmt.Sprintf("threshold %d -> %d", p.oldT, p.threshold))
	}
	return strings.Join(parts, ", ")
}

// planKeys works out what a file's keys should be under the rules.
func (a *app) planKeys(path string, b *bulkFlags, cfg *config.Config) (*plan, error) {
	if cfg.Path == "" {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: errors.New("config file not found: updatekeys needs a .sops.yaml (or --config)")}
	}
	l, err := a.loadEncrypted(path, b.inputType, cfg)
	if err != nil {
		return nil, err
	}
	return a.planLoaded(l, path, cfg)
}

// planLoaded is planKeys for a file already read.
func (a *app) planLoaded(l *loaded, path string, cfg *config.Config) (*plan, error) {
	rule, err := cfg.Rule(path)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	if rule == nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("%s has no creation rules", cfg.Path)}
	}
	groups, err := a.ruleGroups(rule, nil)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	want := make([][]string, len(groups))
	for i, g := range groups {
		for _, r := range g {
			want[i] = append(want[i], keys.Name(r.Type(), r.Identity()))
		}
	}
	p := &plan{l: l, groups: groups, oldT: l.file.Meta.ShamirThreshold}
	p.changes = keys.Diff(l.file.Meta.KeyGroups, want)
	// The rule's threshold applies. Without one, the file's stays when
	// the groups can still meet it (as sops keeps it); otherwise several
	// groups need all of them, and a single group needs none.
	p.threshold = rule.ShamirThreshold
	if len(groups) > 1 && p.threshold == 0 {
		p.threshold = len(groups)
		if t := p.oldT; t >= 2 && t <= len(groups) {
			p.threshold = t
		}
	}
	if len(groups) == 1 && rule.ShamirThreshold == 0 {
		p.threshold = 0
		if len(l.file.Meta.KeyGroups) == 1 {
			p.threshold = p.oldT
		}
	}
	return p, nil
}

func (a *app) updatekeys(b *bulkFlags, args []string, yes, dryRun, check bool) error {
	files, err := a.files(b, args)
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	apply := func(path string, p *plan) outcome {
		key, err := p.l.file.DataKey(sopsfile.DecryptOptions{Sources: a.unwrappers()})
		if err != nil {
			return outcome{status: "failed", err: err}
		}
		if err := p.l.file.Rewrap(key, p.groups, p.threshold); err != nil {
			return outcome{status: "failed", err: err}
		}
		if _, err := p.l.save(path); err != nil {
			return outcome{status: "failed", err: err}
		}
		return p.outcome("updated")
	}
	if yes && !dryRun {
		// One pass: each file is planned and updated by the same worker.
		return a.finish(a.runBulk(files, b, func(target bulk.Target) outcome {
			path := target.Path
			p, err := a.planKeys(path, b, cfg)
			if err != nil {
				return outcome{status: "failed", err: err}
			}
			if !p.changed() {
				return outcome{status: "up to date"}
			}
			return apply(path, p)
		}))
	}
	plans := make(map[string]*plan, len(files))
	verb := "would update"
	if check {
		verb = "differs"
	}
	t := a.runBulk(files, b, func(target bulk.Target) outcome {
		path := target.Path
		p, err := a.planKeys(path, b, cfg)
		if err != nil {
			return outcome{status: "failed", err: err}
		}
		if !p.changed() {
			return outcome{status: "up to date"}
		}
		a.mu.Lock()
		plans[path] = p
		a.mu.Unlock()
		return p.outcome(verb)
	})
	var pending []bulk.Target
	for _, f := range files {
		if plans[f.Path] != nil {
			pending = append(pending, f)
		}
	}
	if dryRun || len(pending) == 0 {
		if err := a.finish(t); err != nil {
			return err
		}
		if check && len(pending) > 0 {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("%d of %d files differ from %s", len(pending), len(files), cfg.Path),
				Hint: "run kura updatekeys --yes on them to apply the rules"}
		}
		return nil
	}
	a.printSummary(t)
	ok, err := a.confirm(fmt.Sprintf("Update the keys of %d file(s)?", len(pending)))
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(a.stderr, "kura: nothing changed")
		return nil
	}
	applied := a.runBulk(pending, b, func(target bulk.Target) outcome { return apply(target.Path, plans[target.Path]) })
	applied.failed += t.failed
	if applied.code == 0 {
		applied.code = t.code
	}
	return a.finish(applied)
}
