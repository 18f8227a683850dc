package ini

import (
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/storetest"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// seedFuzz adds every INI file sops wrote or read in the corpus.
func seedFuzz(f *testing.F) {
	storetest.Seed(f, "ini", ".ini")
	f.Add([]byte("[s]\nflag\n"))
	f.Add([]byte(";\n; b\nk = v\n"))
	f.Add([]byte("k = \"\"\"a\nb\"\"\"\n[sops]\nversion = \"\"\"x\n\"\"\"\n"))
	// Found by the fuzzer: a comment that loses its "#" on every round,
	// and a value the library writes but cannot read back.
	f.Add([]byte(";#\n0="))
	f.Add([]byte("00= \"\"\""))
}

// INI promises little about reading back what it wrote. The library
// writes some values it cannot read (a value of three double quotes opens
// a multi-line value), renames a key "-" to "#1", which then reads as a
// comment, and SOPS's comment stripping loses a little of a comment on
// every round. What holds is that keys and values made of ordinary
// characters, as in every file SOPS itself writes (ENC[...] values,
// base64, timestamps), come back unchanged. tame tells those apart.
func tame(s string, extra string) bool {
	if s == "" || strings.TrimSpace(s) != s {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("_./ "+extra, c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// tameValue reports whether a value is tame: empty, or made of ordinary
// characters and those of ENC strings, base64 and escaped newlines, but
// not ending in a backslash, which would continue the line.
func tameValue(s string) bool {
	return s == "" || tame(s, "+=:,[]-\\") && !strings.HasSuffix(s, "\\")
}

// tameData reports whether every section name, key and value is tame
// (values may also be empty and hold the characters of ENC strings and
// base64), and returns the documents without their comments.
func tameData(docs []tree.Document) ([]tree.Document, bool) {
	out := make([]tree.Document, len(docs))
	for d, doc := range docs {
		for _, sec := range doc {
			if !tame(sec.Key.Str, "") {
				return nil, false
			}
			var items []tree.Item
			for _, it := range sec.Value.Items() {
				if it.IsComment() {
					continue
				}
				if !tame(it.Key.Str, "") || !tameValue(it.Value.Str) {
					return nil, false
				}
				items = append(items, it)
			}
			out[d] = append(out[d], tree.KeyItem(sec.Key.Str, tree.MapV(items)))
		}
	}
	return out, true
}

// tameMeta reports whether every metadata entry is tame as the store
// writes it, flattened and with newlines escaped.
func tameMeta(t *testing.T, meta []tree.Item) bool {
	flat, err := format.Flatten(meta, "")
	if err != nil {
		t.Fatalf("cannot flatten the metadata that was loaded: %v", err)
	}
	for _, it := range flat {
		if !tame(it.Key.Str, "") || !tameValue(strings.ReplaceAll(it.Value.Str, "\n", `\n`)) {
			return false
		}
	}
	return true
}

// FuzzLoadPlain checks that no input makes the store panic, that what it
// loads can always be written, and that tame data reads back unchanged.
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
		data, ok := tameData(docs)
		if !ok {
			// Only make sure reading it back does not panic.
			_, _ = Store{}.LoadPlain(out)
			return
		}
		again, err := Store{}.LoadPlain(out)
		if err != nil {
			t.Fatalf("cannot load what was written: %v\n%q", err, out)
		}
		if data2, _ := tameData(again); !tree.DocumentsEqual(data2, data) {
			t.Fatalf("data changed:\n%q\n%#v\n%#v", out, data, data2)
		}
	})
}

// FuzzLoadEncrypted checks that no input makes the store panic, that what
// it loads can always be written, and that tame metadata and data read
// back unchanged.
func FuzzLoadEncrypted(f *testing.F) {
	seedFuzz(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		docs, meta, err := Store{}.LoadEncrypted(in)
		if err != nil {
			return
		}
		data, ok := tameData(docs)
		metaTame := tameMeta(t, meta)
		out, err := Store{}.EmitEncrypted(docs, meta)
		if err != nil {
			t.Fatalf("cannot write what was loaded: %v", err)
		}
		docs2, meta2, err := Store{}.LoadEncrypted(out)
		if !ok || !metaTame {
			return
		}
		if err != nil {
			t.Fatalf("cannot load what was written: %v\n%q", err, out)
		}
		if data2, _ := tameData(docs2); !tree.DocumentsEqual(data2, data) || !tree.ItemsEqual(meta2, meta) {
			t.Fatalf("changed:\n%q\n%#v %#v\n%#v %#v", out, data, meta, data2, meta2)
		}
	})
}
