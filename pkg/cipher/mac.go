package cipher

import (
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"hash"
	"strings"

	"github.com/kura-secrets/kura/internal/secrethook"
	"github.com/kura-secrets/kura/pkg/tree"
)

// macOnlyEncryptedPrefix starts the MAC of files written with
// mac_only_encrypted, so that such a MAC never equals the MAC of the same
// values without the option. It is SHA-256("sops"), as SOPS defines it.
var macOnlyEncryptedPrefix = []byte{
	0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
	0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
}

// MAC accumulates the SOPS message authentication code: SHA-512 over the
// canonical text of the values in document order, with no separators.
type MAC struct {
	h   hash.Hash
	buf []byte
}

// NewMAC starts a MAC. onlyEncrypted selects the mac_only_encrypted
// variant, where callers add only the values that are encrypted.
func NewMAC(onlyEncrypted bool) *MAC {
	m := &MAC{h: sha512.New()}
	if onlyEncrypted {
		m.h.Write(macOnlyEncryptedPrefix)
	}
	return m
}

// Add hashes a scalar value's canonical text. Comments and nulls are not
// part of the MAC; callers skip them.
func (m *MAC) Add(v tree.Value) {
	m.buf = v.AppendCanonical(m.buf[:0])
	m.h.Write(m.buf)
}

// Sum returns the MAC as SOPS writes it: 128 upper-case hex digits.
func (m *MAC) Sum() string {
	sum := strings.ToUpper(hex.EncodeToString(m.h.Sum(nil)))
	secrethook.Saw([]byte(sum))
	return sum
}

// EncryptMAC encrypts a MAC for the metadata, authenticated with the
// lastmodified timestamp text.
func (c *Cipher) EncryptMAC(mac, lastModified string) (string, error) {
	return c.Encrypt([]byte(mac), TypeString, []byte(lastModified))
}

// ErrMACType means the stored MAC's type tag is not str. The tag is not
// authenticated, but sops reads the MAC as a value of that type and
// compares it with a string: any other tag fails the check there, and
// here.
var ErrMACType = errors.New("the MAC's type tag is not str")

// DecryptMAC decrypts the stored MAC. An empty stored MAC decrypts to the
// empty string, which never matches a computed one.
func (c *Cipher) DecryptMAC(enc, lastModified string) (string, error) {
	if enc == "" {
		return "", nil
	}
	e, err := Parse(enc)
	if err != nil {
		return "", err
	}
	if e.Type != TypeString {
		return "", ErrMACType
	}
	p, err := c.open(e, []byte(lastModified))
	if err != nil {
		return "", err
	}
	secrethook.Saw(p)
	return string(p), nil
}
