package json

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/tree"
)

// seeds adds every JSON file of the interop corpus and a few hand-picked
// inputs to a fuzz target's seed corpus.
func seeds(f *testing.F) {
	var files []string
	for _, pat := range []string{"*/*.json", "*/*.bin", "*/*.pem", "*/expected.out"} {
		m, err := filepath.Glob(filepath.Join(corpus.Dir(), "cases", pat))
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `{"a":-0,"b":1.0,"c":1e21,"d":9223372036854775808,"e":1e-7}`,
		`{"a":"\ud800\udc00\ud800\u0041\udc00","b":"<&>\u2028"}`,
		"{\"a\":\"\xff\xed\xa0\x80\"}", `{"sops":{"version":"3.13.2"},"x":[]}`,
		`{"a":[[[]],{}],"a":null}trailing`,
	} {
		f.Add([]byte(s))
	}
	// each byte a string's fast scan stops at, at each place of an
	// eight-byte run, and strings ending at each place
	for _, c := range []string{`\"`, `\\`, "\x01", "\t", "\xc3\xa9", "\xff", `"`} {
		for at := range 9 {
			f.Add([]byte(`{"k":"` + strings.Repeat("a", at) + c + strings.Repeat("b", 16-at) + `","z":"0123456789abcdef"}`))
		}
	}
}

// FuzzLoadPlain checks that loading never panics, agrees with
// encoding/json (the library SOPS uses) on what loads, on the tree and on
// the output, and that output loads back to the same tree.
func FuzzLoadPlain(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstOracle(t, data)
		s := New(TabIndent)
		docs, err := s.LoadPlain(data)
		if err != nil {
			return
		}
		checkStable(t, s, docs[0])
	})
}

// FuzzLoadEncrypted checks that LoadEncrypted never panics and that what
// it loads is written back in a form that loads to the same thing.
func FuzzLoadEncrypted(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := New(TabIndent)
		docs, meta, err := s.LoadEncrypted(data)
		if err != nil {
			return
		}
		if len(docs) != 1 || s.HasMetadataKey(docs[0]) {
			t.Fatalf("LoadEncrypted left a sops entry: %#v", docs)
		}
		out, err := s.EmitEncrypted(docs, meta)
		if err != nil {
			t.Fatalf("EmitEncrypted: %v", err)
		}
		docs2, meta2, err := s.LoadEncrypted(out)
		if err != nil {
			t.Fatalf("LoadEncrypted of our own output: %v\n%s", err, out)
		}
		if !sameAfterEmit(tree.MapV(docs[0]), tree.MapV(docs2[0])) || !sameAfterEmit(tree.MapV(meta), tree.MapV(meta2)) {
			t.Fatalf("encrypted roundtrip changed the tree:\n%s", out)
		}
		out2, err := s.EmitEncrypted(docs2, meta2)
		if err != nil {
			t.Fatal(err)
		}
		docs3, meta3, err := s.LoadEncrypted(bytes.Clone(out2))
		if err != nil {
			t.Fatal(err)
		}
		out3, err := s.EmitEncrypted(docs3, meta3)
		if err != nil || !bytes.Equal(out2, out3) {
			t.Fatalf("second roundtrip is not a fixed point (%v):\n%s\n%s", err, out2, out3)
		}
	})
}

// checkStable emits doc, loads it back and checks the tree is the same up
// to the one change SOPS makes too (see sameAfterEmit), and that a second
// round changes nothing at all: not the tree, not the bytes.
func checkStable(t *testing.T, s *Store, doc tree.Document) {
	t.Helper()
	out, err := s.EmitPlain([]tree.Document{doc})
	if err != nil {
		t.Fatalf("EmitPlain of a loaded tree: %v", err)
	}
	docs2, err := s.LoadPlain(out)
	if err != nil {
		t.Fatalf("LoadPlain of our own output: %v\n%s", err, out)
	}
	if !sameAfterEmit(tree.MapV(doc), tree.MapV(docs2[0])) {
		t.Fatalf("roundtrip changed the tree:\n%#v\n%#v", doc, docs2[0])
	}
	out2, err := s.EmitPlain(docs2)
	if err != nil {
		t.Fatal(err)
	}
	docs3, err := s.LoadPlain(out2)
	if err != nil {
		t.Fatal(err)
	}
	out3, err := s.EmitPlain(docs3)
	if err != nil {
		t.Fatal(err)
	}
	// out and out2 differ only where a float -0 became the integer 0.
	if !bytes.Equal(out2, out3) || !equalItems(docs2[0], docs3[0]) {
		t.Fatalf("second roundtrip is not a fixed point:\n%s\n%s", out2, out3)
	}
}

// sameAfterEmit reports whether b is what a becomes when written and read
// back: equal, except that a float written without a fraction or
// exponent (1.0 as 1, -0.0 as -0) reads back as an integer when it fits
// in an int64, as in SOPS.
func sameAfterEmit(a, b tree.Value) bool {
	if a.Kind == tree.Float && b.Kind == tree.Int {
		text, _ := appendFloat(nil, a.Float())
		return string(text) == strconv.FormatInt(b.Int(), 10) || string(text) == "-0" && b.Int() == 0
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case tree.Map:
		if len(a.Items()) != len(b.Items()) {
			return false
		}
		for i := range a.Items() {
			if !equalValue(a.Items()[i].Key, b.Items()[i].Key) || !sameAfterEmit(a.Items()[i].Value, b.Items()[i].Value) {
				return false
			}
		}
		return true
	case tree.List:
		if len(a.Elems()) != len(b.Elems()) {
			return false
		}
		for i := range a.Elems() {
			if !sameAfterEmit(a.Elems()[i], b.Elems()[i]) {
				return false
			}
		}
		return true
	}
	return equalValue(a, b)
}

// FuzzAppendString checks string escaping against encoding/json.Marshal.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\u2028\u2029", "\x00\x1f\x7f\b\f\n\r\t\"\\", "\xff\xc3", "é🚀",
		// runs of eight and more, with what needs escaping at each place
		"ENC[AES256_GCM,data:YWJj+/==,iv:AAAA,tag:BBBB,type:str]", "abcdefg\x1f", "abcdefgh\"abcdefgh", "0123456789abcdef<",
		"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f ", "        \xe2\x80\xa8", "aaaaaaaa&", "aaaaaaa>aaaaaaaa", "!!!!!!!!\\"} {
		f.Add(s)
	}
	// each byte that needs escaping at each place of an eight-byte run
	for _, c := range "\x00\x01\x1f\"\\<>&\u00e9\u2028" {
		for at := range 8 {
			f.Add(strings.Repeat("a", at) + string(c) + strings.Repeat("b", 15-at))
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := stdjson.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzAppendFloat checks float formatting against encoding/json.Marshal.
func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, 1, 1e21, 1e-7, 5e-324, math.MaxFloat64, 0.1} {
		f.Add(math.Float64bits(x))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		x := math.Float64frombits(bits)
		got, ok := appendFloat(nil, x)
		want, err := stdjson.Marshal(x)
		if ok != (err == nil) || ok && !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s %v, encoding/json %s %v", x, got, ok, want, err)
		}
	})
}
