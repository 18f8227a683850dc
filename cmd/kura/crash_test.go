//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/atomicfile"
)

// The tests in this file run kura as a user does, as a process of its own
// (the copy of the test binary that TestMain puts on PATH as "kura"), and
// end it in the ways a process ends: normally, by a signal it handles, and
// by SIGKILL, which nothing can handle. See docs/security.md, "Crash
// safety".

// crashEnv is a directory with the test keys and an environment for
// running kura in it: HOME there, the age1 key in SOPS_AGE_KEY_FILE and
// the private directories of edit and exec-file in $XDG_RUNTIME_DIR=run.
type crashEnv struct {
	t    *testing.T
	dir  string
	run  string
	bin  string
	env  []string
	age1 string
	age2 string
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	kura, err := exec.LookPath("kura")
	if err != nil {
		t.Fatalf("kura is not on PATH (TestMain puts it there): %v", err)
	}
	c := &crashEnv{t: t, dir: t.TempDir(), bin: kura}
	c.run = filepath.Join(c.dir, "run")
	keys := filepath.Join(c.dir, "keys")
	for _, d := range []string{c.run, keys, filepath.Join(c.dir, "home"), filepath.Join(c.dir, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join("..", "..", "testdata", "keys")
	for _, name := range []string{"age1.txt", "age2.txt", "age1.pub", "age2.pub"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keys, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		switch name {
		case "age1.pub":
			c.age1 = strings.TrimSpace(string(b))
		case "age2.pub":
			c.age2 = strings.TrimSpace(string(b))
		}
	}
	c.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(c.dir, "home"),
		"XDG_CONFIG_HOME=",
		"XDG_RUNTIME_DIR=" + c.run,
		"TMPDIR=" + c.dir,
		"SOPS_AGE_KEY_FILE=" + filepath.Join(keys, "age1.txt"),
	}
	return c
}

// path is a file in the work directory.
func (c *crashEnv) path(name string) string { return filepath.Join(c.dir, "work", name) }

// command returns kura with args, in the work directory, with extra
// variables.
func (c *crashEnv) command(extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = filepath.Join(c.dir, "work")
	cmd.Env = append(slices.Clone(c.env), extraEnv...)
	return cmd
}

// kura runs kura to its end and returns its output and exit status.
func (c *crashEnv) kura(extraEnv []string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	var out, errb bytes.Buffer
	cmd := c.command(extraEnv, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("kura %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// mustKura runs kura and fails the test unless it exits 0.
func (c *crashEnv) mustKura(extraEnv []string, args ...string) string {
	c.t.Helper()
	out, errs, code := c.kura(extraEnv, args...)
	if code != 0 {
		c.t.Fatalf("kura %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// decrypt decrypts a file of the work directory in this process, which
// is quicker than starting kura; TestCrashSafety does it after every kill
// that left a new version. The key comes from the test's environment,
// which TestCrashSafety sets as the kura processes get it.
func (c *crashEnv) decrypt(name string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run([]string{"decrypt", c.path(name)}, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// put writes a file in the work directory with mode perm exactly.
func (c *crashEnv) put(name string, data []byte, perm os.FileMode) {
	c.t.Helper()
	p := c.path(name)
	os.Remove(p)
	if err := os.WriteFile(p, data, perm); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		c.t.Fatal(err)
	}
}

// entries lists the names in dir, sorted.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// crashSeed is the seed of the kill delays: $KURA_CRASH_SEED, to replay a
// failure, or the clock.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("KURA_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("KURA_CRASH_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// crashPlain is the plaintext of the crash tests: small, so that a run
// takes milliseconds and a kill lands anywhere in it, writing included.
func crashPlain() []byte {
	var b strings.Builder
	b.WriteString("password: s3cr3t-VALUE-42\n")
	for i := range 20 {
		fmt.Fprintf(&b, "key%02d: value number %d\n", i, i)
	}
	b.WriteString("db:\n  user: admin\n  port: 5432\n")
	return []byte(b.String())
}

// TestCrashSafety kills kura with SIGKILL at random moments of commands
// that replace a file (encrypt -i, edit, set, updatekeys --yes, rotate -i),
// hundreds of times, and checks after each kill that the file is whole:
// byte for byte the old version, or a new version that decrypts, MAC
// checked, to what the command makes; with its mode (0640) kept. Left
// next to it may be only the atomic writer's temporary files
// (.NAME.kura-RANDOM, never holding the plaintext here), which the next
// write of the file removes; in $XDG_RUNTIME_DIR only edit's private
// directories (kura-edit-RANDOM), which the next edit removes, saying so.
//
// Each kill comes after a delay drawn uniformly between 0 and 1.2 times
// the command's measured duration, from a seeded generator: the seed is
// logged, and KURA_CRASH_SEED=N replays it. -short runs fewer kills.
func TestCrashSafety(t *testing.T) {
	c := newCrashEnv(t)
	for _, kv := range c.env {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	seed := crashSeed(t)
	t.Logf("seed %d (replay with KURA_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x6b757261))
	kills := 60
	if testing.Short() {
		kills = 12
	}

	plain := crashPlain()
	c.put("plain.yaml", plain, 0o600)
	c.mustKura(nil, "encrypt", "--age", c.age1, "--output", "enc.yaml", "plain.yaml")
	enc, err := os.ReadFile(c.path("enc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(c.path(".sops.yaml"), []byte("creation_rules:\n  - path_regex: .*\n    age: "+c.age1+","+c.age2+"\n"), 0o644)

	type crashCase struct {
		name string
		old  []byte   // the file before
		args []string // the command; the file is "target.yaml"
		env  []string
		// extra checks a new version must pass, besides decrypting to
		// what an uninterrupted run's output decrypts to
		extra func(got []byte) error
	}
	cases := []crashCase{
		{name: "encrypt -i", old: plain, args: []string{"encrypt", "--age", c.age1, "-i", "target.yaml"}},
		{name: "edit", old: enc, args: []string{"edit", "target.yaml"},
			env: []string{"EDITOR=fakeeditor replace s3cr3t-VALUE-42 edited-VALUE-43"}},
		{name: "set", old: enc, args: []string{"set", "target.yaml", `["db"]["user"]`, `"root"`}},
		{name: "updatekeys --yes", old: enc, args: []string{"updatekeys", "--yes", "target.yaml"},
			extra: func(got []byte) error {
				if !bytes.Contains(got, []byte(c.age2)) {
					return errors.New("changed, but age2 is not a recipient")
				}
				return nil
			}},
		{name: "rotate -i", old: enc, args: []string{"rotate", "-i", "target.yaml"}},
	}
	const mode = 0o640
	total := 0
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			c.t = t
			// An uninterrupted run, timed three times: what the new
			// version decrypts to, and how long the command takes.
			var durations []time.Duration
			var want string
			for range 3 {
				c.put("target.yaml", tc.old, mode)
				start := time.Now()
				c.mustKura(tc.env, tc.args...)
				durations = append(durations, time.Since(start))
				out, errs, code := c.decrypt("target.yaml")
				if code != 0 {
					t.Fatalf("decrypt: exit %d\n%s", code, errs)
				}
				want = out
			}
			slices.Sort(durations)
			typical := durations[1]
			maxDelay := typical * 6 / 5

			var sawOld, sawNew int
			tempFiles := map[string]bool{} // the names seen, over all kills
			for i := range kills {
				c.put("target.yaml", tc.old, mode)
				delay := time.Duration(rng.Int64N(int64(maxDelay) + 1))
				cmd := c.command(tc.env, tc.args...)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()

				where := fmt.Sprintf("kill %d after %v", i, delay)
				got, err := os.ReadFile(c.path("target.yaml"))
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				st, _ := os.Stat(c.path("target.yaml"))
				if st.Mode().Perm() != mode {
					t.Errorf("%s: mode %#o, want %#o", where, st.Mode().Perm(), mode)
				}
				if bytes.Equal(got, tc.old) {
					sawOld++
				} else {
					sawNew++
					out, errs, code := c.decrypt("target.yaml")
					if code != 0 || out != want {
						t.Fatalf("%s: the file is neither the old version nor a whole new one (decrypt: exit %d %s)\n%s", where, code, errs, got)
					}
					if tc.extra != nil {
						if err := tc.extra(got); err != nil {
							t.Fatalf("%s: %v", where, err)
						}
					}
				}
				for _, name := range entries(t, c.path(".")) {
					switch {
					case name == "target.yaml" || name == "plain.yaml" || name == "enc.yaml" || name == ".sops.yaml":
					case strings.HasPrefix(name, atomicfile.TempPrefix("target.yaml")):
						tempFiles[name] = true
						if b, _ := os.ReadFile(c.path(name)); bytes.Contains(b, []byte("s3cr3t")) {
							t.Fatalf("%s: the temporary file %s holds plaintext", where, name)
						}
					default:
						t.Fatalf("%s: unexpected file %s next to the target", where, name)
					}
				}
				for _, name := range entries(t, c.run) {
					if tc.name != "edit" || !strings.HasPrefix(name, privateDirPrefix) {
						t.Fatalf("%s: unexpected %s in $XDG_RUNTIME_DIR", where, name)
					}
				}
			}
			leftDirs := len(entries(t, c.run))
			total += kills
			t.Logf("%s: %d kills in 0-%v (typical run %v): %d old, %d new; %d temporary files seen next to it, %d private directories left",
				tc.name, kills, maxDelay.Round(time.Millisecond), typical.Round(time.Millisecond), sawOld, sawNew, len(tempFiles), leftDirs)

			// The next run removes what the killed ones left.
			c.put("target.yaml", tc.old, mode)
			_, errs, code := c.kura(tc.env, tc.args...)
			if code != 0 {
				t.Fatalf("run after the kills: exit %d\n%s", code, errs)
			}
			for _, name := range entries(t, c.path(".")) {
				if strings.HasPrefix(name, atomicfile.TempPrefix("target.yaml")) {
					t.Errorf("%s is still there after the next write", name)
				}
			}
			if n := len(entries(t, c.run)); n != 0 {
				t.Errorf("%d entries left in $XDG_RUNTIME_DIR after the next run", n)
			}
			switch {
			case leftDirs == 1 && !strings.Contains(errs, "kura: removed "+c.run+"/"+privateDirPrefix):
				t.Errorf("the next edit did not say it removed a stale directory; stderr:\n%s", errs)
			case leftDirs > 1 && !strings.Contains(errs, fmt.Sprintf("kura: removed %d temporary directories in %s, left behind by kura runs that were killed\n", leftDirs, c.run)):
				t.Errorf("the next edit did not say it removed %d stale directories; stderr:\n%s", leftDirs, errs)
			}
			if sawNew == 0 && !testing.Short() {
				t.Logf("%s: no kill came late enough to see the new version", tc.name)
			}
		})
	}
	t.Logf("%d kills in all", total)
}

// ending is one way a run of edit or exec-file ends.
type ending struct {
	name string
	args []string
	env  []string
	// signal, when set, is sent to kura once it has printed a line (the
	// editor or command says it is running).
	signal syscall.Signal
	code   int
	// left says the private directory stays (SIGKILL of kura): the next
	// run must then remove it and say so.
	left bool
}

// TestNoPlaintextLeft ends edit and exec-file in every way and checks
// that nothing is left in $XDG_RUNTIME_DIR, where their private
// directories go. SIGKILL of kura is the one ending that leaves the
// directory (with the plaintext, for edit and exec-file --no-fifo); the
// next run of either removes it and says so.
func TestNoPlaintextLeft(t *testing.T) {
	c := newCrashEnv(t)
	c.put("plain.yaml", crashPlain(), 0o600)
	c.mustKura(nil, "encrypt", "--age", c.age1, "--output", "enc.yaml", "plain.yaml")
	enc, _ := os.ReadFile(c.path("enc.yaml"))
	sleepy := func(s string) []string { return []string{"EDITOR=fakeeditor sleep " + s} }
	endings := []ending{
		{name: "edit saved", args: []string{"edit", "f.yaml"}, env: []string{"EDITOR=fakeeditor replace admin root"}},
		{name: "edit unchanged", args: []string{"edit", "f.yaml"}, env: []string{"EDITOR=fakeeditor replace nothing-matches x"}, code: 200},
		{name: "edit editor fails", args: []string{"edit", "f.yaml"}, env: []string{"EDITOR=fakeeditor fail"}, code: 1},
		{name: "edit editor SIGKILL", args: []string{"edit", "f.yaml"}, env: []string{"EDITOR=fakeeditor kill"}, code: 1},
		{name: "edit SIGTERM", args: []string{"edit", "f.yaml"}, env: sleepy("30"), signal: syscall.SIGTERM, code: 143},
		{name: "edit SIGHUP", args: []string{"edit", "f.yaml"}, env: sleepy("30"), signal: syscall.SIGHUP, code: 129},
		// Ctrl-C while the editor runs is the editor's: kura waits for it.
		{name: "edit SIGINT", args: []string{"edit", "f.yaml"}, env: sleepy("0.3"), signal: syscall.SIGINT, code: 200},
		{name: "edit SIGKILL", args: []string{"edit", "f.yaml"}, env: sleepy("0.5"), signal: syscall.SIGKILL, code: -1, left: true},

		{name: "exec-file", args: []string{"exec-file", "f.yaml", "--", "cat", "{}"}},
		{name: "exec-file --no-fifo", args: []string{"exec-file", "--no-fifo", "f.yaml", "--", "cat", "{}"}},
		{name: "exec-file unread", args: []string{"exec-file", "f.yaml", "--", "true"}},
		{name: "exec-file command fails", args: []string{"exec-file", "f.yaml", "--", "sh", "-c", "exit 3"}, code: 3},
		{name: "exec-file command SIGKILL", args: []string{"exec-file", "--no-fifo", "f.yaml", "--", "sh", "-c", "kill -9 $$"}, code: 137},
		{name: "exec-file SIGTERM", args: []string{"exec-file", "f.yaml", "--", "sh", "-c", "echo ready; exec sleep 30"}, signal: syscall.SIGTERM, code: 143},
		{name: "exec-file --no-fifo SIGINT", args: []string{"exec-file", "--no-fifo", "f.yaml", "--", "sh", "-c", "echo ready; exec sleep 30"}, signal: syscall.SIGINT, code: 130},
		{name: "exec-file SIGHUP", args: []string{"exec-file", "f.yaml", "--", "sh", "-c", "echo ready; exec sleep 30"}, signal: syscall.SIGHUP, code: 129},
		{name: "exec-file --no-fifo SIGKILL", args: []string{"exec-file", "--no-fifo", "f.yaml", "--", "sh", "-c", "echo ready; exec sleep 0.5"}, signal: syscall.SIGKILL, code: -1, left: true},
		{name: "exec-file SIGKILL", args: []string{"exec-file", "f.yaml", "--", "sh", "-c", "echo ready; exec sleep 0.5"}, signal: syscall.SIGKILL, code: -1, left: true},
	}
	for _, e := range endings {
		t.Run(strings.ReplaceAll(e.name, " ", "_"), func(t *testing.T) {
			c.t = t
			c.put("f.yaml", enc, 0o600)
			code, stderr := c.end(e)
			if code != e.code {
				t.Fatalf("exit %d, want %d\n%s", code, e.code, stderr)
			}
			left := entries(t, c.run)
			if !e.left {
				if len(left) > 0 {
					t.Fatalf("left in $XDG_RUNTIME_DIR: %v", left)
				}
				return
			}
			if len(left) != 1 || !strings.HasPrefix(left[0], privateDirPrefix) {
				t.Fatalf("after SIGKILL, $XDG_RUNTIME_DIR holds %v, want one %s* directory", left, privateDirPrefix)
			}
			inside := entries(t, filepath.Join(c.run, left[0]))
			t.Logf("after SIGKILL: %s/%s holds %v", c.run, left[0], inside)
			// The next run (here exec-file, whichever command left it)
			// removes it, and says so in one line.
			_, errs, code := c.kura(nil, "exec-file", "f.yaml", "--", "true")
			if code != 0 {
				t.Fatalf("next run: exit %d\n%s", code, errs)
			}
			want := "kura: removed " + filepath.Join(c.run, left[0]) + ", left behind by a kura that was killed\n"
			if errs != want {
				t.Errorf("next run said %q, want %q", errs, want)
			}
			if left := entries(t, c.run); len(left) > 0 {
				t.Errorf("still left after the next run: %v", left)
			}
		})
	}

	// A directory a running kura holds is not taken for stale: a second
	// edit while the first waits for its editor leaves it alone.
	t.Run("live_directory_kept", func(t *testing.T) {
		c.t = t
		c.put("f.yaml", enc, 0o600)
		first := c.command(sleepy("1"), "edit", "f.yaml")
		out, err := first.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		bufio.NewReader(out).ReadString('\n')
		_, errs, code := c.kura(nil, "exec-file", "f.yaml", "--", "true")
		if code != 0 || errs != "" {
			t.Errorf("second run: exit %d, stderr %q", code, errs)
		}
		if left := entries(t, c.run); len(left) != 1 {
			t.Errorf("while the first edit runs, $XDG_RUNTIME_DIR holds %v, want its directory", left)
		}
		first.Wait()
		if left := entries(t, c.run); len(left) != 0 {
			t.Errorf("left: %v", left)
		}
	})
}

// end runs kura as e says: to its end, or until it prints a line and is
// sent e.signal. It returns the exit status (-1 for a signal that killed
// it) and standard error.
func (c *crashEnv) end(e ending) (int, string) {
	c.t.Helper()
	cmd := c.command(e.env, e.args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if e.signal != 0 {
		line, err := r.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			c.t.Fatalf("kura ended before it said it was running: %v\n%s", err, errb.String())
		}
		c.t.Logf("sending %v after %q", e.signal, strings.TrimSpace(line))
		cmd.Process.Signal(e.signal)
	}
	go func() { r.WriteTo(new(bytes.Buffer)) }()
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		c.t.Fatal(err)
	}
	code := cmd.ProcessState.ExitCode()
	// Give an editor or command that outlived a killed kura a moment to
	// go, so the next case starts clean.
	if e.signal == syscall.SIGKILL {
		time.Sleep(600 * time.Millisecond)
	}
	return code, errb.String()
}
