package pgp

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/kura-secrets/kura/pkg/keys"
)

func randomPayload(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// checkStanza checks what Wrap returned is stored as sops stores it.
func checkStanza(t *testing.T, st keys.Stanza, fp string) {
	t.Helper()
	if st.Type != keys.PGP || st.Fingerprint != fp {
		t.Errorf("stanza type %q fingerprint %q, want pgp %q", st.Type, st.Fingerprint, fp)
	}
	if !strings.HasPrefix(st.Enc, "-----BEGIN PGP MESSAGE-----\n") {
		t.Errorf("enc starts %q", st.Enc[:min(len(st.Enc), 40)])
	}
	if !strings.HasSuffix(st.Enc, "\n-----END PGP MESSAGE-----") {
		t.Errorf("enc does not end with the armor trailer and no newline: %q", st.Enc[max(0, len(st.Enc)-40):])
	}
	if _, err := time.Parse(time.RFC3339, st.CreatedAt); err != nil || strings.Contains(st.CreatedAt, ".") || !strings.HasSuffix(st.CreatedAt, "Z") {
		t.Errorf("created_at %q: want RFC 3339 UTC whole seconds", st.CreatedAt)
	}
}

// literalOf decrypts enc with the secret keys in secFile and returns the
// literal data packet and the recipients' key IDs.
func literalOf(t *testing.T, enc, secFile string) (*packet.LiteralData, []byte, []uint64) {
	t.Helper()
	list, err := parseKeys([]byte(readRepoFileAbs(t, secFile)))
	if err != nil {
		t.Fatal(err)
	}
	block, err := armor.Decode(strings.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(block.Body, list, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	return md.LiteralData, body, md.EncryptedToKeyIds
}

func readRepoFileAbs(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRoundTripGPG wraps for both corpus keys with public keys from gpg,
// and unwraps through gpg, through Go with the key file, and with gpg -d
// run directly, which is how sops reads it.
func TestRoundTripGPG(t *testing.T) {
	home := gnupgHome(t, "pgp1", "pgp2")
	for _, name := range []string{"pgp1", "pgp2"} {
		t.Run(name, func(t *testing.T) {
			k := corpusKey(t, name)
			src := NewSource(gpgEnv(t, home))
			r, err := src.ParseRecipient(k.fp)
			if err != nil {
				t.Fatal(err)
			}
			if r.Identity() != k.fp {
				t.Errorf("Identity() = %q", r.Identity())
			}
			for _, size := range []int{32, 33} {
				payload := randomPayload(t, size)
				st, err := r.Wrap(payload)
				if err != nil {
					t.Fatal(err)
				}
				checkStanza(t, st, k.fp)

				got, err := src.Unwrap(&st)
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("unwrap through gpg: %x, %v", got, err)
				}
				got, err = NewSource(goEnv(t, KeyFileEnv, k.secFile)).Unwrap(&st)
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("unwrap in Go: %x, %v", got, err)
				}
				out, err := gpgCommand(home, []byte(st.Enc), "--batch", "-d").Output()
				if err != nil || !bytes.Equal(out, payload) {
					t.Fatalf("gpg -d: %x, %v", out, err)
				}

				lit, body, ids := literalOf(t, st.Enc, k.secFile)
				if !lit.IsBinary || lit.FileName != "" || !bytes.Equal(body, payload) {
					t.Errorf("literal data: binary %v, name %q", lit.IsBinary, lit.FileName)
				}
				if len(ids) != 1 || keyID(ids[0]) != k.subID {
					t.Errorf("encrypted to %x, want the encryption subkey %s", ids, k.subID)
				}
			}
		})
	}
}

// TestRoundTripGo wraps with the public key from a key file or the legacy
// pubring.gpg, gpg absent, and unwraps in Go.
func TestRoundTripGo(t *testing.T) {
	for _, name := range []string{"pgp1", "pgp2"} {
		k := corpusKey(t, name)
		t.Run(name+"/key file", func(t *testing.T) {
			roundTrip(t, goEnv(t, KeyFileEnv, k.pubFile), goEnv(t, KeyFileEnv, k.secFile), k.fp)
		})
		t.Run(name+"/pubring.gpg", func(t *testing.T) {
			home := t.TempDir()
			list, err := parseKeys([]byte(readRepoFileAbs(t, k.pubFile)))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(home, legacyPubring), serializePublic(t, list[0]))
			env := Env{Getenv: vars(GPGExecEnv, missingGPG(t), GnuPGHomeEnv, home), Run: isolatedRun}
			roundTrip(t, env, goEnv(t, KeyFileEnv, k.secFile), k.fp)
		})
	}
}

func roundTrip(t *testing.T, wrapEnv, unwrapEnv Env, fp string) {
	t.Helper()
	r, err := NewSource(wrapEnv).ParseRecipient(fp)
	if err != nil {
		t.Fatal(err)
	}
	payload := randomPayload(t, 32)
	st, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	checkStanza(t, st, fp)
	got, err := NewSource(unwrapEnv).Unwrap(&st)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("unwrap: %x, %v", got, err)
	}
}

// TestGoWrapReadByGPG: what kura wraps in Go with a key from a file, gpg
// decrypts; and the message is integrity-protected (SEIPD v1), never AEAD,
// even for a key that advertises AEAD support.
func TestGoWrapReadByGPG(t *testing.T) {
	e := newEntity(t, "aead", 0)
	sig, _ := e.PrimarySelfSignature()
	sig.SEIPDv2 = true // as if advertised; Wrap must still not use it
	sec := keyFileOf(t, "k.asc", armoredSecret(t, e))
	r, err := NewSource(goEnv(t, KeyFileEnv, sec)).ParseRecipient(fingerprint(e.PrimaryKey))
	if err != nil {
		t.Fatal(err)
	}
	payload := randomPayload(t, 32)
	st, err := r.Wrap(payload)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMessage(st.Enc)
	if err != nil {
		t.Fatal(err)
	}
	packets := packet.NewReader(bytes.NewReader(m.body))
	for {
		p, err := packets.Next()
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			if !se.IntegrityProtected || se.Version != 1 {
				t.Fatalf("SEIPD version %d, integrity %v: want v1 with MDC", se.Version, se.IntegrityProtected)
			}
			break
		}
		if _, ok := p.(*packet.AEADEncrypted); ok {
			t.Fatal("AEAD encrypted data")
		}
	}

	requireGPG(t)
	home := gnupgHome(t, sec)
	out, err := gpgCommand(home, []byte(st.Enc), "--batch", "-d").Output()
	if err != nil || !bytes.Equal(out, payload) {
		t.Fatalf("gpg -d: %x, %v", out, err)
	}
}

// TestFingerprintForms: spaces are removed as sops removes them, and a
// lower-case fingerprint, a 0x prefix and a long key ID find the key too;
// the metadata keeps the string as configured.
func TestFingerprintForms(t *testing.T) {
	k := corpusKey(t, "pgp2")
	spaced := ""
	for i := 0; i < len(k.fp); i += 4 {
		spaced += k.fp[i:i+4] + " "
	}
	forms := map[string]string{
		spaced:                k.fp,
		strings.ToLower(k.fp): strings.ToLower(k.fp),
		"0x" + k.fp:           "0x" + k.fp,
		k.fp[24:]:             k.fp[24:],
		"  " + k.fp + "\n":    k.fp,
		k.sub:                 k.sub,
		"  " + k.sub[:20] + " " + k.sub[20:] + " ": k.sub,
	}
	envs := map[string]func(t *testing.T) Env{
		"go": func(t *testing.T) Env { return goEnv(t, KeyFileEnv, k.pubFile) },
	}
	if _, err := exec.LookPath("gpg"); err == nil || os.Getenv("CI") != "" {
		envs["gpg"] = func(t *testing.T) Env { return gpgEnv(t, gnupgHome(t, "pgp1", "pgp2")) }
	}
	for envName, mk := range envs {
		t.Run(envName, func(t *testing.T) {
			env := mk(t)
			for in, want := range forms {
				r, err := NewSource(env).ParseRecipient(in)
				if err != nil {
					t.Fatalf("%q: %v", in, err)
				}
				if r.Identity() != want {
					t.Errorf("%q: Identity() = %q, want %q", in, r.Identity(), want)
				}
				st, err := r.Wrap(randomPayload(t, 32))
				if err != nil {
					t.Fatalf("%q: %v", in, err)
				}
				if st.Fingerprint != want {
					t.Errorf("%q: stored %q, want %q", in, st.Fingerprint, want)
				}
				if _, _, ids := literalOf(t, st.Enc, k.secFile); len(ids) != 1 || keyID(ids[0]) != k.subID {
					t.Errorf("%q: encrypted to %x", in, ids)
				}
			}
		})
	}
}

// TestExactSubkey: "FINGERPRINT!" encrypts to exactly that subkey, as gpg
// does; a "!" on a primary key that cannot encrypt is refused.
func TestExactSubkey(t *testing.T) {
	// A key with two encryption subkeys, so the choice is visible.
	e := newEntity(t, "two", 0)
	if err := e.AddEncryptionSubkey(&packet.Config{
		Algorithm: packet.PubKeyAlgoEdDSA,
		Time:      func() time.Time { return genTime.Add(time.Hour) },
	}); err != nil {
		t.Fatal(err)
	}
	older, newer := e.Subkeys[0].PublicKey, e.Subkeys[1].PublicKey
	file := keyFileOf(t, "two.asc", armoredSecret(t, e))
	src := NewSource(goEnv(t, KeyFileEnv, file))

	recipientsOf := func(fp string) []uint64 {
		t.Helper()
		r, err := src.ParseRecipient(fp)
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.Wrap(randomPayload(t, 32))
		if err != nil {
			t.Fatalf("%s: %v", fp, err)
		}
		if st.Fingerprint != fp {
			t.Errorf("stored %q, want %q", st.Fingerprint, fp)
		}
		m, err := parseMessage(st.Enc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Unwrap(&st); err != nil {
			t.Fatal(err)
		}
		return m.keyIDs
	}
	primary := fingerprint(e.PrimaryKey)
	if ids := recipientsOf(primary); len(ids) != 1 || ids[0] != newer.KeyId {
		t.Errorf("primary: encrypted to %x, want the newest subkey %x", ids, newer.KeyId)
	}
	if ids := recipientsOf(fingerprint(older)); len(ids) != 1 || ids[0] != newer.KeyId {
		t.Errorf("older subkey without !: encrypted to %x, want the newest subkey %x", ids, newer.KeyId)
	}
	if ids := recipientsOf(fingerprint(older) + "!"); len(ids) != 1 || ids[0] != older.KeyId {
		t.Errorf("older subkey with !: encrypted to %x, want %x", ids, older.KeyId)
	}

	r, err := src.ParseRecipient(primary + "!")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Wrap(randomPayload(t, 32))
	if err == nil || !strings.Contains(err.Error(), primary+"!") || !strings.Contains(err.Error(), "cannot encrypt") {
		t.Fatalf("primary!: %v", err)
	}
}

// TestParseRecipients splits a comma-separated list as sops does.
func TestParseRecipients(t *testing.T) {
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	src := NewSource(goEnv(t))
	rs, err := src.ParseRecipients(" " + k1.fp + " ,," + k2.fp[:20] + " " + k2.fp[20:] + ", ")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Identity() != k1.fp || rs[1].Identity() != k2.fp {
		t.Fatalf("got %v", rs)
	}
	if rs, err := src.ParseRecipients(""); err != nil || len(rs) != 0 {
		t.Fatalf("empty list: %v, %v", rs, err)
	}
	if _, err := src.ParseRecipients(k1.fp + ",nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("bad list: %v", err)
	}
	// The package-level forms parse the same, reading nothing yet.
	if rs, err := ParseRecipients(k1.fp + "," + k2.fp); err != nil || len(rs) != 2 {
		t.Fatalf("ParseRecipients: %v, %v", rs, err)
	}
	if r, err := ParseRecipient(k1.fp + "!"); err != nil || r.Identity() != k1.fp+"!" {
		t.Fatalf("ParseRecipient: %v, %v", r, err)
	}
}
