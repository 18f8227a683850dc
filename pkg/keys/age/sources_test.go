package age

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/ssh"

	"github.com/kura-secrets/kura/pkg/keys"
)

// stanzaFor wraps a fresh 32-byte payload for recipient.
func stanzaFor(t *testing.T, recipient string) (keys.Stanza, []byte) {
	t.Helper()
	r, err := ParseRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 32)
	rand.Read(payload)
	s, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	return s, payload
}

func unwrapOK(t *testing.T, ids *Identities, s keys.Stanza, want []byte) {
	t.Helper()
	got, err := ids.Unwrap(&s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("wrong payload")
	}
}

// TestIdentityText covers the identity text grammar through the sources
// that use it.
func TestIdentityText(t *testing.T) {
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	s1, p1 := stanzaFor(t, k1.recipient)
	s2, p2 := stanzaFor(t, k2.recipient)
	pluginID := plugin.EncodeIdentity("kuratest", []byte("unused"))
	tests := []struct {
		name string
		env  func(t *testing.T) Env
	}{
		{"SOPS_AGE_KEY: two on a line, comments and blank lines", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, "# mine\n\n"+k1.identity+" \t "+k2.identity+"\n")}
		}},
		{"SOPS_AGE_KEY: one per line", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, k1.identity+"\n"+k2.identity)}
		}},
		{"SOPS_AGE_KEY_FILE: CRLF line ends", func(t *testing.T) Env {
			path := writeFile(t, filepath.Join(t.TempDir(), "keys.txt"), "# c\r\n"+k1.identity+"\r\n"+k2.identity+"\r\n")
			return Env{Getenv: vars(KeyFileEnv, path)}
		}},
		{"SOPS_AGE_KEY_FILE and the default keys file together", func(t *testing.T) Env {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "sops", "age", "keys.txt"), k1.identity+"\n")
			return Env{Getenv: vars(KeyFileEnv, k2.file), ConfigDir: dir}
		}},
		{"SOPS_AGE_KEY and SOPS_AGE_KEY_CMD together", func(t *testing.T) Env {
			return Env{
				Getenv: vars(KeyEnv, k1.identity, KeyCmdEnv, "get-key"),
				Run: func(argv, extra []string) ([]byte, error) {
					return []byte(k2.identity + "\n"), nil
				},
			}
		}},
		{"a plugin identity is not run when a native one matches", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, pluginID+"\n"+k1.identity+"\n"+k2.identity)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := NewIdentities(tt.env(t))
			unwrapOK(t, ids, s1, p1)
			unwrapOK(t, ids, s2, p2)
		})
	}
}

// TestSourceErrors: a source that is set but broken is reported by name
// and line, never with key material, and is not "not mine".
func TestSourceErrors(t *testing.T) {
	k1 := corpusKey(t, "age1")
	s1, _ := stanzaFor(t, k1.recipient)
	// A key with one character changed: a checksum error on line 3.
	swap := "Q"
	if k1.identity[40] == 'Q' {
		swap = "P"
	}
	bad := k1.identity[:40] + swap + k1.identity[41:]
	if bad == k1.identity {
		t.Fatal("bad key is not bad")
	}
	tests := []struct {
		name    string
		env     func(t *testing.T) Env
		want    []string // in the message
		notWant []string // never in the message
		is      error
	}{
		{"missing SOPS_AGE_KEY_FILE", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyFileEnv, "/nonexistent/kura/keys.txt")}
		}, []string{"SOPS_AGE_KEY_FILE=/nonexistent/kura/keys.txt", k1.recipient}, nil, fs.ErrNotExist},
		{"malformed line in SOPS_AGE_KEY_FILE", func(t *testing.T) Env {
			path := writeFile(t, filepath.Join(t.TempDir(), "keys.txt"), "# one\n\n"+bad+"\n")
			return Env{Getenv: vars(KeyFileEnv, path)}
		}, []string{"SOPS_AGE_KEY_FILE=", "line 3", "malformed X25519 identity"}, []string{bad, bad[16:40]}, nil},
		{"malformed word in SOPS_AGE_KEY", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, "# c\n"+k1.identity+" "+bad)}
		}, []string{"SOPS_AGE_KEY", "line 2"}, []string{bad[16:40], k1.identity[16:40]}, nil},
		{"trailing space in the default keys file", func(t *testing.T) Env {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "sops", "age", "keys.txt"), k1.identity+" \n")
			return Env{Getenv: vars(), ConfigDir: dir}
		}, []string{"keys.txt", "line 1", "white space around the identity"}, []string{k1.identity[16:40]}, nil},
		{"a recipient where an identity belongs", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyEnv, k1.recipient)}
		}, []string{"line 1", "not an identity"}, nil, nil},
		{"failing SOPS_AGE_KEY_CMD", func(t *testing.T) Env {
			return Env{
				Getenv: vars(KeyCmdEnv, "secret-tool lookup --token s3cr3t age"),
				Run: func(argv, extra []string) ([]byte, error) {
					return nil, errors.New("exit status 3")
				},
			}
		}, []string{"SOPS_AGE_KEY_CMD", "secret-tool", "exit status 3"}, []string{"s3cr3t"}, nil},
		{"unsplittable SOPS_AGE_KEY_CMD", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyCmdEnv, "get 'key"), Run: func([]string, []string) ([]byte, error) {
				t.Fatal("ran a command that does not split")
				return nil, nil
			}}
		}, []string{"SOPS_AGE_KEY_CMD", "unterminated"}, nil, nil},
		{"empty SOPS_AGE_KEY_CMD", func(t *testing.T) Env {
			return Env{Getenv: vars(KeyCmdEnv, " # nothing")}
		}, []string{"SOPS_AGE_KEY_CMD", "empty"}, nil, nil},
		{"missing SOPS_AGE_SSH_PRIVATE_KEY_FILE", func(t *testing.T) Env {
			return Env{Getenv: vars(SSHKeyFileEnv, "/nonexistent/id")}
		}, []string{"SOPS_AGE_SSH_PRIVATE_KEY_FILE=/nonexistent/id"}, nil, fs.ErrNotExist},
		{"an age identity in SOPS_AGE_SSH_PRIVATE_KEY_FILE", func(t *testing.T) Env {
			return Env{Getenv: vars(SSHKeyFileEnv, k1.file)}
		}, []string{"SOPS_AGE_SSH_PRIVATE_KEY_FILE=", "not a usable SSH private key"}, []string{k1.identity[16:40]}, nil},
		{"SOPS_AGE_SSH_PRIVATE_KEY_CMD printing an encrypted key", func(t *testing.T) Env {
			block, err := ssh.MarshalPrivateKeyWithPassphrase(testEd25519().key, "", []byte("pw"))
			if err != nil {
				t.Fatal(err)
			}
			return Env{
				Getenv: vars(SSHKeyCmdEnv, "get-ssh-key"),
				Run:    func([]string, []string) ([]byte, error) { return pem.EncodeToMemory(block), nil },
			}
		}, []string{"SOPS_AGE_SSH_PRIVATE_KEY_CMD", "passphrase-protected"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewIdentities(tt.env(t)).Unwrap(&s1)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, keys.ErrNoIdentity) {
				t.Errorf("a broken source gave ErrNoIdentity: %v", err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v: %v", tt.is, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}

// TestBrokenSourceDoesNotBlockOthers: as in sops, a stanza that a working
// source opens is unwrapped even when another source is broken.
func TestBrokenSourceDoesNotBlockOthers(t *testing.T) {
	k1 := corpusKey(t, "age1")
	s1, p1 := stanzaFor(t, k1.recipient)
	ids := NewIdentities(Env{Getenv: vars(KeyFileEnv, "/nonexistent/keys.txt", KeyEnv, k1.identity)})
	unwrapOK(t, ids, s1, p1)
}

// TestNoIdentitiesAtAll: with nothing set up, every stanza is "not mine",
// and the message says where keys are looked for.
func TestNoIdentitiesAtAll(t *testing.T) {
	s1, _ := stanzaFor(t, corpusKey(t, "age1").recipient)
	dir := t.TempDir()
	_, err := NewIdentities(Env{Getenv: vars(), HomeDir: dir, ConfigDir: dir}).Unwrap(&s1)
	if !errors.Is(err, keys.ErrNoIdentity) {
		t.Fatalf("err = %v, want ErrNoIdentity", err)
	}
	for _, w := range []string{KeyFileEnv, filepath.Join(dir, "sops", "age", "keys.txt")} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// TestLazyAndCached: nothing is read before the first Unwrap, files are read
// once, and the commands run once per recipient.
func TestLazyAndCached(t *testing.T) {
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	getenvCalls := 0
	runs := map[string]int{}
	env := Env{
		Getenv: func(k string) string {
			getenvCalls++
			return vars(KeyCmdEnv, "keys-for", SSHKeyCmdEnv, "ssh-key-for")(k)
		},
		Run: func(argv, extra []string) ([]byte, error) {
			recipient := strings.TrimPrefix(extra[0], RecipientEnv+"=")
			runs[argv[0]+" "+recipient]++
			if argv[0] == "ssh-key-for" {
				return nil, errors.New("exit status 1")
			}
			return []byte(k1.identity + "\n" + k2.identity + "\n"), nil
		},
	}
	ids := NewIdentities(env)
	if getenvCalls != 0 {
		t.Fatalf("NewIdentities read %d variables", getenvCalls)
	}
	s1, p1 := stanzaFor(t, k1.recipient)
	s1b, p1b := stanzaFor(t, k1.recipient)
	s2, p2 := stanzaFor(t, k2.recipient)
	unwrapOK(t, ids, s1, p1)
	after := getenvCalls
	unwrapOK(t, ids, s1b, p1b)
	unwrapOK(t, ids, s2, p2)
	unwrapOK(t, ids, s1, p1)
	if getenvCalls != after {
		t.Errorf("variables read again after the first Unwrap")
	}
	want := map[string]int{
		"keys-for " + k1.recipient:    1,
		"keys-for " + k2.recipient:    1,
		"ssh-key-for " + k1.recipient: 1,
		"ssh-key-for " + k2.recipient: 1,
	}
	if len(runs) != len(want) {
		t.Errorf("runs = %v, want %v", runs, want)
	}
	for k, n := range want {
		if runs[k] != n {
			t.Errorf("runs = %v, want %v", runs, want)
			break
		}
	}
}

func TestNotAnAgeStanza(t *testing.T) {
	_, err := NewIdentities(Env{}).Unwrap(&keys.Stanza{Type: keys.PGP})
	if err == nil || errors.Is(err, keys.ErrNoIdentity) {
		t.Fatalf("err = %v", err)
	}
}

// passphraseFile returns text encrypted with a passphrase, as age -p
// writes it, plain or armored.
func passphraseFile(t *testing.T, text, pass string, armored bool) string {
	t.Helper()
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10) // fast for tests
	var buf bytes.Buffer
	var dst interface {
		Write([]byte) (int, error)
		Close() error
	} = nopCloser{&buf}
	if armored {
		dst = armor.NewWriter(&buf)
	}
	w, err := age.Encrypt(dst, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

// TestPassphraseProtectedKeyFile: an identity file encrypted with age -p is
// opened with a passphrase from the terminal, asked once and only when the
// plain identities did not match.
func TestPassphraseProtectedKeyFile(t *testing.T) {
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	s1, p1 := stanzaFor(t, k1.recipient)
	s2, p2 := stanzaFor(t, k2.recipient)
	keysText := readRepoFile(t, "testdata/keys/age-all-identities.txt")
	for _, armored := range []bool{false, true} {
		name := map[bool]string{false: "binary", true: "armored"}[armored]
		file := passphraseFile(t, keysText, "correct horse", armored)
		path := writeFile(t, filepath.Join(t.TempDir(), "keys.age"), file)

		t.Run(name+"/SOPS_AGE_KEY_FILE", func(t *testing.T) {
			term := &fakeTerminal{answers: []string{"correct horse"}}
			ids := NewIdentities(Env{Getenv: vars(KeyFileEnv, path), Terminal: term})
			unwrapOK(t, ids, s1, p1)
			unwrapOK(t, ids, s2, p2)
			if len(term.prompts) != 1 || !strings.Contains(term.prompts[0], path) {
				t.Errorf("prompts = %q, want one naming the file", term.prompts)
			}
		})
		t.Run(name+"/SOPS_AGE_KEY_CMD", func(t *testing.T) {
			term := &fakeTerminal{answers: []string{"correct horse"}}
			ids := NewIdentities(Env{
				Getenv:   vars(KeyCmdEnv, "cat keys.age"),
				Run:      func([]string, []string) ([]byte, error) { return []byte(file), nil },
				Terminal: term,
			})
			unwrapOK(t, ids, s1, p1)
		})
		t.Run(name+"/no prompt when a plain identity matches", func(t *testing.T) {
			term := &fakeTerminal{}
			ids := NewIdentities(Env{Getenv: vars(KeyFileEnv, path, KeyEnv, k1.identity), Terminal: term})
			unwrapOK(t, ids, s1, p1)
			if len(term.prompts) != 0 {
				t.Errorf("prompted %q", term.prompts)
			}
		})
	}

	path := writeFile(t, filepath.Join(t.TempDir(), "keys.age"), passphraseFile(t, keysText, "correct horse", true))
	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := NewIdentities(Env{Getenv: vars(KeyFileEnv, path), Terminal: &fakeTerminal{answers: []string{"battery staple"}}}).Unwrap(&s1)
		if err == nil || !strings.Contains(err.Error(), "incorrect passphrase") || errors.Is(err, keys.ErrNoIdentity) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no terminal", func(t *testing.T) {
		_, err := NewIdentities(Env{Getenv: vars(KeyFileEnv, path)}).Unwrap(&s1)
		if !errors.Is(err, ErrNoTerminal) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrNoTerminal naming the file", err)
		}
	})
	t.Run("encrypted to a recipient", func(t *testing.T) {
		s, _ := stanzaFor(t, k2.recipient) // an age file not made with a passphrase
		p := writeFile(t, filepath.Join(t.TempDir(), "keys.age"), s.Enc)
		term := &fakeTerminal{}
		_, err := NewIdentities(Env{Getenv: vars(KeyFileEnv, p), Terminal: term}).Unwrap(&s1)
		if err == nil || !strings.Contains(err.Error(), "not with a passphrase") || len(term.prompts) != 0 {
			t.Fatalf("err = %v, prompts = %q", err, term.prompts)
		}
	})
}

// TestPassphraseProtectedSSHKey: an encrypted SSH key asks for its
// passphrase only for a stanza addressed to it.
func TestPassphraseProtectedSSHKey(t *testing.T) {
	ed := testEd25519()
	block, err := ssh.MarshalPrivateKeyWithPassphrase(ed.key, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	edPath := writeFile(t, filepath.Join(t.TempDir(), "id"), string(pem.EncodeToMemory(block)))

	// The old PEM encryption carries no public key: it comes from .pub.
	rsaKey := testRSA()
	// EncryptPEMBlock is deprecated, but users still have such keys.
	der := x509.MarshalPKCS1PrivateKey(rsaKey.key.(*rsa.PrivateKey))
	//lint:ignore SA1019 the test needs a key in the legacy format users still have.
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", der, []byte("pw"), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rsaPath := writeFile(t, filepath.Join(dir, "id_rsa"), string(pem.EncodeToMemory(legacy)))
	writeFile(t, rsaPath+".pub", rsaKey.recipient+"\n")
	noPubPath := writeFile(t, filepath.Join(dir, "nopub"), string(pem.EncodeToMemory(legacy)))

	k1 := corpusKey(t, "age1")
	other, _ := stanzaFor(t, k1.recipient)

	for _, tt := range []struct {
		name      string
		path      string
		recipient string
	}{
		{"OpenSSH format", edPath, ed.recipient},
		{"legacy PEM with .pub", rsaPath, rsaKey.recipient},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, p := stanzaFor(t, tt.recipient)
			term := &fakeTerminal{answers: []string{"pw"}}
			ids := NewIdentities(Env{Getenv: vars(SSHKeyFileEnv, tt.path, KeyEnv, k1.identity), Terminal: term})
			// Not addressed to the SSH key: no prompt.
			if _, err := ids.Unwrap(&other); err != nil {
				t.Fatal(err)
			}
			if len(term.prompts) != 0 {
				t.Fatalf("prompted for a stanza not addressed to the key: %q", term.prompts)
			}
			unwrapOK(t, ids, s, p)
			unwrapOK(t, ids, s, p)
			if len(term.prompts) != 1 || !strings.Contains(term.prompts[0], tt.path) {
				t.Errorf("prompts = %q, want one naming the key", term.prompts)
			}
		})
	}
	t.Run("legacy PEM without .pub", func(t *testing.T) {
		_, err := NewIdentities(Env{Getenv: vars(SSHKeyFileEnv, noPubPath)}).Unwrap(&other)
		if err == nil || !strings.Contains(err.Error(), noPubPath+".pub") {
			t.Fatalf("err = %v, want one naming the missing .pub", err)
		}
	})
	t.Run("no terminal", func(t *testing.T) {
		s, _ := stanzaFor(t, ed.recipient)
		_, err := NewIdentities(Env{Getenv: vars(SSHKeyFileEnv, edPath)}).Unwrap(&s)
		if !errors.Is(err, ErrNoTerminal) {
			t.Fatalf("err = %v, want ErrNoTerminal", err)
		}
	})
}
