package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	cobradoc "github.com/spf13/cobra/doc"
)

// helpRoot is kura's command tree as kura --help sees it, with cobra's
// help command in place.
func helpRoot() *cobra.Command {
	a := &app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	root := a.rootCommand()
	root.InitDefaultHelpCmd()
	return root
}

// walkCommands calls f for cmd and every command below it.
func walkCommands(cmd *cobra.Command, f func(*cobra.Command)) {
	f(cmd)
	for _, c := range cmd.Commands() {
		walkCommands(c, f)
	}
}

// TestCommandHelp checks that every command's --help has a one-line
// summary, a description and examples, and that kura --help lists every
// command under a heading. Hidden commands are exempt: Git runs them
// (git textconv, git merge) or the shell does (cobra's __complete), never
// a person, and their help is never listed.
func TestCommandHelp(t *testing.T) {
	root := helpRoot()
	var names []string
	walkCommands(root, func(c *cobra.Command) {
		if c.Hidden || c.Deprecated != "" {
			return
		}
		path := c.CommandPath()
		names = append(names, path)
		switch {
		case strings.TrimSpace(c.Short) == "":
			t.Errorf("%s has no Short summary", path)
		case strings.Contains(c.Short, "\n"):
			t.Errorf("%s: its Short summary is not one line", path)
		case strings.HasSuffix(c.Short, "."):
			t.Errorf("%s: its Short summary ends with a full stop: %q", path, c.Short)
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%s has no Long description", path)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", path)
		}
		for _, line := range strings.Split(c.Example, "\n") {
			// Examples are indented by two spaces, as cobra shows them,
			// and run kura (or what kura feeds: source <(...), kustomize).
			if !strings.HasPrefix(line, "  ") {
				t.Errorf("%s: example line not indented by two spaces: %q", path, line)
			}
		}
		if !strings.Contains(c.Example, "kura") {
			t.Errorf("%s: no example runs kura", path)
		}
		if c.Parent() == root && c.GroupID == "" {
			t.Errorf("%s is in no command group: add it to commandGroups (root.go)", path)
		}
	})
	for _, want := range []string{"kura", "kura encrypt", "kura completion bash", "kura git install", "kura groups add", "kura help", "kura version"} {
		if !slices.Contains(names, want) {
			t.Errorf("the walk missed %s (it saw %v)", want, names)
		}
	}
	// Every group has commands, and every command a group names exists.
	for _, g := range commandGroups {
		for _, name := range g.commands {
			c, _, err := root.Find([]string{name})
			if err != nil || c == root {
				t.Errorf("commandGroups names %s, which is no command", name)
			}
		}
	}
}

// manDate is the date the man pages carry. It is fixed, so that the pages
// are the same on every machine and TestManPages can compare them; move
// it forward when a release changes the commands.
var manDate = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// genManPages writes a man page per command (docs/man/kura.1,
// kura-encrypt.1, ...) to dir, with cobra/doc. It lives in a test file so
// that the kura binary links neither cobra/doc nor its Markdown renderer
// (TestKuraLinksNoDocGenerator).
func genManPages(dir string) error {
	root := helpRoot()
	walkCommands(root, func(c *cobra.Command) { c.DisableAutoGenTag = true })
	return cobradoc.GenManTreeFromOpts(root, cobradoc.GenManTreeOptions{
		Path:             dir,
		CommandSeparator: "-",
		Header: &cobradoc.GenManHeader{
			Section: "1",
			Date:    &manDate,
			Source:  "kura",
			Manual:  "kura manual",
		},
	})
}

// TestManPages checks that docs/man holds the man pages the commands'
// help makes today. KURA_WRITE_MAN=1 (make docs) writes them instead.
func TestManPages(t *testing.T) {
	want := filepath.Join("..", "..", "docs", "man")
	if os.Getenv("KURA_WRITE_MAN") == "1" {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(want, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := genManPages(want); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := t.TempDir()
	if err := genManPages(got); err != nil {
		t.Fatal(err)
	}
	read := func(dir string) map[string][]byte {
		files := map[string][]byte{}
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
		return files
	}
	gotFiles, wantFiles := read(got), read(want)
	if len(gotFiles) < 20 {
		t.Fatalf("only %d man pages generated", len(gotFiles))
	}
	var stale []string
	for name, b := range gotFiles {
		if w, ok := wantFiles[name]; !ok {
			stale = append(stale, "missing: docs/man/"+name)
		} else if !bytes.Equal(b, w) {
			stale = append(stale, "out of date: docs/man/"+name)
		}
	}
	for name := range wantFiles {
		if _, ok := gotFiles[name]; !ok {
			stale = append(stale, "no such command: docs/man/"+name)
		}
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		t.Errorf("docs/man does not match the commands' help; run make docs:\n\t%s", strings.Join(stale, "\n\t"))
	}
}

// TestKuraLinksNoDocGenerator keeps the man page generator out of the
// kura binary: start-up time is paid on every run.
func TestKuraLinksNoDocGenerator(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/spf13/cobra/doc" || strings.HasPrefix(p, "github.com/cpuguy83/go-md2man") || strings.HasPrefix(p, "github.com/russross/blackfriday") {
			t.Errorf("kura links %s", p)
		}
	}
}

// TestCommandNames checks that each entry of app.commands names the
// command its function builds, and that a command line starting with a
// command's name builds a tree holding that command alone.
func TestCommandNames(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for _, c := range a.commands() {
		if got := c.build().Name(); got != c.name {
			t.Errorf("commands lists %q for the command %q", c.name, got)
		}
		if c.name == "completion" {
			continue // needs the whole tree
		}
		root := a.rootCommandFor([]string{c.name, "--help"})
		var names []string
		for _, sub := range root.Commands() {
			if sub.Name() != "help" {
				names = append(names, sub.Name())
			}
		}
		if len(names) != 1 || names[0] != c.name {
			t.Errorf("the tree for %q holds %q", c.name, names)
		}
	}
	if n := len(a.rootCommandFor([]string{"completion", "bash"}).Commands()); n < len(a.commands()) {
		t.Errorf("the tree for completion holds %d commands", n)
	}
}

// TestLegacyTree checks that sops's legacy form builds the root command
// alone, and that a command line which may still reach a command, or
// asks for help, builds all of them.
func TestLegacyTree(t *testing.T) {
	a := &app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	all := len(a.commands())
	for _, tc := range []struct {
		args []string
		full bool
	}{
		{[]string{"-d", "secrets.yaml"}, false},
		{[]string{"--decrypt", "--output", "out.yaml", "secrets.yaml"}, false},
		{[]string{"-e", "-i", "secrets.yaml"}, false},
		{[]string{"--version"}, false},
		{[]string{}, true},
		{[]string{"--verbose", "decrypt", "secrets.yaml"}, true},
		{[]string{"-d", "decrypt"}, true},
		{[]string{"-h"}, true},
		{[]string{"-dh"}, true},
		{[]string{"--help"}, true},
		{[]string{"--help=true"}, true},
		{[]string{"--verbose", "help"}, true},
		{[]string{"--config", "x", "completion", "bash"}, true},
		{[]string{cobra.ShellCompRequestCmd, "-d", ""}, true},
	} {
		n := len(a.rootCommandFor(tc.args).Commands())
		if tc.full && n < all {
			t.Errorf("%q: the tree holds %d commands, want all %d", tc.args, n, all)
		}
		if !tc.full && n != 0 {
			t.Errorf("%q: the tree holds %d commands, want none", tc.args, n)
		}
	}
}
