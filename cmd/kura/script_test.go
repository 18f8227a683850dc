package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	smfake "github.com/kura-secrets/kura/internal/fakecloud/secretsmanager"
	"github.com/kura-secrets/kura/internal/fakecloud/vaultkv"
	"github.com/kura-secrets/kura/internal/kurakms"
	"github.com/kura-secrets/kura/pkg/publish"
	"golang.org/x/crypto/ssh"
)

// TestMain makes the test binary double as the commands the scripts in
// testdata/ run: kura itself, keycmd, a stand-in for a password manager in
// SOPS_AGE_KEY_CMD, killafter, which interrupts a command, catglob,
// which prints the files a pattern matches, and fakeeditor, a scripted
// editor for kura edit. Without one of those names in
// os.Args[0] it runs the package's tests as usual.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kura": kuraUnderTest, // main, checked for secrets (hygiene_test.go)
		// The companion runs from the test binary as it runs from its own.
		"kura-kms":   func() { os.Exit(kurakms.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, "test")) },
		"keycmd":     keycmd,
		"fakeeditor": func() { os.Exit(fakeEditor()) },
		"killafter":  func() { os.Exit(killafter(os.Args[1:])) },
		"catglob":    func() { os.Exit(catglob(os.Args[1:])) },
	})
}

// keycmd prints the files named on its command line, as a password
// manager prints a key. sops runs SOPS_AGE_KEY_CMD with SOPS_AGE_RECIPIENT
// set to the recipient being decrypted; keycmd refuses to run without it,
// and says on standard error which recipient it was asked for.
func keycmd() {
	r := os.Getenv("SOPS_AGE_RECIPIENT")
	if r == "" {
		fmt.Fprintln(os.Stderr, "keycmd: SOPS_AGE_RECIPIENT is not set")
		os.Exit(3)
	}
	fmt.Fprintf(os.Stderr, "keycmd: asked for %s\n", r)
	for _, name := range os.Args[1:] {
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "keycmd:", err)
			os.Exit(2)
		}
		os.Stdout.Write(b)
	}
}

// testKeys are the files of ../../testdata/keys each script finds in
// $WORK/keys.
var testKeys = []string{"age1.txt", "age2.txt", "age1.pub", "age2.pub", "age-all-identities.txt"}

// TestScript runs every script in testdata/. Each starts with an
// environment of its own: only PATH and the variables testscript always
// sets are inherited (so no SOPS_* variable of the user's), HOME is an
// empty $WORK/home, XDG_CONFIG_HOME is empty, the test keys are in
// $WORK/keys, $AGE1 and $AGE2 hold their public keys, $CORPUS is the sops
// interop corpus (../../testdata/sops-interop) and $SOPS is the sops
// binary, if installed: the scripts that run it check [sops], and with CI
// set a missing sops fails the test.
//
// Besides testscript's own, the scripts have the commands exitcode, mode,
// sed, corrupt, sshkeygen, mkbytes, envfile, save, unchanged, jsonpath,
// copyn, rmglob, disjoint, difflines and mkvalues, and run the programs
// killafter, catglob and fakeeditor (which the key-source scripts can run
// too); each is described where it is defined.
func TestScript(t *testing.T) {
	keysDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	sops := awslocal.LookTool("sops")
	if sops == "" && os.Getenv("CI") != "" {
		t.Fatal("sops is not installed: go install github.com/getsops/sops/v3/cmd/sops@v3.13.2")
	}
	testscript.Run(t, testscript.Params{
		Dir:                "testdata",
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			if err := setupHygiene(e, keysDir, nil); err != nil {
				return err
			}
			if err := setupScript(e, keysDir); err != nil {
				return err
			}
			if sops != "" {
				e.Setenv("SOPS", sops)
			}
			e.Values[savedKey{}] = map[string]snapshot{}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sops":
				return sops != "", nil
			}
			return false, errors.New("unknown condition " + strconv.Quote(cond))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":    cmdExitcode,
			"mode":        cmdMode,
			"sed":         cmdSed,
			"corrupt":     cmdCorrupt,
			"sshkeygen":   cmdSSHKeygen,
			"mkbytes":     cmdMkbytes,
			"envfile":     cmdEnvfile,
			"save":        cmdSave,
			"unchanged":   cmdUnchanged,
			"jsonpath":    cmdJSONPath,
			"copyn":       cmdCopyn,
			"rmglob":      cmdRmglob,
			"disjoint":    cmdDisjoint,
			"difflines":   cmdDifflines,
			"mkvalues":    cmdMkvalues,
			"k8svalidate": cmdK8sValidate,

			// kura publish's fakes: see cmdPublishFakes.
			"publishfakes": cmdPublishFakes,
		},
	})
}

func setupScript(e *testscript.Env, keysDir string) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	e.Setenv("HOME", home)
	e.Setenv("XDG_CONFIG_HOME", "")
	for _, kv := range e.Vars {
		if strings.HasPrefix(kv, "SOPS_") {
			return fmt.Errorf("script environment holds %s", kv)
		}
	}
	dst := filepath.Join(e.WorkDir, "keys")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	for _, name := range testKeys {
		b, err := os.ReadFile(filepath.Join(keysDir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o600); err != nil {
			return err
		}
		if pub, ok := strings.CutSuffix(name, ".pub"); ok {
			e.Setenv(strings.ToUpper(pub), strings.TrimSpace(string(b)))
		}
	}
	e.Setenv("CORPUS", filepath.Join(filepath.Dir(keysDir), "sops-interop"))
	return nil
}

// exitcode N PROGRAM [ARGS...] runs PROGRAM and checks that it exits with
// status N. Its standard output and error are kept for the stdout and
// stderr commands that follow.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: bad status %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// mode FILE PERM checks a file's permission bits, such as 0640.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode file perm")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	if err != nil {
		ts.Fatalf("mode: bad permission %q", args[1])
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := st.Mode().Perm()
	if (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// sed FILE REGEXP REPLACEMENT replaces every match of a Go regular
// expression (multi-line mode) in FILE, as regexp.ReplaceAllString does
// (${1} names a group). The expression must match.
func cmdSed(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: sed file regexp replacement")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	name := ts.MkAbs(args[0])
	b, err := os.ReadFile(name)
	ts.Check(err)
	if !re.Match(b) {
		ts.Fatalf("sed: no match for %#q in %s", args[1], args[0])
	}
	ts.Check(os.WriteFile(name, re.ReplaceAll(b, []byte(args[2])), 0o644))
}

// corrupt FILE KEY changes one character of the ciphertext of the
// ENC[AES256_GCM,...] value at KEY in an encrypted YAML, JSON, dotenv or
// INI file, keeping it valid base64. Several matches are all changed.
func cmdCorrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: corrupt file key")
	}
	re := regexp.MustCompile(`(?m)(^\s*"?` + regexp.QuoteMeta(args[1]) + `"?\s*[:=]\s*"?ENC\[AES256_GCM,data:)([A-Za-z0-9+/])`)
	name := ts.MkAbs(args[0])
	b, err := os.ReadFile(name)
	ts.Check(err)
	if !re.Match(b) {
		ts.Fatalf("corrupt: no encrypted value at %q in %s", args[1], args[0])
	}
	out := re.ReplaceAllFunc(b, func(m []byte) []byte {
		m = append([]byte(nil), m...)
		if last := len(m) - 1; m[last] == 'A' {
			m[last] = 'B'
		} else {
			m[last] = 'A'
		}
		return m
	})
	ts.Check(os.WriteFile(name, out, 0o644))
}

// sshkeygen DIR writes a new unencrypted SSH ed25519 key pair to
// DIR/id_ed25519 and DIR/id_ed25519.pub, and sets $SSH_PUB to the public
// key ("ssh-ed25519 AAAA...").
func cmdSSHKeygen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sshkeygen dir")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	ts.Check(err)
	block, err := ssh.MarshalPrivateKey(priv, "kura-test")
	ts.Check(err)
	sshPub, err := ssh.NewPublicKey(pub)
	ts.Check(err)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	pemKey := pem.EncodeToMemory(block)
	addScriptSecrets(ts, "key sshkeygen made", secretLines(pemKey)...)
	ts.Check(os.WriteFile(filepath.Join(dir, "id_ed25519"), pemKey, 0o600))
	ts.Check(os.WriteFile(filepath.Join(dir, "id_ed25519.pub"), []byte(line+" kura-test\n"), 0o644))
	ts.Setenv("SSH_PUB", line)
}

// mkbytes FILE writes every byte value from 0 to 255, twice, with no final
// newline: content no text format could carry.
func cmdMkbytes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: mkbytes file")
	}
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(255 - i%256)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// envfile NAME FILE sets the variable NAME to the content of FILE.
func cmdEnvfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: envfile name file")
	}
	ts.Setenv(args[0], ts.ReadFile(args[1]))
}

// savedKey holds, in a script's Values, the snapshots save took, by
// absolute path.
type savedKey struct{}

// snapshot is a file's content, or a directory's files by relative path.
type snapshot struct {
	dir   bool
	files map[string][]byte
}

func takeSnapshot(path string) (snapshot, error) {
	st, err := os.Stat(path)
	if err != nil {
		return snapshot{}, err
	}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		return snapshot{files: map[string][]byte{"": b}}, err
	}
	s := snapshot{dir: true, files: map[string][]byte{}}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		s.files[filepath.ToSlash(rel)] = b
		return nil
	})
	return s, err
}

// save PATH... remembers the content of files, and of every file below
// directories, for unchanged.
func cmdSave(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: save path...")
	}
	saved := ts.Value(savedKey{}).(map[string]snapshot)
	for _, a := range args {
		s, err := takeSnapshot(ts.MkAbs(a))
		ts.Check(err)
		saved[ts.MkAbs(a)] = s
	}
}

// unchanged PATH... checks that files are byte for byte what save saw,
// and that directories hold the same files, none added, none removed. A
// path below a saved directory is compared with what save saw there. With
// !, it checks that each path changed.
func cmdUnchanged(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: unchanged path...")
	}
	saved := ts.Value(savedKey{}).(map[string]snapshot)
	for _, a := range args {
		old, ok := savedAt(saved, ts.MkAbs(a))
		if !ok {
			ts.Fatalf("unchanged: neither %s nor a directory above it was saved", a)
		}
		now, err := takeSnapshot(ts.MkAbs(a))
		if err != nil && !neg {
			ts.Fatalf("unchanged: %v", err)
		}
		var diffs []string
		for name, b := range old.files {
			nb, ok := now.files[name]
			switch {
			case !ok:
				diffs = append(diffs, "removed: "+path.Join(a, name))
			case !bytes.Equal(b, nb):
				diffs = append(diffs, "changed: "+path.Join(a, name))
			}
		}
		for name := range now.files {
			if _, ok := old.files[name]; !ok {
				diffs = append(diffs, "added: "+path.Join(a, name))
			}
		}
		sort.Strings(diffs)
		switch {
		case !neg && len(diffs) > 0:
			ts.Fatalf("%s changed since save:\n\t%s", a, strings.Join(diffs, "\n\t"))
		case neg && len(diffs) == 0 && err == nil:
			ts.Fatalf("%s did not change since save", a)
		}
	}
}

// savedAt returns what save saw of path: its own snapshot, or the part of
// a saved directory's snapshot below it.
func savedAt(saved map[string]snapshot, path string) (snapshot, bool) {
	if s, ok := saved[path]; ok {
		return s, true
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if s, ok := saved[dir]; ok && s.dir {
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			if b, ok := s.files[rel]; ok {
				return snapshot{files: map[string][]byte{"": b}}, true
			}
			sub := snapshot{dir: true, files: map[string][]byte{}}
			for name, b := range s.files {
				if rest, ok := strings.CutPrefix(name, rel+"/"); ok {
					sub.files[rest] = b
				}
			}
			return sub, true
		}
		if filepath.Dir(dir) == dir {
			return snapshot{}, false
		}
	}
}

// jsonpath FILE EXPR WANT checks one value of the JSON document in FILE
// (stdout and stderr name the last command's output). EXPR is a path such
// as .[0].rule.added[1], optionally followed by |length; a missing object
// field is null. A string is compared with WANT as it is, any other value
// as compact JSON (null, 2, true, ["a","b"], {"k":1}). With !, the value
// must differ from WANT.
func cmdJSONPath(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonpath file expr want")
	}
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(args[0])))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		ts.Fatalf("jsonpath: %s is not JSON: %v", args[0], err)
	}
	v, err := jsonPath(doc, args[1])
	if err != nil {
		ts.Fatalf("jsonpath: %s: %v", args[1], err)
	}
	got, ok := v.(string)
	if !ok {
		b, err := json.Marshal(v)
		ts.Check(err)
		got = string(b)
	}
	if (got == args[2]) == neg {
		ts.Fatalf("%s in %s is %s, want %s%s", args[1], args[0], got, map[bool]string{true: "anything but ", false: ""}[neg], args[2])
	}
}

func jsonPath(v any, expr string) (any, error) {
	rest, length := strings.CutSuffix(expr, "|length")
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			if rest == "" || rest[0] == '[' {
				continue
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("field %q of a %T", rest[:end], v)
			}
			v, rest = m[rest[:end]], rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, errors.New("unclosed [")
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil {
				return nil, err
			}
			a, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("index %d of a %T", i, v)
			}
			if i < 0 || i >= len(a) {
				return nil, fmt.Errorf("index %d out of range: %d elements", i, len(a))
			}
			v, rest = a[i], rest[end+1:]
		default:
			return nil, fmt.Errorf("unexpected %q", rest)
		}
	}
	if !length {
		return v, nil
	}
	switch t := v.(type) {
	case []any:
		return len(t), nil
	case map[string]any:
		return len(t), nil
	case string:
		return len(t), nil
	case nil:
		return 0, nil
	}
	return nil, fmt.Errorf("length of a %T", v)
}

// copyn N SRC PATTERN copies SRC to N files named by fmt.Sprintf(PATTERN,
// i) for i from 1 to N, such as tree/f%03d.enc.yaml, creating directories
// as needed.
func cmdCopyn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: copyn n src pattern")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		ts.Fatalf("copyn: bad count %q", args[0])
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	for i := 1; i <= n; i++ {
		name := ts.MkAbs(fmt.Sprintf(args[2], i))
		ts.Check(os.MkdirAll(filepath.Dir(name), 0o755))
		ts.Check(os.WriteFile(name, b, 0o644))
	}
}

// rmglob PATTERN... removes the files that filepath.Glob patterns match
// (none is fine), and logs them.
func cmdRmglob(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: rmglob pattern...")
	}
	for _, p := range args {
		matches, err := filepath.Glob(ts.MkAbs(p))
		ts.Check(err)
		for _, m := range matches {
			ts.Logf("rmglob: removing %s", m)
			ts.Check(os.Remove(m))
		}
	}
}

// disjoint REGEXP FILE1 FILE2 checks that no text REGEXP matches in FILE1
// (which must have a match) is also matched in FILE2: for instance that no
// ENC[...] value of a file survived its rotation. With !, some must be
// shared.
func cmdDisjoint(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: disjoint regexp file1 file2")
	}
	re, err := regexp.Compile("(?m)" + args[0])
	ts.Check(err)
	first := re.FindAllString(ts.ReadFile(args[1]), -1)
	if len(first) == 0 {
		ts.Fatalf("disjoint: no match for %#q in %s", args[0], args[1])
	}
	in2 := map[string]bool{}
	for _, m := range re.FindAllString(ts.ReadFile(args[2]), -1) {
		in2[m] = true
	}
	var shared []string
	for _, m := range first {
		if in2[m] {
			shared = append(shared, m)
		}
	}
	switch {
	case !neg && len(shared) > 0:
		ts.Fatalf("%s and %s share %d of %d matches, such as %s", args[1], args[2], len(shared), len(first), shared[0])
	case neg && len(shared) == 0:
		ts.Fatalf("%s and %s share none of %d matches", args[1], args[2], len(first))
	}
}

// killafter interrupts a command part-way:
//
//	killafter [-signal KILL|INT|TERM] DURATION PROGRAM [ARGS...]
//	killafter [-signal KILL|INT|TERM] -lines N PROGRAM [ARGS...]
//
// It runs PROGRAM with its own standard input, output and error, and sends
// it the signal (SIGKILL unless -signal says otherwise) DURATION after the
// start, or as soon as PROGRAM has written N lines to standard output. It
// exits 128+the signal's number when the signal ended PROGRAM, and with
// PROGRAM's status otherwise, saying on standard error whether PROGRAM
// ended before the signal was sent. SIGINT is not ignored in PROGRAM even
// when it is in killafter's parent.
func killafter(args []string) int {
	usage := func() int {
		fmt.Fprintln(os.Stderr, "usage: killafter [-signal KILL|INT|TERM] duration|-lines n program [args...]")
		return 2
	}
	sig, signame := syscall.Signal(syscall.SIGKILL), "KILL"
	if len(args) > 2 && args[0] == "-signal" {
		signame = args[1]
		switch signame {
		case "KILL":
		case "INT":
			sig = syscall.SIGINT
		case "TERM":
			sig = syscall.SIGTERM
		default:
			return usage()
		}
		args = args[2:]
	}
	var delay time.Duration
	lines := 0
	switch {
	case len(args) > 2 && args[0] == "-lines":
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return usage()
		}
		lines, args = n, args[2:]
	case len(args) > 1:
		d, err := time.ParseDuration(args[0])
		if err != nil || d <= 0 {
			return usage()
		}
		delay, args = d, args[1:]
	default:
		return usage()
	}
	// A handled signal is reset to its default in the child; an ignored
	// one would stay ignored.
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "killafter:", err)
		return 2
	}
	var once sync.Once
	sent := false
	var mu sync.Mutex
	send := func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if cmd.Process.Signal(sig) == nil {
				sent = true
			}
		})
	}
	if delay > 0 {
		time.AfterFunc(delay, send)
	}
	r := bufio.NewReader(out)
	for n := 0; ; {
		line, err := r.ReadString('\n')
		os.Stdout.WriteString(line)
		if err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "killafter:", err)
			}
			break
		}
		if n++; n == lines {
			send()
		}
	}
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled():
		fmt.Fprintf(os.Stderr, "killafter: %s ended by signal %d (%v)\n", args[0], int(ws.Signal()), ws.Signal())
		return 128 + int(ws.Signal())
	case sent:
		fmt.Fprintf(os.Stderr, "killafter: %s exited with status %d after SIG%s\n", args[0], cmd.ProcessState.ExitCode(), signame)
	default:
		fmt.Fprintf(os.Stderr, "killafter: %s exited with status %d before SIG%s was sent\n", args[0], cmd.ProcessState.ExitCode(), signame)
	}
	return cmd.ProcessState.ExitCode()
}

// catglob PATTERN... prints every file the filepath.Glob patterns match,
// in order, each after a line "-- NAME --", as txtar does. It prints
// nothing when nothing matches.
func catglob(args []string) int {
	for _, p := range args {
		matches, err := filepath.Glob(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "catglob:", err)
			return 2
		}
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err != nil {
				fmt.Fprintln(os.Stderr, "catglob:", err)
				return 1
			}
			fmt.Printf("-- %s --\n", filepath.ToSlash(m))
			os.Stdout.Write(b)
			if len(b) > 0 && b[len(b)-1] != '\n' {
				fmt.Println()
			}
		}
	}
	return 0
}

// difflines OLD NEW ADDED REMOVED [REGEXP...] checks how a file changed
// line by line: against a longest common subsequence of lines, NEW adds
// ADDED lines and drops REMOVED lines of OLD (each a count N or a range
// N-M: lastmodified changes only when the second did), and each of
// those lines matches one of the regular expressions (when any is given).
// It is how the scripts show that an edit touched only the value it
// changed, the MAC and lastmodified.
func cmdDifflines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: difflines old new added removed [regexp...]")
	}
	oldLines := strings.SplitAfter(ts.ReadFile(args[0]), "\n")
	newLines := strings.SplitAfter(ts.ReadFile(args[1]), "\n")
	addedMin, addedMax, err1 := parseCountRange(args[2])
	removedMin, removedMax, err2 := parseCountRange(args[3])
	if err1 != nil || err2 != nil {
		ts.Fatalf("difflines: bad counts %q %q", args[2], args[3])
	}
	var res []*regexp.Regexp
	for _, a := range args[4:] {
		re, err := regexp.Compile(a)
		ts.Check(err)
		res = append(res, re)
	}
	removed, added := lineDiff(oldLines, newLines)
	for _, l := range removed {
		ts.Logf("- %s", strings.TrimSuffix(l, "\n"))
	}
	for _, l := range added {
		ts.Logf("+ %s", strings.TrimSuffix(l, "\n"))
	}
	if len(added) < addedMin || len(added) > addedMax || len(removed) < removedMin || len(removed) > removedMax {
		ts.Fatalf("difflines: %s adds %d and removes %d lines of %s, want %s and %s", args[1], len(added), len(removed), args[0], args[2], args[3])
	}
	if len(res) == 0 {
		return
	}
	for _, l := range append(removed, added...) {
		l = strings.TrimSuffix(l, "\n")
		ok := false
		for _, re := range res {
			if re.MatchString(l) {
				ok = true
				break
			}
		}
		if !ok {
			ts.Fatalf("difflines: changed line %q matches none of the expressions", l)
		}
	}
}

// parseCountRange reads N or N-M.
func parseCountRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	hi, err = strconv.Atoi(b)
	return lo, hi, err
}

// lineDiff returns the lines of a and of b outside a longest common
// subsequence of the two: what a diff would show removed and added.
func lineDiff(a, b []string) (removed, added []string) {
	// lcs[i][j] is the length of a longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			i, j = i+1, j+1
		case lcs[i+1][j] >= lcs[i][j+1]:
			removed = append(removed, a[i])
			i++
		default:
			added = append(added, b[j])
			j++
		}
	}
	removed = append(removed, a[i:]...)
	added = append(added, b[j:]...)
	return removed, added
}

// mkvalues N FILE writes a file of N string values, key001 to keyN, in
// the format FILE's extension names (.yaml, .json or .env), half of them
// in a nested map: a file big enough to show what a change rewrites.
func cmdMkvalues(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkvalues n file")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 2 {
		ts.Fatalf("mkvalues: bad count %q", args[0])
	}
	var b strings.Builder
	switch filepath.Ext(args[1]) {
	case ".yaml":
		for i := 1; i <= n/2; i++ {
			fmt.Fprintf(&b, "key%03d: value-%03d\n", i, i)
		}
		b.WriteString("nested:\n")
		for i := n/2 + 1; i <= n; i++ {
			fmt.Fprintf(&b, "    key%03d: value-%03d\n", i, i)
		}
	case ".json":
		b.WriteString("{\n")
		for i := 1; i <= n/2; i++ {
			fmt.Fprintf(&b, "\t\"key%03d\": \"value-%03d\",\n", i, i)
		}
		b.WriteString("\t\"nested\": {\n")
		for i := n/2 + 1; i <= n; i++ {
			sep := ","
			if i == n {
				sep = ""
			}
			fmt.Fprintf(&b, "\t\t\"key%03d\": \"value-%03d\"%s\n", i, i, sep)
		}
		b.WriteString("\t}\n}\n")
	case ".env":
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "KEY%03d=value-%03d\n", i, i)
		}
	default:
		ts.Fatalf("mkvalues: no format for %s", args[1])
	}
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprintf("value-%03d", i+1)
	}
	addScriptSecrets(ts, "value mkvalues wrote", values...)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(b.String()), 0o644))
}

// publishfakes starts, for this script only, a fake Vault KV
// (internal/fakecloud/vaultkv: KV v2 at secret/ and team/kv/, KV v1 at
// kv1/) and a fake
// AWS Secrets Manager (internal/fakecloud/secretsmanager) on 127.0.0.1,
// points VAULT_* and AWS_* at them, sets $VAULT_GOOD_TOKEN (VAULT_TOKEN's
// value), $VAULT_READONLY_TOKEN (a token that may read but not write) and
// $VAULT_KV_ADDR, and adds two commands:
//
//	published [!] URI [FILE]  prints the secret the fakes hold at the
//	                          target URI as JSON; with FILE (stdout is the
//	                          last command's output), checks that it is the
//	                          same JSON; with !, checks that none is held
//	publishwrites N           checks that the fakes received N writes
func cmdPublishFakes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: publishfakes")
	}
	kv := vaultkv.New()
	ts.Defer(kv.Close)
	sm, err := smfake.New()
	ts.Check(err)
	ts.Defer(sm.Close)
	for _, kvs := range [][]string{kv.Env(), sm.Env()} {
		for _, e := range kvs {
			k, v, _ := strings.Cut(e, "=")
			ts.Setenv(k, v)
		}
	}
	ts.Setenv("VAULT_READONLY_TOKEN", kv.ReadOnlyToken)
	ts.Setenv("VAULT_GOOD_TOKEN", kv.Token)
	ts.Setenv("VAULT_KV_ADDR", kv.Address)
	ts.SetCmd("published", func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 1 || len(args) > 2 || (neg && len(args) != 1) {
			ts.Fatalf("usage: published [!] uri [file]")
		}
		t, err := publish.Parse(args[0])
		ts.Check(err)
		var got []byte
		var found bool
		switch t.Kind {
		case publish.VaultKV:
			var data map[string]any
			data, _, found = kv.Get(t.Mount, t.Path)
			got, err = json.Marshal(data)
			ts.Check(err)
		case publish.SecretsManager:
			var s string
			s, _, found = sm.Get(t.Name)
			got = []byte(s)
		}
		if neg {
			if found {
				ts.Fatalf("%s holds a secret", args[0])
			}
			return
		}
		if !found {
			ts.Fatalf("%s holds no secret", args[0])
		}
		ts.Stdout().Write(append(got, '\n'))
		if len(args) == 2 {
			want := ts.ReadFile(args[1])
			if !sameJSON(got, []byte(want)) {
				ts.Fatalf("%s holds\n%s\nwant the JSON of %s:\n%s", args[0], got, args[1], want)
			}
		}
	})
	ts.SetCmd("publishwrites", func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: publishwrites n")
		}
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		if got := kv.Writes() + sm.Writes(); got != want {
			ts.Fatalf("the fakes received %d writes, want %d", got, want)
		}
	})
}

// sameJSON reports whether two texts hold the same JSON value (numbers
// compared as written).
func sameJSON(a, b []byte) bool {
	norm := func(b []byte) (string, bool) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
		out, err := json.Marshal(v)
		return string(out), err == nil
	}
	x, ok1 := norm(a)
	y, ok2 := norm(b)
	return ok1 && ok2 && x == y
}
