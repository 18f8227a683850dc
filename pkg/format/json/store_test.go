package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

func load(t *testing.T, in string) tree.Document {
	t.Helper()
	docs, err := New(TabIndent).LoadPlain([]byte(in))
	if err != nil {
		t.Fatalf("LoadPlain(%q): %v", in, err)
	}
	if len(docs) != 1 {
		t.Fatalf("LoadPlain(%q) gave %d documents", in, len(docs))
	}
	return docs[0]
}

func TestLoadValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want tree.Value
	}{
		{`0`, tree.IntV(0)},
		{`-0`, tree.IntV(0)},
		{`-42`, tree.IntV(-42)},
		{`9223372036854775807`, tree.IntV(math.MaxInt64)},
		{`-9223372036854775808`, tree.IntV(math.MinInt64)},
		{`9223372036854775808`, tree.FloatV(9223372036854775808)},
		{`18446744073709551615`, tree.FloatV(18446744073709551615)},
		{`1.0`, tree.FloatV(1)},
		{`-0.0`, tree.FloatV(math.Copysign(0, -1))},
		{`1e2`, tree.FloatV(100)},
		{`1E-2`, tree.FloatV(0.01)},
		{`1e-400`, tree.FloatV(0)},
		{`5e-324`, tree.FloatV(5e-324)},
		{`true`, tree.BoolV(true)},
		{`false`, tree.BoolV(false)},
		{`null`, tree.Value{}},
		{`""`, tree.Str("")},
		{`"plain"`, tree.Str("plain")},
		{`"a\"b\\c\/d\b\f\n\r\t"`, tree.Str("a\"b\\c/d\b\f\n\r\t")},
		{`"\u00e9\u0000"`, tree.Str("é\x00")},
		{`"\ud83d\ude80"`, tree.Str("🚀")},
		{`"\ud83d"`, tree.Str("\uFFFD")},
		{`"\ude80\ud83d"`, tree.Str("\uFFFD\uFFFD")},
		{`"\ud83dx"`, tree.Str("\uFFFDx")},
		{`"\ud83d\u0041"`, tree.Str("\uFFFDA")},
		{`"\ud83d\ud83d\ude80"`, tree.Str("\uFFFD🚀")},
		{"\"\xff\xfe\"", tree.Str("\uFFFD\uFFFD")},
		{"\"a\xed\xa0\x80b\"", tree.Str("a\uFFFD\uFFFD\uFFFDb")},
		{"\"\xc3\"", tree.Str("\uFFFD")},
		{"\"\xef\xbb\xbf\"", tree.Str("\uFEFF")},
		{"\"\x7f\"", tree.Str("\x7f")},
		{`[]`, tree.ListV(nil)},
		{`{}`, tree.MapV(nil)},
		{`[1, "a", [], {}]`, tree.ListV([]tree.Value{tree.IntV(1), tree.Str("a"), tree.ListV(nil), tree.MapV(nil)})},
		{` { "b" : [ null ] } `, tree.MapV([]tree.Item{tree.KeyItem("b", tree.ListV([]tree.Value{{}}))})},
	} {
		doc := load(t, `{"k":`+tc.in+`}`)
		if len(doc) != 1 || doc[0].Key.Str != "k" || !equalValue(doc[0].Value, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.in, doc, tc.want)
		}
		checkAgainstOracle(t, []byte(`{"k":`+tc.in+`}`))
	}
}

func TestLoadStructure(t *testing.T) {
	doc := load(t, "\r\n\t {\"b\":1,\"a\":2,\"b\":3,\"\":4, \"\\u00fc\":5}\n")
	var keys []string
	for _, it := range doc {
		keys = append(keys, it.Key.Str)
	}
	if got := strings.Join(keys, ","); got != "b,a,b,,ü" {
		t.Errorf("keys in order %q, want duplicates kept in file order", got)
	}
	for _, in := range []string{`{}x`, `{} {`, `{"a":1}]`, "{}\xff", `{}}`} {
		if doc := load(t, in); len(doc) > 1 {
			t.Errorf("%q: %d items", in, len(doc))
		}
	}
	if doc := load(t, `{}`); len(doc) != 0 {
		t.Errorf("{}: %d items", len(doc))
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		in, msg string
	}{
		{``, "empty"},
		{" \n\t", "empty"},
		{"\xef\xbb\xbf{}", "byte order mark"},
		{`[1, 2]`, "SOPS only supports JSON files with a top-level object"},
		{`"secret"`, "SOPS only supports JSON files with a top-level object"},
		{`42`, "SOPS only supports JSON files with a top-level object"},
		{`true`, "SOPS only supports JSON files with a top-level object"},
		{`null`, "SOPS only supports JSON files with a top-level object"},
		{`x`, "line 1, column 1"},
		{`{`, "end of input"},
		{`{"a"`, "':'"},
		{`{"a":`, "end of input"},          // SOPS accepts this as {}
		{`{"x":1,"a":[1`, "end of input"},  // SOPS accepts this as {"x":1}
		{`{"a":[[1,2],[3`, "end of input"}, // and this as {}
		{`{"a":1`, "end of input"},
		{`{"a":1,}`, "object key"},
		{`{"a":[1,]}`, "value"},
		{`{"a" 1}`, "':'"},
		{`{"a":1 "b":2}`, `after the value of key "a"`},
		{`{"a":[1 2]}`, "array element"},
		{`{a:1}`, "object key"},
		{`{'a':1}`, "object key"},
		{`{"a":01}`, "line 1, column 7"},
		{`{"a":-}`, "digit"},
		{`{"a":1.}`, "decimal point"},
		{`{"a":.5}`, "expecting a value"},
		{`{"a":1e}`, "exponent"},
		{`{"a":+1}`, "expecting a value"},
		{`{"a":NaN}`, "expecting a value"},
		{`{"a":tru}`, "true"},
		{`{"a":True}`, "expecting a value"},
		{`{"a":nul}`, "null"},
		{"{\"a\":\"x\ty\"}", "control character"},
		{"{\"a\":\"x\ny\"}", "line 1, column 8"},
		{`{"a":"\x"}`, "escape"},
		{`{"a":"\'"}`, "escape"},
		{`{"a":"\u12"}`, `\u escape`},
		{`{"a":"\ud800\u12"}`, `\u escape`},
		{`{"a":"abc`, "end of input in string"},
		{`{"a":"abc\`, "end of input in string"},
		{"{\"a\":\"\xff", "end of input in string"},
		{"{\n\"a\":1e400}", `key "a"`},
		{`{"a":[1e400]}`, `key "a"`},
		{`{"a":{"b":-1e400}}`, `key "b"`},
		{strings.Repeat(`{"a":`, maxDepth+1), "nested too deeply"},
		{`{"a":` + strings.Repeat(`[`, maxDepth), "nested too deeply"},
	} {
		_, err := New(TabIndent).LoadPlain([]byte(tc.in))
		if err == nil {
			t.Errorf("LoadPlain(%.40q) succeeded", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("LoadPlain(%.40q): error %q does not mention %q", tc.in, err, tc.msg)
		}
		for _, secret := range []string{"secret", "abc", "1e400", "01", "x\ty"} {
			if strings.Contains(tc.in, secret) && strings.Contains(err.Error(), secret) {
				t.Errorf("LoadPlain(%.40q): error %q shows the input", tc.in, err)
			}
		}
		if len(tc.in) < 1000 {
			if _, werr := oracleLoad([]byte(tc.in)); werr == nil {
				t.Errorf("encoding/json accepts %q", tc.in)
			}
		}
	}
	// Deep but within the limit is fine: SOPS 3.13.2 encrypts a file
	// with an object and 9999 arrays, and fails on one more.
	in := `{"a":` + strings.Repeat(`[`, maxDepth-1) + "1" + strings.Repeat(`]`, maxDepth-1) + `}`
	if _, err := New(TabIndent).LoadPlain([]byte(in)); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
}

func TestEmitDepth(t *testing.T) {
	nest := func(n int) tree.Value {
		v := tree.IntV(1)
		for range n {
			v = tree.ListV([]tree.Value{v})
		}
		return v
	}
	s := New(0)
	if _, err := s.EmitPlain([]tree.Document{{tree.KeyItem("a", nest(maxDepth-1))}}); err != nil {
		t.Errorf("depth %d: %v", maxDepth, err)
	}
	if _, err := s.EmitPlain([]tree.Document{{tree.KeyItem("a", nest(maxDepth))}}); !errors.Is(err, errDepth) {
		t.Errorf("depth %d: %v", maxDepth+1, err)
	}
	if _, err := s.EmitValue(nest(maxDepth)); err != nil {
		t.Errorf("EmitValue depth %d: %v", maxDepth, err)
	}
	if _, err := s.EmitValue(nest(maxDepth + 1)); !errors.Is(err, errDepth) {
		t.Errorf("EmitValue depth %d: %v", maxDepth+1, err)
	}
}

func emit(t *testing.T, s *Store, doc tree.Document) string {
	t.Helper()
	out, err := s.EmitPlain([]tree.Document{doc})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestEmitLayout(t *testing.T) {
	doc := tree.Document{
		tree.CommentItem(" top", false),
		tree.KeyItem("a", tree.IntV(1)),
		tree.KeyItem("l", tree.ListV([]tree.Value{
			tree.CommentV("c", false), tree.Str("x"), tree.CommentV("d", true),
			tree.ListV(nil), tree.MapV(nil),
			tree.ListV([]tree.Value{tree.CommentV("only", false)}),
			tree.MapV([]tree.Item{tree.CommentItem("only", false)}),
		})),
		tree.KeyItem("m", tree.MapV([]tree.Item{tree.KeyItem("b", tree.Value{}), tree.CommentItem("end", true)})),
	}
	for _, tc := range []struct {
		indent int
		want   string
	}{
		{-1, "{\n\t\"a\": 1,\n\t\"l\": [\n\t\t\"x\",\n\t\t[],\n\t\t{},\n\t\t[],\n\t\t{}\n\t],\n\t\"m\": {\n\t\t\"b\": null\n\t}\n}\n"},
		{0, "{\n\"a\": 1,\n\"l\": [\n\"x\",\n[],\n{},\n[],\n{}\n],\n\"m\": {\n\"b\": null\n}\n}\n"},
		{2, "{\n  \"a\": 1,\n  \"l\": [\n    \"x\",\n    [],\n    {},\n    [],\n    {}\n  ],\n  \"m\": {\n    \"b\": null\n  }\n}\n"},
	} {
		s := New(tc.indent)
		if got := emit(t, s, doc); got != tc.want {
			t.Errorf("indent %d:\n%s\nwant:\n%s", tc.indent, got, tc.want)
		}
		want, err := oracleEmit(doc, tc.indent)
		if err != nil {
			t.Fatal(err)
		}
		if got := emit(t, s, doc); got != string(want) {
			t.Errorf("indent %d: encoding/json gives\n%s", tc.indent, want)
		}
	}
	if got := emit(t, New(-1), nil); got != "{}\n" {
		t.Errorf("empty document: %q", got)
	}
	if got := emit(t, New(-1), tree.Document{tree.CommentItem("c", false)}); got != "{}\n" {
		t.Errorf("document of comments: %q", got)
	}
}

func TestEmitFirstDocumentOnly(t *testing.T) {
	out, err := New(4).EmitPlain([]tree.Document{
		{tree.KeyItem("a", tree.IntV(1))},
		{tree.KeyItem("b", tree.IntV(2))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "{\n    \"a\": 1\n}\n" {
		t.Errorf("got %q", out)
	}
}

func TestEmitScalars(t *testing.T) {
	tm := time.Date(2024, 1, 2, 3, 4, 5, 600, time.FixedZone("", 3600))
	for _, tc := range []struct {
		v    tree.Value
		want string
	}{
		{tree.IntV(math.MinInt64), "-9223372036854775808"},
		{tree.UintV(math.MaxUint64), "18446744073709551615"},
		{tree.FloatV(1), "1"},
		{tree.FloatV(math.Copysign(0, -1)), "-0"},
		{tree.FloatV(1e21), "1e+21"},
		{tree.FloatV(1e20), "100000000000000000000"},
		{tree.FloatV(1e-7), "1e-7"},
		{tree.FloatV(1e-6), "0.000001"},
		{tree.FloatV(1.5e-10), "1.5e-10"},
		{tree.FloatV(-2.5e-300), "-2.5e-300"},
		{tree.FloatV(math.MaxFloat64), "1.7976931348623157e+308"},
		{tree.BoolV(false), "false"},
		{tree.Value{}, "null"},
		{tree.TimeV(tm), `"2024-01-02T03:04:05.0000006+01:00"`},
		{tree.Str("<a href='x'>&amp;</a>"), `"\u003ca href='x'\u003e\u0026amp;\u003c/a\u003e"`},
		{tree.Str("\u2028\u2029\u2027"), `"\u2028\u2029` + "\u2027\""},
		{tree.Str("\x00\x01\x1f\x7f\b\f"), `"\u0000\u0001\u001f` + "\x7f" + `\b\f"`},
		{tree.Str("a\xffb\xc3"), `"a\ufffdb\ufffd"`},
		{tree.Str("\uFFFD"), "\"\uFFFD\""},
	} {
		got, err := New(-1).EmitValue(tc.v)
		if err != nil {
			t.Errorf("%#v: %v", tc.v, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("%#v: got %s, want %s", tc.v, got, tc.want)
		}
		var x bytes.Buffer
		if err := oracleCompact(&x, tc.v); err != nil {
			t.Fatal(err)
		}
		if x.String() != tc.want {
			t.Errorf("%#v: encoding/json gives %s", tc.v, x.String())
		}
	}
}

func TestEmitFloatsLikeEncodingJSON(t *testing.T) {
	vals := []float64{0, 1e-6, 9.999999999999999e-7, 1e21, 999999999999999900000, 123456789, 0.1, 1.0 / 3, 5e-324, 2.2250738585072014e-308}
	for e := -330; e <= 310; e++ {
		vals = append(vals, math.Pow(10, float64(e)), 1.2345*math.Pow(10, float64(e)))
	}
	for _, f := range vals {
		if math.IsInf(f, 0) {
			continue
		}
		for _, f := range []float64{f, -f} {
			got, ok := appendFloat(nil, f)
			want, err := stdjson.Marshal(f)
			if !ok || err != nil || string(got) != string(want) {
				t.Errorf("%v: got %s, encoding/json %s", f, got, want)
			}
		}
	}
}

func TestEmitErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  tree.Document
		msg  string
	}{
		{"nan", tree.Document{tree.KeyItem("pw", tree.FloatV(math.NaN()))}, `"pw"`},
		{"inf in list", tree.Document{tree.KeyItem("pw", tree.ListV([]tree.Value{tree.FloatV(math.Inf(-1))}))}, `"pw"`},
		{"year", tree.Document{tree.KeyItem("t", tree.TimeV(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))}, `"t"`},
		{"int key", tree.Document{{Key: tree.IntV(1), Value: tree.IntV(2)}}, "map key of type int"},
		{"comment value", tree.Document{tree.KeyItem("c", tree.CommentV("x", false))}, "comment"},
	} {
		_, err := New(-1).EmitPlain([]tree.Document{tc.doc})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one mentioning %s", tc.name, err, tc.msg)
		}
	}
	if _, err := New(-1).EmitPlain(nil); err == nil {
		t.Error("EmitPlain(nil) succeeded")
	}
	if _, err := New(-1).EmitEncrypted(nil, nil); err == nil {
		t.Error("EmitEncrypted(nil) succeeded")
	}
	doc := tree.Document{tree.KeyItem("a", tree.IntV(1))}
	for _, indent := range []int{-2, -100} {
		s := New(indent)
		if _, err := s.EmitPlain([]tree.Document{doc}); err == nil || !strings.Contains(err.Error(), "-1") {
			t.Errorf("indent %d: EmitPlain error %v", indent, err)
		}
		if _, err := s.EmitEncrypted([]tree.Document{doc}, nil); err == nil {
			t.Errorf("indent %d: EmitEncrypted succeeded", indent)
		}
		if _, err := s.EmitValue(tree.IntV(1)); err == nil {
			t.Errorf("indent %d: EmitValue succeeded", indent)
		}
		if _, err := s.LoadPlain([]byte(`{}`)); err != nil {
			t.Errorf("indent %d: LoadPlain: %v", indent, err)
		}
	}
}

func TestEmitValue(t *testing.T) {
	list := tree.ListV([]tree.Value{tree.IntV(1), tree.CommentV("c", false), tree.MapV([]tree.Item{tree.KeyItem("a", tree.BoolV(true))}), tree.ListV(nil)})
	for _, tc := range []struct {
		indent int
		v      tree.Value
		want   string
	}{
		{-1, tree.IntV(5432), "5432"},
		{-1, tree.FloatV(30.5), "30.5"},
		{-1, tree.BoolV(true), "true"},
		{-1, tree.Value{}, "null"},
		{-1, tree.Str("a<b"), `"a\u003cb"`},
		{-1, tree.ListV(nil), "[]"},
		{-1, list, "[\n\t1,\n\t{\n\t\t\"a\": true\n\t},\n\t[]\n]"},
		{2, list, "[\n  1,\n  {\n    \"a\": true\n  },\n  []\n]"},
		{-1, tree.MapV(nil), "{}\n"},
		{-1, tree.MapV([]tree.Item{tree.KeyItem("k", list)}), "{\n\t\"k\": [\n\t\t1,\n\t\t{\n\t\t\t\"a\": true\n\t\t},\n\t\t[]\n\t]\n}\n"},
	} {
		got, err := New(tc.indent).EmitValue(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("EmitValue(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestEncrypted(t *testing.T) {
	s := New(TabIndent)
	meta := []tree.Item{
		tree.KeyItem("lastmodified", tree.Str("2026-11-28T20:31:18Z")),
		tree.KeyItem("mac_only_encrypted", tree.BoolV(true)),
		tree.KeyItem("shamir_threshold", tree.IntV(2)),
		tree.KeyItem("version", tree.Str("3.13.2")),
	}
	doc := make(tree.Document, 1, 2)
	doc[0] = tree.KeyItem("a", tree.Str("ENC[x]"))
	docs := []tree.Document{doc, {tree.KeyItem("second", tree.IntV(1))}}
	out, err := s.EmitEncrypted(docs, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n\t\"a\": \"ENC[x]\",\n\t\"sops\": {\n\t\t\"lastmodified\": \"2026-11-28T20:31:18Z\",\n\t\t\"mac_only_encrypted\": true,\n\t\t\"shamir_threshold\": 2,\n\t\t\"version\": \"3.13.2\"\n\t}\n}\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	if len(docs[0]) != 1 || len(doc[:2]) == 2 && doc[:2][1].Key.Str == "sops" {
		t.Error("EmitEncrypted changed the caller's document")
	}

	gotDocs, gotMeta, err := s.LoadEncrypted(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotDocs) != 1 || !equalItems(gotDocs[0], doc) || !equalItems(gotMeta, meta) {
		t.Errorf("LoadEncrypted gave %#v, %#v", gotDocs, gotMeta)
	}
	if !s.HasMetadataKey(load(t, string(out))) || s.HasMetadataKey(doc) {
		t.Error("HasMetadataKey is wrong")
	}

	if _, err := s.EmitEncrypted([]tree.Document{load(t, string(out))}, meta); err == nil {
		t.Error("EmitEncrypted wrote a second sops entry")
	}
	if _, _, err := s.LoadEncrypted([]byte(`{"a":1}`)); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("no metadata: %v", err)
	}
	if _, _, err := s.LoadEncrypted([]byte(`{"sops":"x"}`)); err == nil {
		t.Error("a string sops entry was accepted")
	}
	if _, _, err := s.LoadEncrypted([]byte(`[]`)); err == nil || errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("top-level array: %v", err)
	}
	// A nested "sops" is ordinary data.
	if _, _, err := s.LoadEncrypted([]byte(`{"a":{"sops":{}}}`)); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("nested sops: %v", err)
	}
}
