package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/gitrepo"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/secretscan"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

type scanFlags struct {
	staged    bool
	verify    bool
	listRules bool
	json      bool
	disable   []string
	allow     []string
}

func (a *app) scanCommand() *cobra.Command {
	var s scanFlags
	cmd := &cobra.Command{
		Use:   "scan [PATH...]",
		Short: "Find plaintext secrets and unencrypted or broken SOPS files",
		Long: `Check files before they are committed. A problem is reported, one line
each, when:

  - a file that a .sops.yaml creation rule with a path_regex covers is not
    encrypted (must-encrypt);
  - a SOPS file's metadata is broken (broken-sops), or with --verify its
    MAC does not match (needs a key);
  - a value that looks like a secret sits in clear text: private keys,
    cloud and service tokens, high-entropy passwords (kura scan
    --list-rules lists the rules).

With --staged it reads the files staged for the next commit from Git's
index, as the pre-commit hook of kura git install does; with PATHs, those
files and directories; with neither, the files Git tracks (or, outside a
repository, the current directory).

Not a problem: a line holding "kura:allow"; files, rules and matches listed
in .kura-scan-allow at the top of the repository (docs/git.md). The exit
status is 1 when a problem is found. A secret is never printed.

With --json each problem is one JSON object on a line of its own (JSON
Lines), in the same order: {"file":...,"line":N,"column":N,"rule":...,
"message":...}, line and column only for a finding inside the file. No
problem, no line.`,
		Example: `  kura scan --staged
  kura scan config/ deploy/values.yaml
  kura scan --disable high-entropy
  kura scan --json | jq -r 'select(.rule == "must-encrypt") | .file'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.scan(&s, args)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&s.staged, "staged", false, "scan what is staged in Git's index, not the working tree")
	fs.BoolVar(&s.verify, "verify", false, "decrypt SOPS files to check their MACs (needs a key)")
	fs.BoolVar(&s.listRules, "list-rules", false, "list the secret rules and exit")
	fs.BoolVar(&s.json, "json", false, "print each problem as a JSON object, one a line")
	fs.StringArrayVar(&s.disable, "disable", nil, "a rule ID not to run (repeatable)")
	fs.StringArrayVar(&s.allow, "allow", nil, "a regular expression: matches of rules it matches are not reported (repeatable)")
	return cmd
}

// scanAllowFile lists what a repository allows, at its top.
const scanAllowFile = ".kura-scan-allow"

// scanAllow is the parsed allow file: paths to skip, rules to disable
// and regular expressions of allowed matches.
type scanAllow struct {
	paths   []string
	rules   []string
	matches []string
}

func readScanAllow(dir string) (scanAllow, error) {
	var al scanAllow
	f, err := os.Open(filepath.Join(dir, scanAllowFile))
	if errors.Is(err, os.ErrNotExist) {
		return al, nil
	}
	if err != nil {
		return al, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, value, ok := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case ok && kind == "path":
			if _, err := path.Match(value, ""); err != nil {
				return al, fmt.Errorf("%s:%d: bad pattern: %v", scanAllowFile, n, err)
			}
			al.paths = append(al.paths, value)
		case ok && kind == "rule":
			al.rules = append(al.rules, value)
		case ok && kind == "match":
			if _, err := regexp.Compile(value); err != nil {
				return al, fmt.Errorf("%s:%d: bad regular expression: %v", scanAllowFile, n, err)
			}
			al.matches = append(al.matches, value)
		default:
			return al, fmt.Errorf("%s:%d: want path: GLOB, rule: ID or match: REGEXP", scanAllowFile, n)
		}
	}
	return al, sc.Err()
}

// skips reports whether an allowed path pattern covers rel (a slash
// path from the top): a pattern matches the whole path, its base name,
// or a directory above it ("vendor/**", or "vendor/").
func (al scanAllow) skips(rel string) bool {
	for _, p := range al.paths {
		dir := strings.TrimSuffix(strings.TrimSuffix(p, "**"), "/")
		if strings.HasSuffix(p, "/**") || strings.HasSuffix(p, "/") {
			if rel == dir || strings.HasPrefix(rel, dir+"/") {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, path.Base(rel)); ok {
				return true
			}
		}
	}
	return false
}

// scanFile is one file to scan: its name as shown, the path rules
// match against, and its content (nil: read it from path).
type scanFile struct {
	name, path string
	data       []byte
}

// problem is one line of the report.
type problem struct {
	name         string
	line, column int
	rule, what   string
}

func (p problem) String() string {
	if p.line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s: %s", p.name, p.line, p.column, p.rule, p.what)
	}
	return fmt.Sprintf("%s: %s: %s", p.name, p.rule, p.what)
}

// JSON is the problem's line of scan --json.
func (p problem) JSON() string {
	out, _ := json.Marshal(struct {
		File    string `json:"file"`
		Line    int    `json:"line,omitempty"`
		Column  int    `json:"column,omitempty"`
		Rule    string `json:"rule"`
		Message string `json:"message"`
	}{p.name, p.line, p.column, p.rule, p.what})
	return string(out)
}

func (a *app) scan(s *scanFlags, args []string) error {
	if s.listRules {
		for _, r := range secretscan.Rules() {
			fmt.Fprintf(a.stdout, "%-24s %s\n", r.ID, r.Description)
		}
		fmt.Fprintf(a.stdout, "%-24s %s\n", "must-encrypt", "a file a .sops.yaml creation rule covers is not encrypted")
		fmt.Fprintf(a.stdout, "%-24s %s\n", "broken-sops", "a SOPS file's metadata (or, with --verify, its MAC) is broken")
		fmt.Fprintf(a.stdout, "%-24s %s\n", "unreadable", "a file could not be read (it changed or went away during the scan)")
		return nil
	}
	repo, repoErr := gitrepo.Open(".")
	if s.staged && repoErr != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--staged: %w", repoErr)}
	}
	top := "."
	if repoErr == nil {
		top = repo.Root
	}
	allow, err := readScanAllow(top)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	known := map[string]bool{"must-encrypt": true, "broken-sops": true}
	for _, r := range secretscan.Rules() {
		known[r.ID] = true
	}
	for _, r := range append(slices.Clone(s.disable), allow.rules...) {
		if !known[r] {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("unknown rule %q", r), Hint: "kura scan --list-rules lists them"}
		}
	}
	scanner, err := secretscan.New(secretscan.Options{
		DisabledRules: append(slices.Clone(s.disable), allow.rules...),
		AllowPatterns: append(slices.Clone(s.allow), allow.matches...),
	})
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	disabled := map[string]bool{}
	for _, r := range append(slices.Clone(s.disable), allow.rules...) {
		disabled[r] = true
	}

	files := make(chan scanFile, 64)
	var (
		mu       sync.Mutex
		problems []problem
		count    int
		wg       sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				if f.data == nil {
					data, err := os.ReadFile(f.path)
					if err != nil {
						mu.Lock()
						problems = append(problems, problem{name: f.name, rule: "unreadable", what: firstLine(unwrapPathError(err))})
						mu.Unlock()
						continue
					}
					f.data = data
				}
				found := a.scanOne(f, cfg, scanner, disabled, s.verify)
				mu.Lock()
				count++
				problems = append(problems, found...)
				mu.Unlock()
			}
		}()
	}
	feedErr := a.scanFeed(s, args, repo, repoErr, allow, files)
	close(files)
	wg.Wait()
	if feedErr != nil {
		return feedErr
	}
	slices.SortFunc(problems, func(x, y problem) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		if x.line != y.line {
			return x.line - y.line
		}
		return x.column - y.column
	})
	for _, p := range problems {
		if s.json {
			fmt.Fprintln(a.stdout, p.JSON())
			continue
		}
		fmt.Fprintln(a.stdout, p)
	}
	if len(problems) == 0 {
		return nil
	}
	inFiles := map[string]bool{}
	for _, p := range problems {
		inFiles[p.name] = true
	}
	msg := fmt.Sprintf("kura scan found %d problem(s) in %d of %d file(s)", len(problems), len(inFiles), count)
	if s.staged {
		msg += "; the commit is refused"
	}
	return &sopsfile.Error{Code: sopsfile.CodeGeneric,
		Err:  errors.New(msg),
		Hint: `encrypt the file (kura encrypt -i FILE), or if a finding is not a secret, add "kura:allow" to its line or list it in .kura-scan-allow`}
}

// scanFeed sends the files to scan.
func (a *app) scanFeed(s *scanFlags, args []string, repo *gitrepo.Repo, repoErr error, allow scanAllow, out chan<- scanFile) error {
	if s.staged {
		staged, err := repo.StagedFiles()
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		// A staged file that has not changed since is read from disk, in
		// parallel; the others from the index (one git process).
		changed, err := repo.ChangedInWorktree()
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		inWorktree := make(map[string]bool, len(changed))
		for _, f := range changed {
			inWorktree[f] = true
		}
		var fromIndex []string
		for _, f := range staged {
			p := filepath.Join(repo.Root, filepath.FromSlash(f))
			switch {
			case allow.skips(f):
			case inWorktree[f]:
				fromIndex = append(fromIndex, f)
			default:
				if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
					fromIndex = append(fromIndex, f)
					continue
				}
				out <- scanFile{name: f, path: p}
			}
		}
		err = repo.Blobs("", fromIndex, func(rel string, data []byte) error {
			out <- scanFile{name: rel, path: filepath.Join(repo.Root, filepath.FromSlash(rel)), data: data}
			return nil
		})
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		return nil
	}
	rel := func(p string) string {
		if repoErr != nil {
			return filepath.ToSlash(filepath.Clean(p))
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return filepath.ToSlash(p)
		}
		r, err := filepath.Rel(repo.Root, abs)
		if err != nil {
			return filepath.ToSlash(p)
		}
		return filepath.ToSlash(r)
	}
	send := func(p string) error {
		if !allow.skips(rel(p)) {
			out <- scanFile{name: filepath.ToSlash(p), path: p}
		}
		return nil
	}
	if len(args) == 0 && repoErr == nil {
		tracked, err := repo.TrackedFiles()
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		for _, t := range tracked {
			p := filepath.Join(repo.Root, filepath.FromSlash(t))
			if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
				continue // deleted, a submodule, a symbolic link
			}
			if !allow.skips(t) {
				out <- scanFile{name: t, path: p}
			}
		}
		return nil
	}
	if len(args) == 0 {
		args = []string{"."}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if errors.Is(err, fs.ErrNotExist) {
			return inFile(arg, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file or directory")})
		}
		if err != nil {
			return inFile(arg, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: unwrapPathError(err)})
		}
		if !st.IsDir() {
			if err := send(arg); err != nil {
				return err
			}
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == ".git" {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			return send(p)
		})
		if err != nil {
			return inFile(arg, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)})
		}
	}
	return nil
}

// scanOne checks one file.
func (a *app) scanOne(f scanFile, cfg *config.Config, scanner *secretscan.Scanner, disabled map[string]bool, verify bool) []problem {
	var out []problem
	isSOPS := false
	if looksLikeSOPS(f.data) {
		ff := format.OfEncrypted(format.FromPath(f.path), f.data)
		file, err := sopsfile.Load(f.data, a.store(ff, cfg, false), ff == format.Binary)
		switch {
		case err == nil:
			isSOPS = true
			if verify {
				if err := file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers(), ReadOnly: true}); err != nil {
					out = append(out, problem{name: f.name, rule: "broken-sops", what: firstLine(err)})
				}
			}
		case !errors.Is(err, sopsfile.ErrNotSOPS):
			isSOPS = true
			if !disabled["broken-sops"] {
				out = append(out, problem{name: f.name, rule: "broken-sops", what: firstLine(err)})
			}
		}
	}
	if !isSOPS && !disabled["must-encrypt"] && mustBeEncrypted(cfg, f.path) && len(bytes.TrimSpace(f.data)) > 0 {
		r, _ := cfg.Rule(f.path)
		out = append(out, problem{name: f.name, rule: "must-encrypt",
			what: fmt.Sprintf("%s (path_regex %q) says this file is encrypted, and it is not", r.Field, r.PathRegex)})
	}
	for _, fd := range scanner.Scan(f.data) {
		out = append(out, problem{name: f.name, line: fd.Line, column: fd.Column, rule: fd.Rule, what: fd.Description})
	}
	return out
}
