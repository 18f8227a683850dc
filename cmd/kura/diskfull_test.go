//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
)

// TestUnwritableTargets runs the commands that replace a file against
// targets that even root cannot write: a directory or a file made
// immutable with chattr +i, a read-only bind mount, and a full tmpfs.
// Each must fail with one line `kura: error: FILE: ...; the file is
// unchanged`, exit code 3, and leave the directory as it was: the file's
// bytes and mode, and no temporary file. Each setup is skipped where the
// system does not allow it (no chattr, no CAP_SYS_ADMIN for mount);
// testdata/diskfull.txtar covers a full disk (ulimit -f, /dev/full) and a
// path under a regular file everywhere.
func TestUnwritableTargets(t *testing.T) {
	c := newCrashEnv(t)
	plain := crashPlain()
	c.put("plain.yaml", plain, 0o600)
	c.mustKura(nil, "encrypt", "--age", c.age1, "--output", "enc.yaml", "plain.yaml")
	enc, _ := os.ReadFile(c.path("enc.yaml"))

	chattr := func(t *testing.T, flag, path string) error {
		out, err := exec.Command("chattr", flag, path).CombinedOutput()
		if err != nil {
			return errors.New(string(bytes.TrimSpace(out)))
		}
		return nil
	}
	setups := []struct {
		name string
		// prepare makes dir (holding p.yaml and e.yaml) unwritable, or
		// skips the test
		prepare func(t *testing.T, dir string)
		cause   string
	}{
		{"immutable directory", func(t *testing.T, dir string) {
			if err := chattr(t, "+i", dir); err != nil {
				t.Skipf("chattr +i: %v", err)
			}
			t.Cleanup(func() { chattr(t, "-i", dir) })
		}, "operation not permitted"},
		{"immutable files", func(t *testing.T, dir string) {
			for _, f := range []string{"p.yaml", "e.yaml"} {
				p := filepath.Join(dir, f)
				if err := chattr(t, "+i", p); err != nil {
					t.Skipf("chattr +i: %v", err)
				}
				t.Cleanup(func() { chattr(t, "-i", p) })
			}
		}, "operation not permitted"},
		{"read-only bind mount", func(t *testing.T, dir string) {
			if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
				t.Skipf("bind mount: %v", err)
			}
			t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
			if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
				t.Skipf("read-only remount: %v", err)
			}
		}, "read-only file system"},
		{"full tmpfs", nil, "no space left on device"},
	}
	type command struct {
		file string
		args []string
		env  []string
	}
	commands := []command{
		{"p.yaml", []string{"encrypt", "--age", c.age1, "-i", "d/p.yaml"}, nil},
		{"e.yaml", []string{"set", "d/e.yaml", `["db"]["user"]`, `"root"`}, nil},
		{"e.yaml", []string{"rotate", "-i", "d/e.yaml"}, nil},
		{"e.yaml", []string{"updatekeys", "--yes", "d/e.yaml"}, nil},
		{"e.yaml", []string{"edit", "d/e.yaml"}, []string{"EDITOR=fakeeditor replace admin root"}},
		{"e.yaml", []string{"decrypt", "-i", "d/e.yaml"}, nil},
	}
	os.WriteFile(c.path(".sops.yaml"), []byte("creation_rules:\n  - path_regex: .*\n    age: "+c.age1+","+c.age2+"\n"), 0o644)
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			dir := c.path("d")
			os.RemoveAll(dir)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if s.prepare == nil { // the full tmpfs
				if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0755"); err != nil {
					t.Skipf("mounting a tmpfs: %v", err)
				}
				t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
			}
			c.put("d/p.yaml", plain, 0o640)
			c.put("d/e.yaml", enc, 0o640)
			if s.prepare != nil {
				s.prepare(t, dir)
			} else {
				fill(t, filepath.Join(dir, "filler"))
			}
			before := entries(t, dir)
			for _, cmd := range commands {
				_, stderr, code := c.kura(cmd.env, cmd.args...)
				want := regexp.MustCompile(`^kura: error: d/` + regexp.QuoteMeta(cmd.file) + `: cannot (create a temporary file in d|write the new content|replace the file): ` + s.cause + `; the file is unchanged\n$`)
				if code != 3 || !want.MatchString(stderr) {
					t.Errorf("kura %s: exit %d, stderr %q; want exit 3 and %s", cmd.args[0], code, stderr, want)
				}
				old := enc
				if cmd.file == "p.yaml" {
					old = plain
				}
				if got, _ := os.ReadFile(filepath.Join(dir, cmd.file)); !bytes.Equal(got, old) {
					t.Errorf("kura %s changed %s", cmd.args[0], cmd.file)
				}
				if st, _ := os.Stat(filepath.Join(dir, cmd.file)); st.Mode().Perm() != 0o640 {
					t.Errorf("kura %s: mode %#o", cmd.args[0], st.Mode().Perm())
				}
				if now := entries(t, dir); !slices.Equal(now, before) {
					t.Errorf("kura %s: the directory holds %v, before %v", cmd.args[0], now, before)
				}
				if left := entries(t, c.run); len(left) > 0 {
					t.Errorf("kura %s left %v in $XDG_RUNTIME_DIR", cmd.args[0], left)
				}
			}
		})
	}
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the tmpfs: %v", err)
			}
			return
		}
	}
}
