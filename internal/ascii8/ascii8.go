// Package ascii8 tests eight bytes of text at a time, as the bytes of one
// 64-bit word, for the loops that look at every byte of a large file:
// most of a secrets file is plain ASCII (keys, ENC texts, base64), and a
// loop that asks eight questions of each byte cost a tenth of a decrypt.
// A caller runs a test on a word and goes on byte by byte only where it
// fails.
//
// Each test is exact: it reports true if and only if some byte of the word
// is what it looks for (the borrow of a subtraction can only spread above
// a byte that matched).
package ascii8

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// Load returns the eight bytes of s from i on as one word, the first in the
// lowest byte. s must hold them. (The compiler makes the shifts one load.)
func Load(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// Has reports whether some byte of w is c.
func Has(w uint64, c byte) bool {
	v := w ^ uint64(c)*ones
	return (v-ones)&^v&highs != 0
}

// HasBelow reports whether some byte of w is less than n, which must be at
// most 0x80.
func HasBelow(w uint64, n byte) bool {
	return (w-uint64(n)*ones)&^w&highs != 0
}

// HasHigh reports whether some byte of w is 0x80 or more: not ASCII.
func HasHigh(w uint64) bool { return w&highs != 0 }

// Printable reports whether every byte of w is printable ASCII, a space
// to '~' (0x20 to 0x7e).
func Printable(w uint64) bool {
	return !HasHigh(w) && !HasBelow(w, 0x20) && !Has(w, 0x7f)
}
