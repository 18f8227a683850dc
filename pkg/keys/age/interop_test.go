package age

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
)

// ageCLI returns the path of the reference age command. CI installs it, so
// there its absence is a failure; elsewhere the test is skipped.
func ageCLI(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the age command is needed in CI: %v", err)
		}
		t.Skipf("age command not found: %v", err)
	}
	return path
}

func runAge(t *testing.T, age string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(age, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("age %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestInteropAgeCLI: what the age command encrypts kura unwraps, and what
// kura wraps the age command decrypts, for X25519 and SSH keys.
func TestInteropAgeCLI(t *testing.T) {
	ageCmd := ageCLI(t)
	k1 := corpusKey(t, "age1")
	dir := t.TempDir()
	edKey := writeFile(t, filepath.Join(dir, "id_ed25519"), testEd25519().private)
	rsaKey := writeFile(t, filepath.Join(dir, "id_rsa"), testRSA().private)

	tests := []struct {
		name      string
		recipient string
		idFile    string // for age -i
		env       Env    // for kura
	}{
		{"X25519", k1.recipient, k1.file, Env{Getenv: vars(KeyFileEnv, k1.file)}},
		{"SSH ed25519", testEd25519().recipient, edKey, Env{Getenv: vars(SSHKeyFileEnv, edKey)}},
		{"SSH RSA", testRSA().recipient, rsaKey, Env{Getenv: vars(SSHKeyFileEnv, rsaKey)}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/age encrypts, kura unwraps", func(t *testing.T) {
			dataKey := make([]byte, 32)
			rand.Read(dataKey)
			recipients := writeFile(t, filepath.Join(t.TempDir(), "recipients"), tt.recipient+"\n")
			enc := runAge(t, ageCmd, dataKey, "-a", "-R", recipients)
			s := keys.Stanza{Type: keys.Age, Recipient: tt.recipient, Enc: string(enc)}
			got, err := NewIdentities(tt.env).Unwrap(&s)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, dataKey) {
				t.Fatal("wrong data key")
			}
		})
		t.Run(tt.name+"/kura wraps, age decrypts", func(t *testing.T) {
			dataKey := make([]byte, 32)
			rand.Read(dataKey)
			s, err := mustParse(t, tt.recipient).Wrap(dataKey)
			if err != nil {
				t.Fatal(err)
			}
			got := runAge(t, ageCmd, []byte(s.Enc), "-d", "-i", tt.idFile)
			if !bytes.Equal(got, dataKey) {
				t.Fatal("wrong data key")
			}
		})
	}

	t.Run("age -a -r, as the brief has it", func(t *testing.T) {
		dataKey := make([]byte, 32)
		rand.Read(dataKey)
		enc := runAge(t, ageCmd, dataKey, "-a", "-r", k1.recipient)
		checkArmor(t, string(enc))
		s := keys.Stanza{Type: keys.Age, Recipient: k1.recipient, Enc: string(enc)}
		got, err := NewIdentities(Env{Getenv: vars(KeyEnv, k1.identity)}).Unwrap(&s)
		if err != nil || !bytes.Equal(got, dataKey) {
			t.Fatalf("Unwrap: %v", err)
		}
	})
}

// TestKeyCmdRealProcess runs SOPS_AGE_KEY_CMD as a real process through
// DefaultEnv's runner: quoting survives, and the command is told the
// recipient in its environment.
func TestKeyCmdRealProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	dir := t.TempDir()
	keyFile := filepath.Join(repo, "testdata", "keys", "age-all-identities.txt")
	logFile := filepath.Join(dir, "recipients log")
	cmd := shellQuote(exe) + " kura-age-helper " + shellQuote(keyFile) + " " + shellQuote(logFile)

	env := DefaultEnv()
	env.Getenv = vars(KeyCmdEnv, cmd)
	env.HomeDir, env.ConfigDir, env.Terminal = "", "", nil
	ids := NewIdentities(env)
	for _, k := range []testKey{k1, k2, k1} {
		s, p := stanzaFor(t, k.recipient)
		unwrapOK(t, ids, s, p)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := k1.recipient + "\n" + k2.recipient + "\n"; string(log) != want {
		t.Errorf("the command saw recipients %q, want %q", log, want)
	}
}

// shellQuote quotes a word for the *_CMD variables' shell-style splitting.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
