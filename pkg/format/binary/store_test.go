package binary

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

func TestPlainIsIdentity(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, in := range [][]byte{
		nil, {}, []byte("text\n"), []byte("no newline"), all,
		[]byte("\xff\xfe\xed\xa0\x80 invalid UTF-8 \xc3"), []byte("\x00\x00"),
		[]byte(`{"data": "looks like JSON"}`), bytes.Repeat([]byte("\r\n"), 1000),
	} {
		s := New(-1)
		docs, err := s.LoadPlain(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 1 || len(docs[0]) != 1 || docs[0][0].Key.Str != DataKey || docs[0][0].Value.Kind != tree.String {
			t.Fatalf("LoadPlain(%q) = %#v", in, docs)
		}
		out, err := s.EmitPlain(docs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, in) {
			t.Errorf("EmitPlain(LoadPlain(%q)) = %q", in, out)
		}
	}
}

func FuzzPlainIsIdentity(f *testing.F) {
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := New(-1)
		docs, err := s.LoadPlain(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.EmitPlain(docs)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("EmitPlain(LoadPlain(%q)) = %q, %v", in, out, err)
		}
	})
}

func TestEmitPlain(t *testing.T) {
	s := New(-1)
	for _, tc := range []struct {
		name string
		docs []tree.Document
		want string // or the error text
		ok   bool
	}{
		{"first data wins", []tree.Document{{
			tree.CommentItem("data", false),
			tree.KeyItem("other", tree.Str("x")),
			tree.KeyItem("data", tree.Str("one")),
			tree.KeyItem("data", tree.Str("two")),
		}}, "one", true},
		{"any document with data", []tree.Document{{tree.KeyItem("data", tree.Str("")), tree.KeyItem("sops", tree.MapV(nil))}}, "", true},
		{"no data", []tree.Document{{tree.KeyItem("DATA", tree.Str("x"))}}, "no binary data found in tree", false},
		{"nested data", []tree.Document{{tree.KeyItem("a", tree.MapV([]tree.Item{tree.KeyItem("data", tree.Str("x"))}))}}, "no binary data found in tree", false},
		{"empty document", []tree.Document{{}}, "no binary data found in tree", false},
		{"data not a string", []tree.Document{{tree.KeyItem("data", tree.IntV(1)), tree.KeyItem("data", tree.Str("x"))}}, "not a string", false},
		{"no documents", nil, "exactly one document", false},
		{"two documents", []tree.Document{{tree.KeyItem("data", tree.Str("x"))}, {}}, "exactly one document", false},
	} {
		out, err := s.EmitPlain(tc.docs)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.ok && string(out) != tc.want:
			t.Errorf("%s: got %q, want %q", tc.name, out, tc.want)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		case !tc.ok && !errors.Is(err, ErrEmitPlain):
			t.Errorf("%s: error %v does not wrap ErrEmitPlain", tc.name, err)
		}
	}
}

// TestCorpus checks the binary cases: the plaintext is kept as it is, and
// the envelope SOPS wrote reads and writes back byte for byte.
func TestCorpus(t *testing.T) {
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rows {
		if r["format"] != "binary" || r["kind"] != "roundtrip" {
			continue
		}
		n++
		t.Run(r["case"], func(t *testing.T) {
			s := New(-1)
			in := read(t, r.Path("input"))
			docs, err := s.LoadPlain(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.EmitPlain(docs)
			if err != nil {
				t.Fatal(err)
			}
			if want := read(t, r.Path("expected_stdout")); !bytes.Equal(out, want) {
				t.Errorf("plaintext: got %q, want %q", out, want)
			}

			enc := read(t, r.Path("encrypted"))
			docs, meta, err := s.LoadEncrypted(enc)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || len(docs[0]) != 1 || docs[0][0].Key.Str != DataKey {
				t.Errorf("envelope holds %#v", docs)
			}
			if _, ok := tree.Get(meta, "unencrypted_suffix"); ok {
				t.Error("binary metadata has a rule field")
			}
			got, err := s.EmitEncrypted(docs, meta)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, enc) {
				t.Errorf("envelope:\n%s\nwant:\n%s", got, enc)
			}
		})
	}
	if n != 3 {
		t.Errorf("%d binary roundtrip rows, the test knows 3", n)
	}
	tampered := read(t, filepath.Join(corpus.Dir(), "cases", "tamper-binary-ciphertext-bit", "encrypted.bin"))
	docs, meta, err := New(-1).LoadEncrypted(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := New(-1).EmitEncrypted(docs, meta); err != nil || !bytes.Equal(got, tampered) {
		t.Errorf("tampered envelope does not round-trip: %v", err)
	}
}

func TestEnvelope(t *testing.T) {
	docs := []tree.Document{{tree.KeyItem("data", tree.Str("ENC[x]"))}}
	meta := []tree.Item{tree.KeyItem("version", tree.Str("3.13.2"))}
	for _, tc := range []struct {
		indent int
		want   string
	}{
		{-1, "{\n\t\"data\": \"ENC[x]\",\n\t\"sops\": {\n\t\t\"version\": \"3.13.2\"\n\t}\n}\n"},
		{2, "{\n  \"data\": \"ENC[x]\",\n  \"sops\": {\n    \"version\": \"3.13.2\"\n  }\n}\n"},
	} {
		out, err := New(tc.indent).EmitEncrypted(docs, meta)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tc.want {
			t.Errorf("indent %d:\n%s", tc.indent, out)
		}
	}
	if _, err := New(-2).EmitEncrypted(docs, meta); err == nil {
		t.Error("indent -2 accepted")
	}
	if _, _, err := New(-1).LoadEncrypted([]byte("raw bytes")); err == nil {
		t.Error("LoadEncrypted accepted raw bytes")
	}
	if _, _, err := New(-1).LoadEncrypted([]byte(`{"data":"x"}`)); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("no metadata: %v", err)
	}
}

func TestEmitValueAndMetadataKey(t *testing.T) {
	s := New(-1)
	if _, err := s.EmitValue(tree.Str("x")); err == nil {
		t.Error("EmitValue succeeded")
	}
	if !s.HasMetadataKey(tree.Document{tree.KeyItem("sops", tree.MapV(nil))}) {
		t.Error("sops key not seen")
	}
	docs, _ := s.LoadPlain([]byte(`{"sops": {}}`))
	if s.HasMetadataKey(docs[0]) {
		t.Error("plain bytes that look like metadata count as metadata")
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
