package age

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"

	"github.com/kura-secrets/kura/pkg/keys"
)

// sshKey is an SSH key pair generated for a test, in the files ssh-keygen
// would write.
type sshKey struct {
	private   string // OpenSSH PEM, unencrypted
	recipient string // authorized_keys line, trimmed
	key       any    // the crypto private key
}

func newSSHKey(priv any, pub any) sshKey {
	block, err := ssh.MarshalPrivateKey(priv, "kura test")
	if err != nil {
		panic(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return sshKey{
		private:   string(pem.EncodeToMemory(block)),
		recipient: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub))) + " kura test",
		key:       priv,
	}
}

var testEd25519 = sync.OnceValue(func() sshKey {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return newSSHKey(priv, pub)
})

var testRSA = sync.OnceValue(func() sshKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return newSSHKey(priv, &priv.PublicKey)
})

// TestRoundTrip wraps payloads for each kind of recipient and unwraps them
// with the matching identity, found where a user would keep it.
func TestRoundTrip(t *testing.T) {
	x25519, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	hybrid, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		recipient string
		env       func(t *testing.T) Env
	}{
		{"X25519", x25519.Recipient().String(), func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, x25519.String())}
		}},
		{"post-quantum hybrid", hybrid.Recipient().String(), func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, hybrid.String())}
		}},
		{"SSH ed25519 in ~/.ssh", testEd25519().recipient, func(t *testing.T) Env {
			home := t.TempDir()
			writeFile(t, filepath.Join(home, ".ssh", "id_ed25519"), testEd25519().private)
			return Env{Getenv: vars(), HomeDir: home}
		}},
		{"SSH RSA in ~/.ssh", testRSA().recipient, func(t *testing.T) Env {
			home := t.TempDir()
			writeFile(t, filepath.Join(home, ".ssh", "id_rsa"), testRSA().private)
			return Env{Getenv: vars(), HomeDir: home}
		}},
		{"SSH ed25519 in " + SSHKeyFileEnv, testEd25519().recipient, func(t *testing.T) Env {
			path := writeFile(t, filepath.Join(t.TempDir(), "key"), testEd25519().private)
			return Env{Getenv: vars(SSHKeyFileEnv, path)}
		}},
		{"SSH RSA from " + SSHKeyCmdEnv, testRSA().recipient, func(t *testing.T) Env {
			return Env{
				Getenv: vars(SSHKeyCmdEnv, "vault read -field=key secret/ssh"),
				Run: func(argv, extra []string) ([]byte, error) {
					return []byte(testRSA().private), nil
				},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Surrounding space is not part of the recipient.
			r, err := ParseRecipient("  " + tt.recipient + "\n")
			if err != nil {
				t.Fatal(err)
			}
			if r.Identity() != tt.recipient {
				t.Errorf("Identity() = %q, want %q", r.Identity(), tt.recipient)
			}
			ids := NewIdentities(tt.env(t))
			for _, size := range []int{32, 33} {
				payload := make([]byte, size)
				rand.Read(payload)
				s, err := r.Wrap(payload)
				if err != nil {
					t.Fatal(err)
				}
				if s.Type != keys.Age || s.Recipient != tt.recipient || s.Identity() != tt.recipient {
					t.Errorf("stanza = %+v", s)
				}
				checkArmor(t, s.Enc)
				got, err := ids.Unwrap(&s)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, payload) {
					t.Fatalf("round trip changed the payload")
				}
			}
		})
	}
}

// checkArmor checks enc is laid out exactly as sops writes it.
func checkArmor(t *testing.T, enc string) {
	t.Helper()
	const begin, end = "-----BEGIN AGE ENCRYPTED FILE-----\n", "-----END AGE ENCRYPTED FILE-----\n"
	if !strings.HasPrefix(enc, begin) || !strings.HasSuffix(enc, end) {
		t.Fatalf("enc is not an armored age file with a final newline:\n%s", enc)
	}
	body := strings.TrimSuffix(strings.TrimPrefix(enc, begin), end)
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i, line := range lines {
		if len(line) != 64 && (i != len(lines)-1 || len(line) == 0 || len(line) > 64) {
			t.Fatalf("line %d is %d columns, want 64 (or fewer on the last)", i+1, len(line))
		}
	}
	all, err := base64.StdEncoding.DecodeString(strings.Join(lines, ""))
	if err != nil {
		t.Fatalf("armor body: %v", err)
	}
	if !bytes.HasPrefix(all, []byte("age-encryption.org/v1\n")) {
		t.Fatalf("armor does not hold an age v1 file")
	}
}

// TestWrapIsRandomised: two wraps of one payload differ (fresh file key and
// ephemeral share each time), as with sops.
func TestWrapIsRandomised(t *testing.T) {
	r, err := ParseRecipient(corpusKey(t, "age1").recipient)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 32)
	a, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	if a.Enc == b.Enc {
		t.Fatal("two wraps gave the same enc")
	}
}

// TestArmorMatchesCorpus: the layout of what kura writes is the layout of
// what sops wrote, line lengths included, for a 32-byte data key.
func TestArmorMatchesCorpus(t *testing.T) {
	files, err := corpusFiles()
	if err != nil {
		t.Fatal(err)
	}
	shape := func(enc string) []int {
		var n []int
		for line := range strings.Lines(enc) {
			n = append(n, len(line))
		}
		return n
	}
	r, err := ParseRecipient(corpusKey(t, "age1").recipient)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := r.Wrap(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.groups {
			continue
		}
		theirs := f.stanzas[0].Enc
		checkArmor(t, theirs)
		if got, want := shape(ours.Enc), shape(theirs); !slices.Equal(got, want) {
			t.Fatalf("%s: line lengths %v, sops wrote %v", f.name, got, want)
		}
		return
	}
	t.Fatal("no single-group corpus file")
}
