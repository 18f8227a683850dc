package cipher

import (
	"bytes"
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
