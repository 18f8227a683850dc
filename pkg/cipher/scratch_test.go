package cipher

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// TestScratchMatchesAllocating encrypts and decrypts values of every type
// and of growing and shrinking sizes through one Scratch, and checks each
// against the allocating calls: the same values back, ENC strings that do
// not share the Scratch's memory, and no plaintext left in it.
func TestScratchMatchesAllocating(t *testing.T) {
	c, err := New(bytes.Repeat([]byte{7}, DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-plaintext-marker" // kura:allow (a test marker, not a secret)
	values := []tree.Value{
		tree.Str(secret),
		tree.Str(strings.Repeat(secret, 400)), // larger than any buffer so far
		tree.Str("x"),
		tree.Str(""),
		tree.IntV(-42),
		tree.FloatV(3.25),
		tree.BoolV(true),
		tree.TimeV(time.Date(2026, 11, 29, 4, 5, 6, 0, time.UTC)),
		tree.CommentV(" "+secret, false),
		tree.Str(strings.Repeat("é", 5000)),
		tree.Str(secret + "-last"),
	}
	aad := []byte("a:b:")
	var sc Scratch
	var encs []string
	for _, v := range values {
		s, err := c.EncryptValueWith(&sc, v, aad)
		if err != nil {
			t.Fatalf("%v: %v", v.Kind, err)
		}
		encs = append(encs, s)
		if bytes.Contains(sc.plain[:cap(sc.plain)], []byte(secret)) {
			t.Fatalf("%v: the plaintext is left in the scratch memory", v.Kind)
		}
	}
	// Every ENC string still holds its own value after the Scratch was
	// reused for the others.
	for i, s := range encs {
		want := values[i]
		if s == "" {
			if want.Str != "" {
				t.Fatalf("value %d encrypted to nothing", i)
			}
			continue
		}
		fresh, err := c.DecryptValue(s, aad)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		got, canonical, err := c.DecryptValueCheckedWith(&sc, s, aad)
		if err != nil || !canonical {
			t.Fatalf("value %d: canonical %v, %v", i, canonical, err)
		}
		if !tree.Equal(got, want) || !tree.Equal(fresh, want) {
			t.Fatalf("value %d: got %v and %v, want %v", i, got.Kind, fresh.Kind, want.Kind)
		}
		if bytes.Contains(sc.sealed[:cap(sc.sealed)], []byte(secret)) {
			t.Fatalf("value %d: the plaintext is left in the scratch memory", i)
		}
		if _, _, err := c.DecryptValueCheckedWith(&sc, s, []byte("other:")); err == nil {
			t.Fatalf("value %d decrypts under another key path", i)
		}
	}
}

// TestScratchStringsStayPut checks that the strings carved from a
// Scratch's chunks keep their bytes while later values are encrypted and
// decrypted with it: values of every length around the chunk and carving
// limits, empty ones, and comments, through several chunks.
func TestScratchStringsStayPut(t *testing.T) {
	c, err := New(bytes.Repeat([]byte{9}, DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	var sc Scratch
	var want []tree.Value
	var encs, gotEnc []string
	var got []tree.Value
	for i := 0; i < 3000; i++ {
		n := (i * 37) % (maxCarved + 200)
		v := tree.Str(strings.Repeat(string(rune('a'+i%26)), n))
		if i%7 == 0 {
			v = tree.CommentV(fmt.Sprintf("comment %d", i), false)
		}
		aad := []byte(fmt.Sprintf("k%d:", i))
		s, err := c.EncryptValueWith(&sc, v, aad)
		if err != nil {
			t.Fatal(err)
		}
		want, gotEnc = append(want, v), append(gotEnc, s)
		encs = append(encs, strings.Clone(s))
		dv, _, err := c.DecryptValueCheckedWith(&sc, s, aad)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, dv)
	}
	for i := range want {
		if gotEnc[i] != encs[i] {
			t.Fatalf("ENC text %d changed after later values", i)
		}
		if !tree.Equal(got[i], want[i]) {
			t.Fatalf("value %d changed after later values", i)
		}
	}
	if cap(sc.strs) != maxStrChunk {
		t.Errorf("the chunks grew to %d bytes, want %d", cap(sc.strs), maxStrChunk)
	}
}

// TestScratchIVsFresh checks that a Scratch, which reads random bytes for
// many IVs at a time, never hands out the same IV twice: the same value
// encrypted again and again under one key path gets a new IV each time,
// across several refills.
func TestScratchIVsFresh(t *testing.T) {
	c, err := New(bytes.Repeat([]byte{3}, DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	var sc Scratch
	seen := map[string]bool{}
	for i := 0; i < 5*ivBatch+3; i++ {
		s, err := c.EncryptValueWith(&sc, tree.Str("same"), []byte("k:"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(e.IV)] {
			t.Fatalf("value %d: an IV was handed out twice", i)
		}
		seen[string(e.IV)] = true
	}
}
