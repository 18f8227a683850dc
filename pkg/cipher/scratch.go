package cipher

import (
	"crypto/rand"
	"unsafe"

	"github.com/kura-secrets/kura/internal/prefault"
)

// Scratch is working memory for values encrypted or decrypted one after
// another on one goroutine: a value's plaintext, IV and sealed or decoded
// bytes live in it until the next value, so that a large file costs no
// allocation per value beyond the strings the tree keeps. Fresh memory is
// where much of a large file's time goes (every new page is a page
// fault); a Scratch is reused instead.
//
// The strings the tree keeps (decrypted values, ENC texts) are carved one
// after another from chunks a Scratch allocates: a string allocated alone
// is rounded up to its size class (a 33-byte value takes 48), and on the
// benchmark files the chunks take a third less memory.
//
// The zero Scratch is ready to use; a nil *Scratch allocates on every
// call. A Scratch must not be shared between goroutines.
type Scratch struct {
	// A copy would hand out the same IVs as the original: go vet's
	// copylocks check reports copies of a Scratch.
	_ noCopy

	plain  []byte
	ivs    [ivBatch * IVSize]byte // random bytes for the next IVs
	ivNext int                    // where the next IV starts in ivs; len(ivs) when used up
	sealed []byte
	strs   []byte // the chunk strings are carved from
}

// Chunk sizes for strings: the first is small, so that a file of a few
// values costs no more than it did, and they double up to the largest.
// Strings longer than maxCarved are allocated alone.
const (
	firstStrChunk = 512
	maxStrChunk   = 64 << 10
	maxCarved     = 1 << 10
)

// reserve returns a buffer of length 0 and capacity at least n whose bytes,
// once appended, keep turns into a string.
func (sc *Scratch) reserve(n int) []byte {
	if sc == nil || n > maxCarved {
		return make([]byte, 0, n)
	}
	if cap(sc.strs)-len(sc.strs) < n {
		size := min(max(firstStrChunk, 2*cap(sc.strs)), maxStrChunk)
		sc.strs = make([]byte, 0, size)
		prefault.Slice(sc.strs)
	}
	return sc.strs[len(sc.strs):len(sc.strs):cap(sc.strs)]
}

// keep returns b, which was appended to a buffer from reserve, as a string
// sharing its memory. Nothing writes to those bytes again: a chunk is only
// appended to.
func (sc *Scratch) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if sc != nil && len(sc.strs) < cap(sc.strs) && unsafe.SliceData(b) == unsafe.SliceData(sc.strs[len(sc.strs):cap(sc.strs)]) { // #nosec G103 -- compares addresses only
		sc.strs = sc.strs[:len(sc.strs)+len(b)]
	}
	return unsafe.String(unsafe.SliceData(b), len(b)) // #nosec G103 -- b is not written after this
}

// str returns a copy of p as a string.
func (sc *Scratch) str(p []byte) string {
	return sc.keep(append(sc.reserve(len(p)), p...))
}

// plainBuf returns an empty buffer to append a plaintext to.
func (sc *Scratch) plainBuf() []byte {
	if sc == nil {
		return nil
	}
	return sc.plain[:0]
}

// keepPlain keeps b's memory, which grew from plainBuf, for the next value.
func (sc *Scratch) keepPlain(b []byte) {
	if sc != nil {
		sc.plain = b[:0]
	}
}

// ivBatch is how many IVs a Scratch reads from crypto/rand at a time:
// reading one per value cost as much as sealing it.
const ivBatch = 64

// freshIV returns IVSize random bytes for a new IV, each time different
// bytes (a Scratch hands each of its random bytes out once).
func (sc *Scratch) freshIV() ([]byte, error) {
	if sc == nil {
		iv := make([]byte, IVSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, err
		}
		return iv, nil
	}
	if sc.ivNext == 0 || sc.ivNext == len(sc.ivs) {
		if _, err := rand.Read(sc.ivs[:]); err != nil {
			return nil, err
		}
		sc.ivNext = 0
	}
	iv := sc.ivs[sc.ivNext : sc.ivNext+IVSize : sc.ivNext+IVSize]
	sc.ivNext += IVSize
	return iv, nil
}

// sealedBuf returns a buffer of length n and capacity at least c, for
// decoded or sealed bytes.
func (sc *Scratch) sealedBuf(n, c int) []byte {
	if sc == nil {
		return make([]byte, n, max(n, c))
	}
	if cap(sc.sealed) < max(n, c) {
		sc.sealed = make([]byte, max(n, c, 2*cap(sc.sealed)))
	}
	return sc.sealed[:n]
}

// noCopy makes go vet report copies of the struct that holds it.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
