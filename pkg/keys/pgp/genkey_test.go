package pgp

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// genTime is when generated test keys are made.
var genTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newEntity makes an ed25519 key with a cv25519 encryption subkey, like
// pgp2 but fresh, optionally expiring after lifetime.
func newEntity(t testing.TB, name string, lifetime time.Duration) *openpgp.Entity {
	t.Helper()
	cfg := &packet.Config{
		Algorithm:       packet.PubKeyAlgoEdDSA,
		Time:            func() time.Time { return genTime },
		KeyLifetimeSecs: uint32(lifetime / time.Second),
	}
	e, err := openpgp.NewEntity(name, "TEST ONLY", name+"@kura.invalid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// armoredSecret is e's secret key, armored as gpg --export-secret-keys -a
// writes it.
func armoredSecret(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// armoredPublic is e's public key, armored.
func armoredPublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serializeSecret is e's secret key in binary, as in a secring.gpg.
func serializeSecret(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.SerializePrivateWithoutSigning(&buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// serializePublic is e's public key in binary, as in a pubring.gpg.
func serializePublic(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// protect encrypts e's secret keys with passphrase.
func protect(t testing.TB, e *openpgp.Entity, passphrase string) {
	t.Helper()
	if err := e.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
		t.Fatal(err)
	}
}

// keyFileOf writes data to a new file and returns its path.
func keyFileOf(t testing.TB, name string, data []byte) string {
	t.Helper()
	return writeFile(t, filepath.Join(t.TempDir(), name), data)
}
