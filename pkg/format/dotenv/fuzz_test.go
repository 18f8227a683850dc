package dotenv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// seedFuzz adds every dotenv file sops wrote or read in the corpus.
func seedFuzz(f *testing.F) {
	storetest.Seed(f, "dotenv", ".env")
	f.Add([]byte("A=1\nbad"))
	f.Add([]byte("sops_a=1\nsops_a__list_1=2\n"))
}

// FuzzLoadPlain checks that any input either fails to load or loads into
// a tree that writes out and reads back unchanged: dotenv promises that
// for everything it accepts, since a loaded value never holds the two
// characters \n and a loaded key never holds '=' or a newline.
func FuzzLoadPlain(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		docs, err := Store{}.LoadPlain(in)
		if err != nil {
			return
		}
		out, err := Store{}.EmitPlain(docs)
		if err != nil {
			t.Fatalf("cannot write what was loaded: %v", err)
		}
		again, err := Store{}.LoadPlain(out)
		if err != nil {
			t.Fatalf("cannot load what was written: %v\n%q", err, out)
		}
		if !tree.DocumentsEqual(again, docs) {
			t.Fatalf("tree changed:\n%#v\n%#v", docs, again)
		}
		out2, err := Store{}.EmitPlain(again)
		if err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("output changed: %q, %v", out2, err)
		}
	})
}

// FuzzLoadEncrypted checks that any input either fails to load or writes
// back into a file that loads into the same data and metadata.
func FuzzLoadEncrypted(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		docs, meta, err := Store{}.LoadEncrypted(in)
		if err != nil || opensUnclosedQuote(in) {
			// A value that opens a quote no later line closes is read as
			// it stands; written again with the metadata moved to the end,
			// a quote in a line that now follows it closes it. sops's
			// format has no way to write such a value unambiguously.
			return
		}
		out, err := Store{}.EmitEncrypted(docs, meta)
		if err != nil {
			t.Fatalf("cannot write what was loaded: %v", err)
		}
		docs2, meta2, err := Store{}.LoadEncrypted(out)
		if err != nil {
			t.Fatalf("cannot load what was written: %v\n%q", err, out)
		}
		if !tree.DocumentsEqual(docs2, docs) || !tree.ItemsEqual(meta2, meta) {
			t.Fatalf("changed:\n%#v %#v\n%#v %#v", docs, meta, docs2, meta2)
		}
	})
}

// opensUnclosedQuote reports whether a line of data has a value that
// opens a quote no line closes, as the loader reads it (continued).
func opensUnclosedQuote(data []byte) bool {
	s := string(data)
	for s != "" {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		if _, value, ok := strings.Cut(line, "="); ok && opensQuote(value) {
			if _, _, _, closed := continued(value, rest); !closed {
				return true
			}
		}
	}
	return false
}
