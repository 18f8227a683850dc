package treediff

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/tree"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func load(t testing.TB, src string) []tree.Document {
	t.Helper()
	if src == "" {
		return nil
	}
	docs, err := yaml.Store{}.LoadPlain([]byte(src))
	if err != nil {
		t.Fatalf("loading %q: %v", src, err)
	}
	return docs
}

// lines renders changes as "KIND PATH" lines, the shape the table
// expects.
func lines(cs []Change) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Kind.String()+" "+tree.FormatPath(c.Path))
	}
	return out
}

func TestDocuments(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want []string
	}{
		{"identical", "a: 1\nb: {c: x}\n", "a: 1\nb: {c: x}\n", nil},
		{"order alone is no change", "a: 1\nb: 2\nc: {x: 1, y: 2}\n", "c: {y: 2, x: 1}\nb: 2\na: 1\n", nil},
		{"comments are ignored",
			"# head\na: 1 # inline\nl:\n  - x\n  # between\n  - y\n",
			"a: 1\n# new\nl:\n  # first\n  - x\n  - y # trailing\n", nil},
		{"scalar changes", "a: 1\nb: x\nc: true\n", "a: 2\nb: x\nc: false\n",
			[]string{`changed ["a"]`, `changed ["c"]`}},
		{"type changes", "a: 1\nb: '1'\nc: {x: 1}\nd: [1]\n", "a: '1'\nb: 1\nc: [1]\nd: {x: 1}\n",
			[]string{`changed ["a"]`, `changed ["b"]`, `changed ["c"]`, `changed ["d"]`}},
		{"nested", "db:\n  user: admin\n  pass: x\n  port: 1\n", "db:\n  pass: y\n  port: 1\n  host: h\n",
			[]string{`removed ["db"]["user"]`, `changed ["db"]["pass"]`, `added ["db"]["host"]`}},
		{"additions where b has them",
			"x: 1\ny: 2\n", "n: 0\nx: 1\nm: 1\ny: 2\nz: 3\n",
			[]string{`added ["n"]`, `added ["m"]`, `added ["z"]`}},
		{"an addition follows the shared key before it, not a removed one",
			"x: 1\nr: 0\ny: 2\n", "x: 1\nq: 9\ny: 2\n",
			[]string{`added ["q"]`, `removed ["r"]`}},
		{"additions in a reordered map follow their predecessor in b",
			"a: 1\nb: 2\nc: 3\n", "c: 3\nn: 0\nb: 2\na: 1\n",
			[]string{`added ["n"]`}},
		{"lists by index", "l: [a, b, c]\n", "l: [a, x]\n",
			[]string{`changed ["l"][1]`, `removed ["l"][2]`}},
		{"list growth", "l: [a]\n", "l: [a, b, c]\n",
			[]string{`added ["l"][1]`, `added ["l"][2]`}},
		{"list indexes skip comments",
			"l:\n  - a\n  - b\n", "l:\n  # one\n  - a\n  # two\n  - c\n",
			[]string{`changed ["l"][1]`}},
		{"maps in lists", "l:\n  - {k: 1, v: 2}\n  - [1, 2]\n", "l:\n  - {k: 1, v: 3}\n  - [1, 2, 3]\n",
			[]string{`changed ["l"][0]["v"]`, `added ["l"][1][2]`}},
		{"encrypted values",
			"a: ENC[AES256_GCM,data:AAA=,iv:x,tag:y,type:str]\nb: ENC[AES256_GCM,data:BBB=,iv:x,tag:y,type:int]\n",
			"a: ENC[AES256_GCM,data:AAA=,iv:x,tag:y,type:str]\nb: ENC[AES256_GCM,data:CCC=,iv:z,tag:w,type:int]\n",
			[]string{`changed ["b"]`}},
		{"non-string keys", "1: a\ntrue: b\n", "1: x\ntrue: b\n", []string{`changed ["1"]`}},
		{"empty file against one document", "", "a: 1\nb: {c: 2}\n", []string{`added ["a"]`, `added ["b"]`}},
		{"one document against an empty file", "a: 1\n", "", []string{`removed ["a"]`}},
		{"documents pair up by index",
			"a: 1\n---\nb: 1\n", "a: 1\n---\nb: 2\n",
			[]string{`changed [1]["b"]`}},
		{"extra documents are whole changes",
			"a: 1\n---\nb: 1\n", "a: 2\n---\nb: 1\n---\nc: 1\n",
			[]string{`changed [0]["a"]`, `added [2]`}},
		{"documents removed", "a: 1\n---\nb: 1\n---\nc: 1\n", "a: 1\n",
			[]string{`removed [1]`, `removed [2]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(Documents(load(t, tt.a), load(t, tt.b)))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestDocumentsValues(t *testing.T) {
	a := load(t, "db:\n  user: admin\n  pass: old\nl: [1, 2]\n---\nx: 1\n")
	b := load(t, "db:\n  pass: new\n  port: 5432\nl: [1]\n---\nx: 1\n---\ny: {z: true}\n")
	want := []Change{
		{Path: []tree.PathStep{{IsIndex: true}, {Key: "db"}, {Key: "user"}}, Kind: Removed, Old: tree.Str("admin")},
		{Path: []tree.PathStep{{IsIndex: true}, {Key: "db"}, {Key: "pass"}}, Kind: Changed, Old: tree.Str("old"), New: tree.Str("new")},
		{Path: []tree.PathStep{{IsIndex: true}, {Key: "db"}, {Key: "port"}}, Kind: Added, New: tree.IntV(5432)},
		{Path: []tree.PathStep{{IsIndex: true}, {Key: "l"}, {Index: 1, IsIndex: true}}, Kind: Removed, Old: tree.IntV(2)},
		{Path: []tree.PathStep{{Index: 2, IsIndex: true}}, Kind: Added,
			New: tree.MapV([]tree.Item{tree.KeyItem("y", tree.MapV([]tree.Item{tree.KeyItem("z", tree.BoolV(true))}))})},
	}
	got := Documents(a, b)
	if len(got) != len(want) {
		t.Fatalf("got %d changes %v, want %d", len(got), lines(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if tree.FormatPath(g.Path) != tree.FormatPath(w.Path) || g.Kind != w.Kind || !tree.Equal(g.Old, w.Old) || !tree.Equal(g.New, w.New) {
			t.Errorf("change %d: got %+v, want %+v", i, g, w)
		}
	}
	// The changes are copies.
	got[1].Old.Str = "changed"
	if v, _ := tree.Lookup(a[0], []tree.PathStep{{Key: "db"}, {Key: "pass"}}); v.Str != "old" {
		t.Error("a change shares storage with the documents")
	}
}

func TestDuplicateKeys(t *testing.T) {
	// JSON and the lenient loaders can hold a key twice: the n-th
	// occurrences pair up.
	a := []tree.Document{{tree.KeyItem("k", tree.IntV(1)), tree.KeyItem("k", tree.IntV(2))}}
	b := []tree.Document{{tree.KeyItem("k", tree.IntV(1)), tree.KeyItem("k", tree.IntV(3)), tree.KeyItem("k", tree.IntV(4))}}
	got := lines(Documents(a, b))
	want := []string{`changed ["k"]`, `added ["k"]`}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Added: "added", Removed: "removed", Changed: "changed", 0: "kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    tree.Value
		want string
	}{
		{tree.Value{}, "null"},
		{tree.Str("admin"), "admin"},
		{tree.Str(""), `""`},
		{tree.Str("two words"), `"two words"`},
		{tree.Str("line\nbreak"), `"line\nbreak"`},
		{tree.Str("tab\there"), `"tab\there"`},
		{tree.Str("\x00bin\xff"), `"\x00bin\xff"`},
		{tree.Str(`"quoted`), `"\"quoted"`},
		{tree.Str(`in"side`), `in"side`},
		{tree.Str("5432"), `"5432"`},
		{tree.Str("0x1F"), `"0x1F"`},
		{tree.Str("1e999"), `"1e999"`},
		{tree.Str("NaN"), `"NaN"`},
		{tree.Str("true"), `"true"`},
		{tree.Str("True"), "True"},
		{tree.Str("null"), `"null"`},
		{tree.Str("2024-01-02T03:04:05Z"), `"2024-01-02T03:04:05Z"`},
		{tree.Str("héllo"), "héllo"},
		{tree.Str("ENC[AES256_GCM,data:AAA=,iv:x,tag:y,type:str]"), "ENC[AES256_GCM,data:AAA=,iv:x,tag:y,type:str]"},
		{tree.IntV(-5432), "-5432"},
		{tree.UintV(math.MaxUint64), "18446744073709551615"},
		{tree.FloatV(1.5), "1.5"},
		{tree.FloatV(1), "1.0"},
		{tree.FloatV(math.Copysign(0, -1)), "-0.0"},
		{tree.FloatV(1e21), "1.0e+21"},
		{tree.FloatV(1.5e-7), "1.5e-07"},
		{tree.FloatV(math.NaN()), "NaN"},
		{tree.FloatV(math.Inf(1)), "+Inf"},
		{tree.FloatV(math.Inf(-1)), "-Inf"},
		{tree.BoolV(true), "true"},
		{tree.TimeV(time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC)), "2024-01-02T03:04:05.6Z"},
		{tree.CommentV(" note", false), `#" note"`},
		{tree.CommentV("note", false), "#note"},
		{tree.MapV(nil), "{}"},
		{tree.ListV(nil), "[]"},
		{tree.MapV([]tree.Item{
			tree.CommentItem(" skipped", false),
			tree.KeyItem("a", tree.IntV(1)),
			{Key: tree.IntV(2), Value: tree.Str("x")},
			tree.KeyItem("l", tree.ListV([]tree.Value{tree.BoolV(true), tree.CommentV("c", true), {}, tree.Str("")})),
			tree.KeyItem("m", tree.MapV([]tree.Item{tree.KeyItem("k", tree.FloatV(2))})),
		}), `{"a": 1, 2: "x", "l": [true, null, ""], "m": {"k": 2.0}}`},
		{tree.Value{Kind: 99}, "kind(99)"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.v); got != tt.want {
			t.Errorf("FormatValue(%+v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

// TestWriteGolden renders diffs of the files in testdata; go test
// -update rewrites the golden files.
func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name       string
		showValues bool
	}{
		{"plain", true},
		{"plain", false},
		{"multidoc", true},
		{"encrypted", false},
		{"encrypted", true},
	}
	for _, tt := range tests {
		golden := tt.name
		if !tt.showValues {
			golden += "-novalues"
		}
		t.Run(golden, func(t *testing.T) {
			a := load(t, readFile(t, filepath.Join("testdata", tt.name+".old.yaml")))
			b := load(t, readFile(t, filepath.Join("testdata", tt.name+".new.yaml")))
			var buf bytes.Buffer
			if err := Write(&buf, Documents(a, b), tt.showValues); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", golden+".golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, path); buf.String() != want {
				t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	// Enough changes to overflow bufio's buffer, so that both the write
	// and the flush paths fail.
	var cs []Change
	for range 500 {
		cs = append(cs, Change{Path: []tree.PathStep{{Key: "a rather long key name"}}, Kind: Added, New: tree.Str("value")})
	}
	for _, n := range []int{0, 10} {
		err := Write(&failWriter{n: n}, cs, true)
		if !errors.Is(err, errFull) || !strings.Contains(err.Error(), "treediff") {
			t.Errorf("Write to a failing writer: %v", err)
		}
		err = Write(&failWriter{n: n}, cs[:1], true)
		if !errors.Is(err, errFull) {
			t.Errorf("Write of one change to a failing writer: %v", err)
		}
	}
}

func TestWriteUnknownKind(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Change{{Path: []tree.PathStep{{Key: "k"}}, Old: tree.IntV(1), New: tree.IntV(2)}}, true); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "? [\"k\"]: 1 -> 2\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
