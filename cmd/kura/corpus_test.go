package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
)

// shellWords splits a manifest command line: words separated by spaces,
// single and double quotes as in sh, and nothing from a redirection on.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				t.Fatalf("unbalanced quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '>' && !inWord:
			return words
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// keyEnv gives the process exactly the keys a row supplies, and a home
// directory of its own so that no key of the user's is found.
func keyEnv(t *testing.T, gpg *gnupgHomes, supplied string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	for _, v := range []string{"SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_CMD", "SOPS_AGE_RECIPIENTS", "SOPS_CONFIG", "SOPS_DECRYPTION_ORDER"} {
		t.Setenv(v, "")
	}
	var ages, pgps []string
	switch supplied {
	case "all", "-", "":
		ages, pgps = []string{"age1", "age2"}, []string{"pgp1", "pgp2"}
	case "none":
	default:
		for _, k := range strings.Split(supplied, "+") {
			if strings.HasPrefix(k, "age") {
				ages = append(ages, k)
			} else {
				pgps = append(pgps, k)
			}
		}
	}
	t.Setenv("GNUPGHOME", gpg.home(t, pgps))
	switch len(ages) {
	case 0:
		t.Setenv("SOPS_AGE_KEY_FILE", "")
	case 1:
		t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(corpus.KeysDir(), ages[0]+".txt"))
	default:
		t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(corpus.KeysDir(), "age-all-identities.txt"))
	}
}

// gnupgHomes makes GnuPG homes holding given sets of PGP test keys, once
// per set, and removes them (stopping their agents) when the test that
// made it ends.
type gnupgHomes struct {
	parent *testing.T
	homes  map[string]string
}

func newGnupgHomes(t *testing.T) *gnupgHomes {
	g := &gnupgHomes{parent: t, homes: map[string]string{}}
	t.Cleanup(func() {
		for _, home := range g.homes {
			exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
			os.RemoveAll(home)
		}
	})
	return g
}

// home returns a GnuPG home holding exactly the named keys, imported with
// the real gpg.
func (g *gnupgHomes) home(t *testing.T, names []string) string {
	t.Helper()
	id := strings.Join(names, "+")
	if home, ok := g.homes[id]; ok {
		return home
	}
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is not installed; .ci/run installs it")
		}
		t.Skip("gpg is not installed")
	}
	home, err := os.MkdirTemp("", "kura-gnupg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	g.homes[id] = home
	for _, n := range names {
		cmd := exec.Command("gpg", "--batch", "--quiet", "--homedir", home, "--import", filepath.Join(corpus.KeysDir(), n+".sec.asc"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("importing %s: %v\n%s", n, err, out)
		}
	}
	return home
}

func runKura(t *testing.T, args []string) (code int, stdout, stderr []byte) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.Bytes(), errb.Bytes()
}

// TestCorpusDecrypt runs every decrypt row of the interop corpus: kura must
// give sops's exit code, byte-identical standard output on success and
// nothing on standard output on failure. The sops-3.13.2-bug row must
// decrypt (with exit 0) to the correct plaintext.
func TestCorpusDecrypt(t *testing.T) {
	gpg := newGnupgHomes(t)
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	byCase := map[string]corpus.Row{}
	for _, r := range rows {
		byCase[r["case"]] = r
	}
	n := 0
	for _, r := range rows {
		switch r["kind"] {
		case "roundtrip", "decrypt-variant", "decrypt-error", "tamper", "sops-3.13.2-bug":
		default:
			continue
		}
		n++
		t.Run(r["case"], func(t *testing.T) {
			keyEnv(t, gpg, r["keys_supplied"])
			t.Chdir(r.Case())
			args := shellWords(t, r["decrypt_command"])[1:]
			code, stdout, stderr := runKura(t, args)
			want, _ := strconv.Atoi(r["exit_code"])
			if r["kind"] == "sops-3.13.2-bug" {
				want = 0
			}
			if code != want {
				t.Fatalf("exit %d, want %d (sops: %s)\nstderr: %s", code, want, r["error_summary"], stderr)
			}
			if code != 0 {
				if len(stdout) > 0 {
					t.Errorf("printed %d bytes on standard output while failing", len(stdout))
				}
				if lines := bytes.Count(stderr, []byte("kura: error:")); lines != 1 {
					t.Errorf("want exactly one error line, got:\n%s", stderr)
				}
				return
			}
			if p := r.Path("expected_stdout"); p != "" {
				exp, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(stdout, exp) {
					t.Errorf("stdout differs\n--- got\n%s\n--- want\n%s", stdout, exp)
				}
			}
		})
	}
	if n != 94 {
		t.Errorf("checked %d decrypt rows, the manifest has 94", n)
	}
}

// TestCorpusEncryptErrors runs every encrypt-error row: kura must refuse
// the input with sops's exit code and write nothing on standard output.
func TestCorpusEncryptErrors(t *testing.T) {
	gpg := newGnupgHomes(t)
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r["kind"] != "encrypt-error" {
			continue
		}
		n++
		t.Run(r["case"], func(t *testing.T) {
			keyEnv(t, gpg, "all")
			dir := t.TempDir()
			copyCase(t, r.Case(), dir)
			t.Chdir(dir)
			args := expandKeys(t, shellWords(t, r["encrypt_command"])[1:])
			code, stdout, stderr := runKura(t, args)
			want, _ := strconv.Atoi(r["exit_code"])
			if code != want {
				t.Fatalf("exit %d, want %d (sops: %s)\nstderr: %s", code, want, r["error_summary"], stderr)
			}
			if len(stdout) > 0 {
				t.Errorf("printed %d bytes on standard output while failing", len(stdout))
			}
		})
	}
	if n != 11 {
		t.Errorf("checked %d encrypt-error rows, the manifest has 11", n)
	}
}

// copyCase copies a case's inputs (not sops's outputs) into dir.
func copyCase(t *testing.T, from, dir string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), "encrypted") || strings.HasPrefix(e.Name(), "expected") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func expandKeys(t *testing.T, args []string) []string {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(corpus.KeysDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	r := strings.NewReplacer("${AGE1}", read("age1.pub"), "${AGE2}", read("age2.pub"), "${PGP1}", read("pgp1.fingerprint"), "${PGP2}", read("pgp2.fingerprint"))
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}

// TestCorpusEncryptReadBySops encrypts every roundtrip row's input with
// kura and has the real sops 3.13.2 decrypt the result: it must print the
// bytes sops printed for its own encryption.
func TestCorpusEncryptReadBySops(t *testing.T) {
	gpg := newGnupgHomes(t)
	sops, err := exec.LookPath("sops")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("sops is not installed; .ci/run installs sops 3.13.2")
		}
		t.Skip("sops 3.13.2 is not installed (go install github.com/getsops/sops/v3/cmd/sops@v3.13.2)")
	}
	if out, err := exec.Command(sops, "--version", "--disable-version-check").Output(); err != nil || !bytes.Contains(out, []byte("3.13.2")) {
		t.Fatalf("%s is not sops 3.13.2: %s %v", sops, out, err)
	}
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["kind"] != "roundtrip" && r["kind"] != "sops-3.13.2-bug" {
			continue
		}
		t.Run(r["case"], func(t *testing.T) {
			keyEnv(t, gpg, "all")
			dir := t.TempDir()
			copyCase(t, r.Case(), dir)
			t.Chdir(dir)
			words := shellWords(t, r["encrypt_command"])
			args := expandKeys(t, words[1:])
			code, stdout, stderr := runKura(t, args)
			if code != 0 {
				t.Fatalf("kura encrypt: exit %d: %s", code, stderr)
			}
			// The encrypted file's name is the redirection target.
			target := strings.TrimSpace(r["encrypt_command"][strings.LastIndexByte(r["encrypt_command"], '>')+1:])
			if err := os.WriteFile(target, stdout, 0o644); err != nil {
				t.Fatal(err)
			}
			// Decrypt as the row does, with the types it names.
			dec := shellWords(t, r["decrypt_command"])
			cmd := exec.Command(sops, dec[1:]...)
			// sops treats a set but empty variable as a value: pass only
			// the ones that have one.
			for _, kv := range os.Environ() {
				if !strings.HasSuffix(kv, "=") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, "SOPS_DISABLE_VERSION_CHECK=1")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("sops decrypt of kura's output: %v\n%s\n--- kura wrote\n%s", err, errb.Bytes(), stdout)
			}
			want, err := os.ReadFile(r.Path("expected_stdout"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("sops read back\n%s\nwant\n%s", out.Bytes(), want)
			}
		})
	}
}
