package pgp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/kura-secrets/kura/pkg/keys"
)

// corpusStanzaFor returns a flat (non-Shamir) corpus stanza for key.
func corpusStanzaFor(t *testing.T, k testKey) corpusStanza {
	t.Helper()
	for _, cs := range allCorpusStanzas(t) {
		if !cs.shamir && strings.EqualFold(cs.st.Fingerprint, k.fp) {
			return cs
		}
	}
	t.Fatalf("no stanza for %s", k.name)
	return corpusStanza{}
}

// TestWrongKey: a stanza for a key the user does not hold is
// ErrNoIdentity, from gpg, from key files, and from both; the message
// names the fingerprint and the key ID the message is for.
func TestWrongKey(t *testing.T) {
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	cs := corpusStanzaFor(t, k2)
	envs := map[string]func(t *testing.T) Env{
		"go":        func(t *testing.T) Env { return goEnv(t, KeyFileEnv, k1.secFile) },
		"gpg":       func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, "pgp1")) },
		"gpg+files": func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, "pgp1"), KeyFileEnv, k1.secFile) },
		// A public key alone is no secret key.
		"go, public key":  func(t *testing.T) Env { return goEnv(t, KeyFileEnv, k2.pubFile) },
		"gpg, public key": func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, k2.pubFile)) },
	}
	for name, mk := range envs {
		t.Run(name, func(t *testing.T) {
			_, err := NewSource(mk(t)).Unwrap(&cs.st)
			mustNoIdentity(t, err)
			msg := err.Error()
			oneLine(t, msg)
			for _, want := range []string{k2.fp, k2.subID} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not mention %s", msg, want)
				}
			}
			t.Log(msg)
		})
	}
}

// TestNoKeysAnywhere: no gpg and no key file is ErrNoIdentity, and the
// message says how to provide a key.
func TestNoKeysAnywhere(t *testing.T) {
	cs := corpusStanzaFor(t, corpusKey(t, "pgp1"))
	for name, env := range map[string]Env{
		"missing SOPS_GPG_EXEC": goEnv(t),
		"gpg not on PATH": {Getenv: vars(), Run: func(argv, _ []string, _ []byte) ([]byte, []byte, error) {
			return nil, nil, &exec.Error{Name: argv[0], Err: exec.ErrNotFound}
		}},
		"no runner": {Getenv: vars()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewSource(env).Unwrap(&cs.st)
			mustNoIdentity(t, err)
			msg := err.Error()
			oneLine(t, msg)
			for _, want := range []string{cs.st.Fingerprint, KeyFileEnv, "import"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not mention %s", msg, want)
				}
			}
			t.Log(msg)
		})
	}
}

// TestMissingPublicKey: Wrap for a key that is nowhere says so clearly,
// naming the fingerprint and where it looked.
func TestMissingPublicKey(t *testing.T) {
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	envs := map[string]func(t *testing.T) Env{
		"gpg":          func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, "pgp1")) },
		"go, key file": func(t *testing.T) Env { return goEnv(t, KeyFileEnv, k1.pubFile) },
		"go, nothing":  func(t *testing.T) Env { return goEnv(t) },
	}
	for name, mk := range envs {
		t.Run(name, func(t *testing.T) {
			r, err := NewSource(mk(t)).ParseRecipient(k2.fp)
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Wrap(randomPayload(t, 32))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			oneLine(t, msg)
			for _, want := range []string{k2.fp, "no public key", "gpg --import", KeyFileEnv} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not mention %q", msg, want)
				}
			}
			t.Log(msg)
		})
	}
}

// TestPassphrase: a protected secret key in a key file asks for its
// passphrase on the terminal, again after a wrong one, and only once per
// run; without a terminal it fails at once, and not as ErrNoIdentity.
func TestPassphrase(t *testing.T) {
	e := newEntity(t, "protected", 0)
	protect(t, e, "correct horse")
	file := keyFileOf(t, "protected.asc", armoredSecret(t, e))
	fp := fingerprint(e.PrimaryKey)

	// Wrapping needs only the public key, which is not protected.
	r, err := NewSource(goEnv(t, KeyFileEnv, file)).ParseRecipient(fp)
	if err != nil {
		t.Fatal(err)
	}
	payload := randomPayload(t, 32)
	st, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	st2, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("terminal", func(t *testing.T) {
		term := &fakeTerminal{answers: []string{"wrong", "correct horse"}}
		var stderr bytes.Buffer
		env := goEnv(t, KeyFileEnv, file)
		env.Terminal, env.Stderr = term, &stderr
		src := NewSource(env)
		got, err := src.Unwrap(&st)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("%x, %v", got, err)
		}
		if len(term.prompts) != 2 || !strings.Contains(term.prompts[0], fp) || !strings.Contains(term.prompts[0], file) {
			t.Errorf("prompts %q", term.prompts)
		}
		if !strings.Contains(stderr.String(), "wrong passphrase") {
			t.Errorf("stderr %q", stderr.String())
		}
		// Unlocked for the rest of the run.
		if got, err := src.Unwrap(&st2); err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("second stanza: %x, %v", got, err)
		}
		if len(term.prompts) != 2 {
			t.Errorf("asked again: %q", term.prompts)
		}
	})

	t.Run("no terminal", func(t *testing.T) {
		_, err := NewSource(goEnv(t, KeyFileEnv, file)).Unwrap(&st)
		mustPlainError(t, err)
		if !errors.Is(err, ErrNoTerminal) || !strings.Contains(err.Error(), "passphrase-protected") {
			t.Fatalf("%v: want ErrNoTerminal", err)
		}
		oneLine(t, err.Error())
		t.Log(err)
	})

	t.Run("three wrong", func(t *testing.T) {
		term := &fakeTerminal{answers: []string{"a", "b", "c", "correct horse"}}
		env := goEnv(t, KeyFileEnv, file)
		env.Terminal = term
		src := NewSource(env)
		_, err := src.Unwrap(&st)
		mustPlainError(t, err)
		if !strings.Contains(err.Error(), "wrong passphrase") || len(term.prompts) != maxTries {
			t.Fatalf("%v after %d prompts", err, len(term.prompts))
		}
		// Given up on for the run: no more prompts.
		_, err = src.Unwrap(&st2)
		mustPlainError(t, err)
		if len(term.prompts) != maxTries {
			t.Errorf("asked again after giving up: %q", term.prompts)
		}
	})

	t.Run("terminal fails", func(t *testing.T) {
		env := goEnv(t, KeyFileEnv, file)
		env.Terminal = &fakeTerminal{} // EOF at once, as on ^D
		_, err := NewSource(env).Unwrap(&st)
		mustPlainError(t, err)
		if !strings.Contains(err.Error(), "reading the passphrase") {
			t.Fatal(err)
		}
	})
}

// TestGPGCannotAsk: a protected key in gpg, whose pinentry has no
// terminal, is a gpg failure (not "no identity"), and a key file then
// still opens the stanza.
func TestGPGCannotAsk(t *testing.T) {
	e := newEntity(t, "in gpg", 0)
	protect(t, e, "pinentry")
	file := keyFileOf(t, "gpg.asc", armoredSecret(t, e))
	home := gnupgHome(t, file)
	r, err := NewSource(gpgEnv(t, home)).ParseRecipient(fingerprint(e.PrimaryKey))
	if err != nil {
		t.Fatal(err)
	}
	payload := randomPayload(t, 32)
	st, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewSource(gpgEnv(t, home)).Unwrap(&st)
	mustPlainError(t, err)
	oneLine(t, err.Error())
	t.Log(err)

	env := gpgEnv(t, home, KeyFileEnv, file)
	env.Terminal = &fakeTerminal{answers: []string{"pinentry"}}
	if got, err := NewSource(env).Unwrap(&st); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("with the key file: %x, %v", got, err)
	}
}

// fakeGPG is an Env.Run that answers every gpg run with the given
// output and standard error, and as a gpg that failed unless ok.
func fakeGPG(stdout, stderr string, ok bool) func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
	return func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
		var err error
		if !ok {
			err = &exec.ExitError{}
		}
		return []byte(stdout), []byte(stderr), err
	}
}

// TestGPGOutcomes: what gpg reports decides between success, ErrNoIdentity
// and a plain error, and a failed gpg leaves the key files to try.
func TestGPGOutcomes(t *testing.T) {
	k2 := corpusKey(t, "pgp2")
	cs := corpusStanzaFor(t, k2)
	key := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name    string
		run     func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error)
		ok      bool
		noIdent bool
		says    string
	}{
		{"decrypted", fakeGPG(key, statusDecrypted, true), true, false, ""},
		{"no secret key", fakeGPG("", statusNoSecKey, false), false, true, "gpg has no secret key"},
		{"cannot ask", fakeGPG("", statusNoPinentry, false), false, false, "Inappropriate ioctl"},
		{"bad passphrase", fakeGPG("", statusBadPassphrase, false), false, false, "bad passphrase"},
		{"plaintext message", fakeGPG(key, statusPlain, true), false, false, "did not report a successful decryption"},
		{"not gpg", fakeGPG(key, "", true), false, false, "GnuPG-compatible"},
		{"nothing decrypted", fakeGPG("", statusDecrypted, true), false, false, "decrypted nothing"},
		{"data but failed", fakeGPG(key, statusDecrypted+"[GNUPG:] BADMDC\n", false), false, false, "gpg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := goEnv(t)
			env.Run = tc.run
			got, err := NewSource(env).Unwrap(&cs.st)
			switch {
			case tc.ok:
				if err != nil || string(got) != key {
					t.Fatalf("%q, %v", got, err)
				}
				return
			case tc.noIdent:
				mustNoIdentity(t, err)
			default:
				mustPlainError(t, err)
			}
			if got != nil {
				t.Errorf("payload returned with an error")
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%q does not say %q", err, tc.says)
			}
			oneLine(t, err.Error())

			// Whatever gpg did, a key file that holds the key opens it.
			env.Getenv = vars(KeyFileEnv, k2.secFile)
			payload, err := NewSource(env).Unwrap(&cs.st)
			if err != nil {
				t.Fatal(err)
			}
			checkPayload(t, cs, payload)
		})
	}
}

// TestDamaged: a damaged message is a plain error, never ErrNoIdentity,
// through gpg and through Go.
func TestDamaged(t *testing.T) {
	k2 := corpusKey(t, "pgp2")
	cs := corpusStanzaFor(t, k2)
	enc := cs.st.Enc
	lines := strings.Split(enc, "\n")
	// Flip a character in the encrypted data (the last base64 line before
	// the checksum), which only the integrity check can catch.
	body := lines[len(lines)-3]
	flipped := append([]string{}, lines...)
	c := byte('A')
	if body[10] == 'A' {
		c = 'B'
	}
	flipped[len(lines)-3] = body[:10] + string(c) + body[11:]
	cases := map[string]string{
		"not armored":         "hello",
		"empty":               "",
		"signature":           strings.ReplaceAll(enc, "PGP MESSAGE", "PGP SIGNATURE"),
		"truncated":           strings.Join(lines[:3], "\n") + "\n-----END PGP MESSAGE-----",
		"ciphertext modified": strings.Join(flipped, "\n"),
		"no encrypted data":   "-----BEGIN PGP MESSAGE-----\n\nyxJiAAAAAABoZWxsbyB3b3JsZAo=\n-----END PGP MESSAGE-----",
	}
	envs := map[string]func(t *testing.T) Env{
		"go": func(t *testing.T) Env { return goEnv(t, KeyFileEnv, k2.secFile) },
	}
	if _, err := exec.LookPath("gpg"); err == nil || os.Getenv("CI") != "" {
		envs["gpg"] = func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, "pgp2")) }
	}
	for envName, mk := range envs {
		for name, enc := range cases {
			t.Run(envName+"/"+name, func(t *testing.T) {
				st := cs.st
				st.Enc = enc
				got, err := NewSource(mk(t)).Unwrap(&st)
				mustPlainError(t, err)
				if got != nil {
					t.Error("payload returned with an error")
				}
				if !strings.Contains(err.Error(), k2.fp) {
					t.Errorf("%q does not name the key", err)
				}
				if envName == "go" && name == "ciphertext modified" && !strings.Contains(err.Error(), "integrity") {
					t.Errorf("%q does not say the integrity check failed", err)
				}
				oneLine(t, err.Error())
				t.Log(err)
			})
		}
	}
	if _, err := NewSource(goEnv(t)).Unwrap(&keys.Stanza{Type: keys.Age}); err == nil {
		t.Error("an age stanza was accepted")
	}
	if _, err := NewSource(goEnv(t)).Unwrap(nil); err == nil {
		t.Error("a nil stanza was accepted")
	}
}

// TestBrokenKeyFile: a key file that cannot be read is named in the error
// and prevents ErrNoIdentity (the key may be in it), but does not stop a
// good file from working.
func TestBrokenKeyFile(t *testing.T) {
	k2 := corpusKey(t, "pgp2")
	cs := corpusStanzaFor(t, k2)
	missing := filepath.Join(t.TempDir(), "missing.asc")
	garbage := keyFileOf(t, "garbage.asc", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot base64 at all!\n-----END PGP PRIVATE KEY BLOCK-----\n"))
	for _, bad := range []string{missing, garbage} {
		_, err := NewSource(goEnv(t, KeyFileEnv, bad)).Unwrap(&cs.st)
		mustPlainError(t, err)
		if !strings.Contains(err.Error(), KeyFileEnv+"="+bad) {
			t.Errorf("%q does not name the file", err)
		}
		oneLine(t, err.Error())
		t.Log(err)

		list := strings.Join([]string{bad, k2.secFile}, string(os.PathListSeparator))
		payload, err := NewSource(goEnv(t, KeyFileEnv, list)).Unwrap(&cs.st)
		if err != nil {
			t.Fatal(err)
		}
		checkPayload(t, cs, payload)
	}
}

// TestSeveralKeysInOneFile: armored blocks may follow one another in one
// key file, with text around them.
func TestSeveralKeysInOneFile(t *testing.T) {
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	text := "Test keys, do not use\n" + readRepoFileAbs(t, k1.secFile) + "\n  " + readRepoFileAbs(t, k2.secFile)
	file := keyFileOf(t, "both.asc", []byte(text))
	src := NewSource(goEnv(t, KeyFileEnv, file))
	for _, cs := range allCorpusStanzas(t) {
		payload, err := src.Unwrap(&cs.st)
		if err != nil {
			t.Fatalf("%s: %v", cs.file, err)
		}
		checkPayload(t, cs, payload)
	}
}

// TestKeyValidity: Wrap refuses revoked and expired keys, and keys whose
// encryption subkeys are, naming the fingerprint and the reason.
func TestKeyValidity(t *testing.T) {
	at := func(d time.Duration) func() time.Time {
		return func() time.Time { return genTime.Add(d) }
	}
	type keyCase struct {
		name string
		make func(t *testing.T) []byte // the public key file
		now  func() time.Time
		says string
	}
	cases := []keyCase{
		{"valid", func(t *testing.T) []byte { return armoredPublic(t, newEntity(t, "ok", 0)) }, at(time.Hour), ""},
		{"expired", func(t *testing.T) []byte { return armoredPublic(t, newEntity(t, "exp", 24*time.Hour)) }, at(48 * time.Hour), "expired on 2026-01-03"},
		{"not yet expired", func(t *testing.T) []byte { return armoredPublic(t, newEntity(t, "exp", 24*time.Hour)) }, at(time.Hour), ""},
		{"revoked", func(t *testing.T) []byte {
			e := newEntity(t, "rev", 0)
			if err := e.RevokeKey(packet.KeySuperseded, "test", &packet.Config{Time: at(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			return armoredPublic(t, e)
		}, at(time.Hour), "is revoked"},
		{"subkey revoked", func(t *testing.T) []byte {
			e := newEntity(t, "subrev", 0)
			if err := e.RevokeSubkey(&e.Subkeys[0], packet.KeySuperseded, "test", &packet.Config{Time: at(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			return armoredPublic(t, e)
		}, at(time.Hour), "no valid encryption key (its encryption subkey is revoked)"},
		{"no encryption subkey", func(t *testing.T) []byte {
			e := newEntity(t, "nosub", 0)
			e.Subkeys = nil
			return armoredPublic(t, e)
		}, at(time.Hour), "no valid encryption key (it has no encryption subkey)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.make(t)
			list, err := parseKeys(data)
			if err != nil {
				t.Fatal(err)
			}
			fp := fingerprint(list[0].PrimaryKey)
			env := goEnv(t, KeyFileEnv, keyFileOf(t, "pub.asc", data))
			env.Now = tc.now
			r, err := NewSource(env).ParseRecipient(fp)
			if err != nil {
				t.Fatal(err)
			}
			st, err := r.Wrap(randomPayload(t, 32))
			if tc.says == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.now().UTC().Format(time.RFC3339); st.CreatedAt != want {
					t.Errorf("created_at %q, want %q", st.CreatedAt, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), fp) {
				t.Fatalf("%v: want %q", err, tc.says)
			}
			oneLine(t, err.Error())
			t.Log(err)
		})
	}
}

// TestNoSecretsInErrors: whatever goes wrong with a secret key file, no
// part of the key appears in an error.
func TestNoSecretsInErrors(t *testing.T) {
	k1 := corpusKey(t, "pgp1")
	sec := readRepoFileAbs(t, k1.secFile)
	var secretLines []string
	for _, l := range strings.Split(sec, "\n") {
		if len(l) >= 16 && !strings.HasPrefix(l, "-----") {
			secretLines = append(secretLines, l)
		}
	}
	lines := strings.Split(sec, "\n")
	variants := map[string]string{
		"truncated":      strings.Join(lines[:len(lines)/2], "\n"),
		"no end":         strings.Join(lines[:len(lines)-2], "\n"),
		"message type":   strings.ReplaceAll(sec, "PRIVATE KEY BLOCK", "MESSAGE"),
		"corrupted line": strings.Replace(sec, lines[5], strings.Repeat("A", len(lines[5])), 1),
	}
	cs := corpusStanzaFor(t, corpusKey(t, "pgp2"))
	for name, text := range variants {
		t.Run(name, func(t *testing.T) {
			file := keyFileOf(t, "k.asc", []byte(text))
			_, err := NewSource(goEnv(t, KeyFileEnv, file)).Unwrap(&cs.st)
			r, _ := NewSource(goEnv(t, KeyFileEnv, file)).ParseRecipient(k1.fp)
			_, werr := r.Wrap(randomPayload(t, 32))
			for _, e := range []error{err, werr} {
				if e == nil {
					continue
				}
				oneLine(t, e.Error())
				for _, l := range secretLines {
					if strings.Contains(e.Error(), l[:16]) {
						t.Fatalf("error quotes the key file: %v", e)
					}
				}
			}
		})
	}
}

// TestParseSpec covers the fingerprint forms accepted and refused.
func TestParseSpec(t *testing.T) {
	fp := "49B6670A3F6E61BEE80BAA2431D22A9AB7FDAFBD"
	for in, want := range map[string]keySpec{
		fp: {text: fp, hex: fp},
		"49B6 670A 3F6E 61BE E80B  AA24 31D2 2A9A B7FD AFBD": {text: fp, hex: fp},
		strings.ToLower(fp) + "!":                            {text: strings.ToLower(fp) + "!", hex: fp, exact: true},
		"0X" + fp:                                            {text: "0X" + fp, hex: fp},
		fp[24:]:                                              {text: fp[24:], hex: fp[24:]},
		strings.Repeat("ab", 32):                             {text: strings.Repeat("ab", 32), hex: strings.Repeat("AB", 32)},
		"\t" + fp + "\n":                                     {text: fp, hex: fp},
	} {
		got, err := parseSpec(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, says := range map[string]string{
		"":                       "empty",
		"   ":                    "empty",
		"!":                      "not a fingerprint",
		"0x":                     "not a fingerprint",
		fp[:39]:                  "it has 39",
		fp + "0":                 "it has 41",
		fp[32:]:                  "short key ID",
		"user@example.com":       "not by a user ID",
		fp[:20] + "\t" + fp[20:]: "not a fingerprint",
		fp + "!!":                "not a fingerprint",
		"G" + fp[1:]:             "not a fingerprint",
	} {
		_, err := parseSpec(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want %q", in, err, says)
		}
	}
}
