package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/atomicfile"
	"github.com/kura-secrets/kura/internal/gitrepo"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

func (a *app) gitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "git",
		Short: "Set up and serve kura's Git integration: diffs, merges, a pre-commit guard",
		Long: `kura git install registers in the current repository:

  - a diff driver, so that git diff, git log -p and git show print the
    decrypted values of SOPS files to those who hold a key (and the
    ciphertext to those who do not);
  - a merge driver, which merges SOPS files by key path: changes to
    different keys merge cleanly, the same key changed on both sides is a
    conflict kura edit can resolve;
  - a pre-commit hook running kura scan --staged;
  - .gitattributes lines for the tracked files that are encrypted or that
    .sops.yaml says must be.

Run it again after adding encrypted files. kura git uninstall removes all
of it. See docs/git.md.`,
		Example: `  kura git install
  git diff secrets.enc.yaml
  kura git uninstall`,
	}
	cmd.AddCommand(a.gitInstallCommand(), a.gitUninstallCommand(), a.gitTextconvCommand(), a.gitMergeCommand())
	return cmd
}

func (a *app) gitInstallCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "install",
		Short: "Register kura's diff and merge drivers, pre-commit hook and .gitattributes lines",
		Long: `Register in the current repository's .git/config the kura diff driver
(git diff shows decrypted values to whoever holds a key) and merge driver
(SOPS files merge key by key), install a pre-commit hook that runs kura
scan --staged, and list in .gitattributes the tracked files that are
encrypted or that .sops.yaml says must be. Run it again after adding
encrypted files; it changes only what it wrote itself.`,
		Example: "  kura git install",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.gitInstall()
		},
	}
}

func (a *app) gitUninstallCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what kura git install set up",
		Long: `Remove the diff and merge drivers from .git/config, the pre-commit hook
kura installed, and kura's lines of .gitattributes. A hook or attributes
written by someone else are left as they are.`,
		Example: "  kura git uninstall",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.gitUninstall()
		},
	}
}

// Markers of what kura writes into files it shares with the user.
const (
	hookMarker      = "# kura: pre-commit hook, installed by `kura git install`"
	attributesBegin = "# kura: begin (kept by `kura git install`; run it again after adding encrypted files)"
	attributesEnd   = "# kura: end"
	attributesTail  = " diff=kura merge=kura"
)

// selfCommand is how git should start kura: by name when the kura on
// PATH is this program, else by its absolute path.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "kura"
	}
	if p, err := exec.LookPath("kura"); err == nil {
		a, _ := filepath.EvalSymlinks(p)
		b, _ := filepath.EvalSymlinks(exe)
		if a != "" && a == b {
			return "kura"
		}
	}
	return shellQuote(exe)
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) openRepo() (*gitrepo.Repo, error) {
	repo, err := gitrepo.Open(".")
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err, Hint: "run it inside a Git working tree"}
	}
	return repo, nil
}

func (a *app) gitInstall() error {
	repo, err := a.openRepo()
	if err != nil {
		return err
	}
	self := selfCommand()
	var changed []string
	for _, kv := range [][2]string{
		{"diff.kura.textconv", self + " git textconv"},
		{"merge.kura.name", "kura: merge SOPS files by key path"},
		{"merge.kura.driver", self + " git merge %O %A %B %P"},
	} {
		if v, ok := repo.Config(kv[0]); ok && v == kv[1] {
			continue
		}
		if err := repo.SetConfig(kv[0], kv[1]); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		changed = append(changed, fmt.Sprintf("set %s = %s", kv[0], kv[1]))
	}
	msg, err := installHook(repo, self)
	if err != nil {
		return err
	}
	if msg != "" {
		changed = append(changed, msg)
	}
	files, err := a.gitFilesToMark(repo)
	if err != nil {
		return err
	}
	msg, err = writeAttributes(repo, files)
	if err != nil {
		return err
	}
	if msg != "" {
		changed = append(changed, msg)
	}
	if len(changed) == 0 {
		fmt.Fprintln(a.stdout, "kura: the Git integration is installed already; nothing changed")
		return nil
	}
	for _, c := range changed {
		fmt.Fprintln(a.stdout, "kura: "+c)
	}
	return nil
}

func installHook(repo *gitrepo.Repo, self string) (string, error) {
	hooks, err := repo.Path("hooks")
	if err != nil {
		return "", &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	path := filepath.Join(hooks, "pre-commit")
	want := "#!/bin/sh\n" + hookMarker + "\n# It refuses a commit that would add a plaintext secret; see docs/git.md.\nexec " + self + " scan --staged\n"
	old, err := os.ReadFile(path)
	switch {
	case err == nil && string(old) == want:
		return "", nil
	case err == nil && !bytes.Contains(old, []byte(hookMarker)):
		return "left the existing pre-commit hook " + path + " alone: add `" + self + " scan --staged` to it", nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: unwrapPathError(err)}
	}
	if err := os.MkdirAll(hooks, 0o755); err != nil { // #nosec G301 -- Git's own mode for its hooks directory; it holds no secret
		return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	if err := atomicfile.Write(path, []byte(want), 0o755); err != nil {
		return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	if err := os.Chmod(path, 0o755); err != nil { // #nosec G302 -- a hook must be executable; it holds no secret
		return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	return "installed the pre-commit hook " + path, nil
}

// gitFilesToMark lists the tracked files the drivers serve: SOPS files,
// and the files a .sops.yaml creation rule with a path_regex covers.
func (a *app) gitFilesToMark(repo *gitrepo.Repo) ([]string, error) {
	tracked, err := repo.TrackedFiles()
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, rel := range tracked {
		path := filepath.Join(repo.Root, filepath.FromSlash(rel))
		if mustBeEncrypted(cfg, path) {
			files = append(files, rel)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			continue // deleted in the working tree, a submodule...
		}
		if looksLikeSOPS(data) && a.isSOPS(path, data, cfg) {
			files = append(files, rel)
		}
	}
	return files, nil
}

// mustBeEncrypted reports whether a creation rule that names files (one
// with a path_regex) covers path. A catch-all rule only says which keys a
// new file gets, not which files are secret.
func mustBeEncrypted(cfg *config.Config, path string) bool {
	if cfg == nil || cfg.Path == "" {
		return false
	}
	r, err := cfg.Rule(path)
	return err == nil && r != nil && r.PathRegex != ""
}

// looksLikeSOPS is a cheap test before parsing: every SOPS file names its
// metadata and its MAC.
func looksLikeSOPS(data []byte) bool {
	return bytes.Contains(data, []byte("sops")) && bytes.Contains(data, []byte("mac"))
}

// isSOPS reports whether data is a SOPS file in the format its name says.
func (a *app) isSOPS(path string, data []byte, cfg *config.Config) bool {
	f := format.OfEncrypted(format.FromPath(path), data)
	_, err := sopsfile.Load(data, a.store(f, cfg, false), f == format.Binary)
	return err == nil
}

func attributeLine(rel string) string {
	// gitattributes patterns: escape what would be read as a pattern.
	var b strings.Builder
	for _, r := range rel {
		if strings.ContainsRune(" \t*?[]\\#!\"", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return "/" + b.String() + attributesTail
}

// writeAttributes keeps kura's block of .gitattributes lines. With no
// files, the block is removed.
func writeAttributes(repo *gitrepo.Repo, files []string) (string, error) {
	path := filepath.Join(repo.Root, ".gitattributes")
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)}
	}
	rest := withoutBlock(string(old))
	var block string
	if len(files) > 0 {
		lines := make([]string, len(files))
		for i, f := range files {
			lines[i] = attributeLine(f)
		}
		slices.Sort(lines)
		block = attributesBegin + "\n" + strings.Join(lines, "\n") + "\n" + attributesEnd + "\n"
	}
	out := rest
	if block != "" {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += block
	}
	if out == string(old) {
		return "", nil
	}
	if out == "" {
		if err := os.Remove(path); err != nil {
			return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
		}
		return "removed .gitattributes (it held only kura's lines)", nil
	}
	if err := atomicfile.Write(path, []byte(out), 0o644); err != nil {
		return "", &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	if block == "" {
		return "removed kura's lines from .gitattributes", nil
	}
	return fmt.Sprintf("wrote .gitattributes lines for %d file(s)", len(files)), nil
}

// withoutBlock returns a .gitattributes text without kura's block.
func withoutBlock(s string) string {
	i := strings.Index(s, attributesBegin)
	if i < 0 {
		return s
	}
	j := strings.Index(s[i:], attributesEnd)
	if j < 0 {
		return s[:i]
	}
	end := i + j + len(attributesEnd)
	if end < len(s) && s[end] == '\n' {
		end++
	}
	return s[:i] + s[end:]
}

func (a *app) gitUninstall() error {
	repo, err := a.openRepo()
	if err != nil {
		return err
	}
	var changed []string
	for _, section := range []string{"diff.kura", "merge.kura"} {
		if _, ok := repo.Config(section + ".driver"); !ok {
			if _, ok := repo.Config(section + ".textconv"); !ok {
				continue
			}
		}
		if err := repo.RemoveSection(section); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
		}
		changed = append(changed, "removed git config section "+section)
	}
	hooks, err := repo.Path("hooks")
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	hook := filepath.Join(hooks, "pre-commit")
	if b, err := os.ReadFile(hook); err == nil && bytes.Contains(b, []byte(hookMarker)) {
		if err := os.Remove(hook); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
		}
		changed = append(changed, "removed the pre-commit hook "+hook)
	}
	msg, err := writeAttributes(repo, nil)
	if err != nil {
		return err
	}
	if msg != "" {
		changed = append(changed, msg)
	}
	if len(changed) == 0 {
		fmt.Fprintln(a.stdout, "kura: the Git integration is not installed; nothing changed")
	}
	for _, c := range changed {
		fmt.Fprintln(a.stdout, "kura: "+c)
	}
	return nil
}

func (a *app) gitTextconvCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "textconv FILE",
		Short:  "Print a file for git diff: decrypted when a key opens it, else as it is",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.gitTextconv(args[0])
		},
	}
}

// gitTextconv prints what git diff compares. Git names its temporary
// copies of old versions NNNNNN_BASENAME, so the format still comes from
// the name. Anything that is not a SOPS file, or that no key opens, is
// printed as it is: a diff must never fail.
func (a *app) gitTextconv(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)}
	}
	if !looksLikeSOPS(data) {
		_, err := a.stdout.Write(data)
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		cfg = &config.Config{}
	}
	f := format.OfEncrypted(format.FromPath(path), data)
	store := a.store(f, cfg, false)
	file, err := sopsfile.Load(data, store, f == format.Binary)
	if err == nil {
		err = file.Decrypt(sopsfile.DecryptOptions{Sources: a.unwrappers(), ReadOnly: true})
	}
	if err != nil {
		if !errors.Is(err, sopsfile.ErrNotSOPS) {
			fmt.Fprintf(a.stderr, "kura: %s: showing the encrypted text (%s)\n", displayName(path), firstLine(err))
		}
		_, err := a.stdout.Write(data)
		return err
	}
	tree.DetachComments(file.Docs)
	out, err := store.EmitPlain(file.Docs)
	if err != nil {
		_, err := a.stdout.Write(data)
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
