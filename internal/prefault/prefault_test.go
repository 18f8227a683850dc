package prefault

import (
	"bytes"
	"testing"
)

// TestKeepsContent checks that populating leaves what the memory holds as
// it was, for slices whose ends fall anywhere in a page.
func TestKeepsContent(t *testing.T) {
	for _, off := range []int{0, 1, 4095, 4097} {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i * 7)
		}
		want := bytes.Clone(b)
		Slice(b[off : len(b)-off])
		if !bytes.Equal(b, want) {
			t.Fatalf("offset %d: populating changed the memory", off)
		}
	}
	s := Make[[2]uint64](3, 5000)
	if len(s) != 3 || cap(s) != 5000 || s[0] != [2]uint64{} || s[2] != [2]uint64{} {
		t.Fatalf("Make: len %d cap %d", len(s), cap(s))
	}
	Slice([]int(nil))
	Slice(make([]byte, 0))
}
