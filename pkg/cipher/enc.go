// Package cipher encrypts and decrypts single values the way SOPS v3 does:
// AES-256-GCM under the file's data key, a 32-byte random IV, the value's
// key path as additional data, and the result written as
//
//	ENC[AES256_GCM,data:<base64>,iv:<base64>,tag:<base64>,type:<type>]
//
// It also computes the MAC over a document's values. It knows nothing of
// file formats or master keys.
package cipher

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"sync"
	"unsafe"

	"github.com/kura-secrets/kura/internal/ascii8"
)

// Value types as written in the type field.
const (
	TypeString  = "str"
	TypeInt     = "int"
	TypeFloat   = "float"
	TypeBool    = "bool"
	TypeTime    = "time"
	TypeComment = "comment"
	// TypeBytes is read but never written: sops 3.13.2 crashes on it.
	TypeBytes = "bytes"
)

const (
	encPrefix = "ENC[AES256_GCM,data:"
	ivField   = ",iv:"
	tagField  = ",tag:"
	typeField = ",type:"
)

// Encrypted is a parsed ENC[...] string.
type Encrypted struct {
	Data, IV, Tag []byte
	Type          string
}

// ErrNotEncrypted means a string does not have the ENC[...] form.
var ErrNotEncrypted = errors.New("value is not in sops' ENC[AES256_GCM,...] format")

// IsEncrypted reports whether s starts like an ENC[...] value.
func IsEncrypted(s string) bool { return strings.HasPrefix(s, encPrefix) }

// encPattern is the grammar as SOPS matches it: anchored at the start only,
// greedy fields, anything after the last "]" ignored. Parse uses it only for
// strings where the fast split could disagree with it.
var encPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)
})

// Parse decodes an ENC[...] string. It accepts exactly what sops accepts.
func Parse(s string) (Encrypted, error) {
	return parse(s, nil)
}

// parse is Parse, decoding into sc's memory (nil allocates it).
func parse(s string, sc *Scratch) (Encrypted, error) {
	data, iv, tag, typ, ok := split(s)
	if !ok {
		m := encPattern().FindStringSubmatch(s)
		if m == nil {
			return Encrypted{}, ErrNotEncrypted
		}
		data, iv, tag, typ = m[1], m[2], m[3], m[4]
	}
	// One buffer for the three fields, the tag right after the data: a
	// value costs one allocation, and the sealed text is in one piece
	// for opening in place (Cipher.DecryptValue).
	enc := base64.StdEncoding
	dl, tl := enc.DecodedLen(len(data)), enc.DecodedLen(len(tag))
	buf := sc.sealedBuf(dl+tl+enc.DecodedLen(len(iv)), 0)
	n, err := enc.Decode(buf, bytesOf(data))
	if err != nil {
		return Encrypted{}, errors.New("the data field is not valid base64")
	}
	k, err := enc.Decode(buf[dl+tl:], bytesOf(iv))
	if err != nil {
		return Encrypted{}, errors.New("the iv field is not valid base64")
	}
	m, err := enc.Decode(buf[n:dl+tl], bytesOf(tag))
	if err != nil {
		return Encrypted{}, errors.New("the tag field is not valid base64")
	}
	return Encrypted{
		Data: buf[:n:n],
		Tag:  buf[n : n+m : n+m],
		IV:   buf[dl+tl : dl+tl+k : dl+tl+k],
		Type: typ,
	}, nil
}

// bytesOf returns the bytes of s without copying them, for functions that
// only read them.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s)) // #nosec G103 -- only read (base64 decoding)
}

// split is the fast path of Parse for well-formed values: the only
// commas are the three of the separators, the value ends with the only "]"
// and holds no line break, so splitting at the commas gives what the
// greedy pattern would. It reads the text once, eight bytes at a time
// where it can (checking the same with strings.Count and Index, ten passes
// over the text, took a third of a value's decryption).
func split(s string) (data, iv, tag, typ string, ok bool) {
	if len(s) <= len(encPrefix) || s[:len(encPrefix)] != encPrefix || s[len(s)-1] != ']' {
		return "", "", "", "", false
	}
	rest := s[len(encPrefix) : len(s)-1]
	var commas [3]int
	n := 0
	for i := 0; i < len(rest); i++ {
		// Eight bytes at a time where none is a comma, a ']' or a
		// control character: base64 text, most of the value.
		for i+8 <= len(rest) {
			w := ascii8.Load(rest, i)
			if ascii8.Has(w, ',') || ascii8.Has(w, ']') || ascii8.HasBelow(w, 0x20) {
				break
			}
			i += 8
		}
		if i == len(rest) {
			break
		}
		switch rest[i] {
		case ',':
			if n == len(commas) {
				return "", "", "", "", false
			}
			commas[n] = i
			n++
		case ']', '\n', '\r':
			return "", "", "", "", false
		}
	}
	i, j, k := commas[0], commas[1], commas[2]
	if n != len(commas) || i < 1 ||
		!strings.HasPrefix(rest[i:], ivField) || j <= i+len(ivField) ||
		!strings.HasPrefix(rest[j:], tagField) || k <= j+len(tagField) ||
		!strings.HasPrefix(rest[k:], typeField) || k+len(typeField) >= len(rest) {
		return "", "", "", "", false
	}
	return rest[:i], rest[i+len(ivField) : j], rest[j+len(tagField) : k], rest[k+len(typeField):], true
}

// String formats e as an ENC[...] value.
func (e Encrypted) String() string {
	return e.stringIn(nil)
}

// stringIn is String with the string's memory from sc.
func (e Encrypted) stringIn(sc *Scratch) string {
	enc := base64.StdEncoding
	n := len(encPrefix) + enc.EncodedLen(len(e.Data)) + len(ivField) + enc.EncodedLen(len(e.IV)) +
		len(tagField) + enc.EncodedLen(len(e.Tag)) + len(typeField) + len(e.Type) + 1
	b := sc.reserve(n)
	b = append(b, encPrefix...)
	b = enc.AppendEncode(b, e.Data)
	b = append(b, ivField...)
	b = enc.AppendEncode(b, e.IV)
	b = append(b, tagField...)
	b = enc.AppendEncode(b, e.Tag)
	b = append(b, typeField...)
	b = append(b, e.Type...)
	b = append(b, ']')
	// b is not used after this: the string takes its memory rather than
	// a copy, as strings.Builder does.
	return sc.keep(b)
}
