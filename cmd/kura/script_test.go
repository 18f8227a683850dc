package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kura-secrets/kura/internal/kurakms"
	"golang.org/x/crypto/ssh"
)

// TestMain makes the test binary double as the commands the scripts in
// testdata/ run: kura itself, and keycmd, a stand-in for a password
// manager in SOPS_AGE_KEY_CMD. Without one of those names in os.Args[0] it
// runs the package's tests as usual.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kura": main,
		// The companion runs from the test binary as it runs from its own.
		"kura-kms": func() { os.Exit(kurakms.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, "test")) },
		"keycmd":   keycmd,
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
// $WORK/keys and $AGE1 and $AGE2 hold their public keys.
func TestScript(t *testing.T) {
	keysDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                "testdata",
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			return setupScript(e, keysDir)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":  cmdExitcode,
			"mode":      cmdMode,
			"sed":       cmdSed,
			"corrupt":   cmdCorrupt,
			"sshkeygen": cmdSSHKeygen,
			"mkbytes":   cmdMkbytes,
			"envfile":   cmdEnvfile,
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
	ts.Check(os.WriteFile(filepath.Join(dir, "id_ed25519"), pem.EncodeToMemory(block), 0o600))
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
