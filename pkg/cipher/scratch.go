package cipher

// Scratch is working memory for values encrypted or decrypted one after
// another on one goroutine: a value's plaintext, IV and sealed or decoded
// bytes live in it until the next value, so that a large file costs no
// allocation per value beyond the strings the tree keeps. Fresh memory is
// where much of a large file's time goes (every new page is a page
// fault); a Scratch is reused instead.
//
// The zero Scratch is ready to use; a nil *Scratch allocates on every
// call. A Scratch must not be shared between goroutines.
type Scratch struct {
	plain  []byte
	iv     [IVSize]byte
	sealed []byte
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

// ivBuf returns IVSize bytes for a fresh IV.
func (sc *Scratch) ivBuf() []byte {
	if sc == nil {
		return make([]byte, IVSize)
	}
	return sc.iv[:]
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
