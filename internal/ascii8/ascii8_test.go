package ascii8

import (
	"math/rand/v2"
	"testing"
)

// words returns test words: every byte value in every position among
// printable letters, and random words biased towards the edges the tests
// look at.
func words() []uint64 {
	var ws []uint64
	const letters = 0x6161616161616161 // "aaaaaaaa"
	for pos := range 8 {
		for b := range 256 {
			ws = append(ws, letters&^(0xff<<(8*pos))|uint64(b)<<(8*pos))
		}
	}
	edges := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '#', ':', '\\', 0x7e, 0x7f, 0x80, 0xc2, 0xff}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var w uint64
		for i := range 8 {
			b := byte(r.IntN(256))
			if r.IntN(2) == 0 {
				b = edges[r.IntN(len(edges))]
			}
			w |= uint64(b) << (8 * i)
		}
		ws = append(ws, w)
	}
	return ws
}

func anyByte(w uint64, f func(byte) bool) bool {
	for i := range 8 {
		if f(byte(w >> (8 * i))) {
			return true
		}
	}
	return false
}

func TestAgainstByteLoops(t *testing.T) {
	for _, w := range words() {
		for _, c := range []byte{0, '"', '#', ':', '\\', 0x7f, 0xff} {
			if got, want := Has(w, c), anyByte(w, func(b byte) bool { return b == c }); got != want {
				t.Fatalf("Has(%#016x, %#x) = %v, want %v", w, c, got, want)
			}
		}
		for _, n := range []byte{1, 0x20, 0x80} {
			if got, want := HasBelow(w, n), anyByte(w, func(b byte) bool { return b < n }); got != want {
				t.Fatalf("HasBelow(%#016x, %#x) = %v, want %v", w, n, got, want)
			}
		}
		if got, want := HasHigh(w), anyByte(w, func(b byte) bool { return b >= 0x80 }); got != want {
			t.Fatalf("HasHigh(%#016x) = %v, want %v", w, got, want)
		}
		if got, want := Printable(w), !anyByte(w, func(b byte) bool { return b < 0x20 || b > 0x7e }); got != want {
			t.Fatalf("Printable(%#016x) = %v, want %v", w, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	if got := Load("xabcdefgh", 1); got != 0x6867666564636261 {
		t.Errorf("Load = %#x", got)
	}
}
