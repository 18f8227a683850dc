package cipher

import (
	"bytes"
	"crypto/aes"
	gocipher "crypto/cipher"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/kura-secrets/kura/internal/secrethook"
	"github.com/kura-secrets/kura/pkg/tree"
)

// IVSize is the IV length SOPS writes. GCM hashes a nonce of any length
// other than 12 bytes into its counter block; SOPS chose 32 and every
// writer must keep to it. Readers accept any length.
const IVSize = 32

// tagSize is the GCM tag length.
const tagSize = 16

// DataKeySize is the length of a file's data key (AES-256).
const DataKeySize = 32

// Cipher encrypts and decrypts values under one data key.
type Cipher struct {
	block gocipher.Block
	gcm   gocipher.AEAD // for 32-byte IVs
	// ivs remembers the IVs decrypted values were encrypted with, in
	// document order. When the same Cipher encrypts the same plaintext,
	// type and key path again it reuses such an IV, so the ENC text stays
	// byte-identical and a diff shows only what changed. Each IV is used
	// once: two equal values under one key path (list elements) were
	// encrypted with different IVs, and sharing one would show that they
	// are equal. Repeating an IV for the value it came from is harmless:
	// with the same key, plaintext and additional data GCM yields the very
	// same ciphertext, which reveals nothing that was not in the file.
	ivs map[ivKey][][]byte
	// forget turns the memory of IVs off, for files only read.
	forget bool
}

// RememberIVs says whether DecryptValue remembers IVs for later
// encryptions (the default). A Cipher for a file that is only read need
// not: remembering copies every key path and plaintext.
func (c *Cipher) RememberIVs(on bool) { c.forget = !on }

type ivKey struct {
	aad, typ, plaintext string
}

// New returns a Cipher for a 32-byte data key.
func New(dataKey []byte) (*Cipher, error) {
	if len(dataKey) != DataKeySize {
		return nil, fmt.Errorf("the data key is %d bytes long, want %d", len(dataKey), DataKeySize)
	}
	secrethook.Saw(dataKey)
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		return nil, err
	}
	gcm, err := gocipher.NewGCMWithNonceSize(block, IVSize)
	if err != nil {
		return nil, err
	}
	return &Cipher{block: block, gcm: gcm}, nil
}

// ErrDecrypt means a value's ciphertext does not authenticate: a wrong
// data key, a changed value, IV, tag or key path.
var ErrDecrypt = errors.New("the value does not decrypt (wrong key, tampered value, or moved to another key)")

// EncryptValue encrypts a scalar or comment, with aad as additional data.
// Empty strings and empty comments stay empty, as in SOPS.
func (c *Cipher) EncryptValue(v tree.Value, aad []byte) (string, error) {
	return c.EncryptValueWith(nil, v, aad)
}

// EncryptValueWith is EncryptValue with working memory from sc (nil
// allocates it): the plaintext, IV and sealed bytes live there, and only
// the ENC string is new memory. sc is cleared of the plaintext after use.
func (c *Cipher) EncryptValueWith(sc *Scratch, v tree.Value, aad []byte) (string, error) {
	typ, err := TypeOf(v)
	if err != nil {
		return "", err
	}
	plaintext := v.AppendCanonical(sc.plainBuf())
	defer sc.keepPlain(plaintext)
	defer clear(plaintext)
	if len(plaintext) == 0 && (v.Kind == tree.String || v.Kind == tree.Comment) {
		return "", nil
	}
	return c.encrypt(sc, plaintext, typ, aad)
}

// RemembersIVs reports whether c holds IVs of decrypted values to reuse:
// values must then be encrypted one at a time, in document order.
func (c *Cipher) RemembersIVs() bool { return len(c.ivs) > 0 }

// Adopt makes the IVs other remembers available to c too, so that values
// c encrypts keep the ENC text they had in the file other decrypted (a
// merge takes values from two versions of one file). It is only
// meaningful when both use the same data key. An IV c already holds for a
// value is not added twice.
func (c *Cipher) Adopt(other *Cipher) {
	if len(other.ivs) == 0 {
		return
	}
	if c.ivs == nil {
		c.ivs = make(map[ivKey][][]byte, len(other.ivs))
	}
	for k, q := range other.ivs {
		have := c.ivs[k]
		for _, iv := range q {
			dup := false
			for _, h := range have {
				if string(h) == string(iv) {
					dup = true
					break
				}
			}
			if !dup {
				have = append(have, iv)
			}
		}
		c.ivs[k] = have
	}
}

// Encrypt encrypts plaintext bytes of the given type.
func (c *Cipher) Encrypt(plaintext []byte, typ string, aad []byte) (string, error) {
	return c.encrypt(nil, plaintext, typ, aad)
}

func (c *Cipher) encrypt(sc *Scratch, plaintext []byte, typ string, aad []byte) (string, error) {
	var iv []byte
	if len(c.ivs) > 0 {
		k := ivKey{string(aad), typ, string(plaintext)}
		if q := c.ivs[k]; len(q) > 0 {
			iv = q[0]
			if len(q) == 1 {
				delete(c.ivs, k)
			} else {
				c.ivs[k] = q[1:]
			}
		}
	}
	if iv == nil {
		var err error
		if iv, err = sc.freshIV(); err != nil {
			return "", fmt.Errorf("reading random IV: %w", err)
		}
	}
	return c.seal(sc, plaintext, typ, iv, aad), nil
}

func (c *Cipher) seal(sc *Scratch, plaintext []byte, typ string, iv, aad []byte) string {
	sealed := c.gcm.Seal(sc.sealedBuf(0, len(plaintext)+tagSize), iv, plaintext, aad)
	n := len(sealed) - tagSize
	return Encrypted{Data: sealed[:n], IV: iv, Tag: sealed[n:], Type: typ}.stringIn(sc)
}

// DecryptValue decrypts an ENC[...] string into a typed value. An empty
// string decrypts to an empty string.
func (c *Cipher) DecryptValue(s string, aad []byte) (tree.Value, error) {
	v, _, err := c.DecryptValueChecked(s, aad)
	return v, err
}

// DecryptValueChecked is DecryptValue that also reports whether the
// plaintext is the canonical text of the value its type tag gives (see
// IsCanonical). SOPS writers only write canonical text; anything else
// means the type tag, not covered by the encryption, was changed (or the
// writer was not SOPS-compatible).
func (c *Cipher) DecryptValueChecked(s string, aad []byte) (v tree.Value, canonical bool, err error) {
	return c.DecryptValueCheckedWith(nil, s, aad)
}

// DecryptValueCheckedWith is DecryptValueChecked with working memory from
// sc (nil allocates it): the value is base64-decoded and opened there,
// and only the decrypted value's own string is new memory. The plaintext
// is cleared from sc before it returns.
func (c *Cipher) DecryptValueCheckedWith(sc *Scratch, s string, aad []byte) (v tree.Value, canonical bool, err error) {
	if s == "" {
		return tree.Str(""), true, nil
	}
	e, err := parse(s, sc)
	if err != nil {
		return tree.Value{}, false, err
	}
	// Parse's buffer is this call's own (or sc's): open the data in place.
	plaintext, err := c.openIn(e, aad, true)
	if err != nil {
		return tree.Value{}, false, err
	}
	defer clear(plaintext)
	v, err = fromPlaintext(sc, plaintext, e.Type)
	if err != nil {
		return tree.Value{}, false, err
	}
	canonical = IsCanonical(plaintext, v)
	if len(e.IV) == IVSize && !c.forget {
		// (Other IV sizes, from other writers, are read but not written.)
		if c.ivs == nil {
			c.ivs = make(map[ivKey][][]byte)
		}
		k := ivKey{string(aad), e.Type, string(plaintext)}
		// A copy: e.IV keeps the whole of Parse's buffer alive.
		c.ivs[k] = append(c.ivs[k], bytes.Clone(e.IV))
	}
	return v, canonical, nil
}

// IsCanonical reports whether plaintext is the canonical text of v, the
// value FromPlaintext made of it: what a SOPS writer encrypts for v (and
// what the MAC hashes). Strings and comments always are; "007" as an int,
// "1" as a bool or "1e3" as a float are not.
func IsCanonical(plaintext []byte, v tree.Value) bool {
	switch v.Kind {
	case tree.String, tree.Comment:
		return true
	}
	var buf [64]byte
	return string(v.AppendCanonical(buf[:0])) == string(plaintext)
}

func (c *Cipher) open(e Encrypted, aad []byte) ([]byte, error) {
	return c.openIn(e, aad, false)
}

// openIn opens e; inPlace lets it write the plaintext over e.Data when
// e.Tag follows it in memory, as Parse lays them out.
func (c *Cipher) openIn(e Encrypted, aad []byte, inPlace bool) ([]byte, error) {
	if len(e.IV) == 0 {
		return nil, ErrDecrypt
	}
	gcm := c.gcm
	if len(e.IV) != IVSize {
		var err error
		if gcm, err = gocipher.NewGCMWithNonceSize(c.block, len(e.IV)); err != nil {
			return nil, ErrDecrypt
		}
	}
	var sealed []byte
	if inPlace && len(e.Data) > 0 && len(e.Tag) > 0 &&
		unsafe.Pointer(unsafe.SliceData(e.Tag)) == unsafe.Add(unsafe.Pointer(unsafe.SliceData(e.Data)), len(e.Data)) { // #nosec G103 -- compares addresses only
		sealed = unsafe.Slice(unsafe.SliceData(e.Data), len(e.Data)+len(e.Tag)) // #nosec G103 -- the tag follows the data in Parse's one buffer (checked above)
	} else {
		sealed = make([]byte, 0, len(e.Data)+len(e.Tag))
		sealed = append(append(sealed, e.Data...), e.Tag...)
	}
	plaintext, err := gcm.Open(sealed[:0], e.IV, sealed, aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// TypeOf returns the type tag SOPS writes for a value.
func TypeOf(v tree.Value) (string, error) {
	switch v.Kind {
	case tree.String:
		return TypeString, nil
	case tree.Int:
		return TypeInt, nil
	case tree.Float:
		return TypeFloat, nil
	case tree.Bool:
		return TypeBool, nil
	case tree.Time:
		return TypeTime, nil
	case tree.Comment:
		return TypeComment, nil
	}
	return "", fmt.Errorf("a %s value cannot be encrypted", v.Kind)
}

// ErrType means a decrypted plaintext does not parse as its type tag says.
var ErrType = errors.New("the decrypted value does not match its type tag")

// FromPlaintext turns decrypted bytes into a value of the tagged type,
// parsing as SOPS does (Go's strconv and RFC 3339).
func FromPlaintext(p []byte, typ string) (tree.Value, error) {
	return fromPlaintext(nil, p, typ)
}

// fromPlaintext is FromPlaintext with the strings' memory from sc.
func fromPlaintext(sc *Scratch, p []byte, typ string) (tree.Value, error) {
	switch typ {
	case TypeString, TypeBytes:
		return tree.Str(sc.str(p)), nil
	case TypeInt:
		i, err := strconv.Atoi(string(p))
		if err != nil {
			return tree.Value{}, fmt.Errorf("%w (int)", ErrType)
		}
		return tree.IntV(int64(i)), nil
	case TypeFloat:
		f, err := strconv.ParseFloat(string(p), 64)
		if err != nil {
			return tree.Value{}, fmt.Errorf("%w (float)", ErrType)
		}
		return tree.FloatV(f), nil
	case TypeBool:
		b, err := strconv.ParseBool(string(p))
		if err != nil {
			return tree.Value{}, fmt.Errorf("%w (bool)", ErrType)
		}
		return tree.BoolV(b), nil
	case TypeTime:
		var t time.Time
		if err := t.UnmarshalText(p); err != nil {
			return tree.Value{}, fmt.Errorf("%w (time)", ErrType)
		}
		return tree.TimeV(t), nil
	case TypeComment:
		return tree.CommentV(sc.str(p), false), nil
	}
	return tree.Value{}, fmt.Errorf("unknown value type %q", typ)
}
