package yaml

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// compareEmit writes docs with both emitters and reports a difference;
// it returns whether the fast one took them.
func compareEmit(t testing.TB, name string, docs []tree.Document, meta []tree.Item, indent int) bool {
	t.Helper()
	s := Store{Indent: indent}
	want, werr := s.encoderEmit(docs, meta, indent)
	got, ok := s.fastEmit(docs, meta, indent)
	if !ok {
		return false
	}
	if werr != nil {
		t.Errorf("%s (indent %d): the encoder fails (%v) where fastEmit writes %q", name, indent, werr, got)
		return true
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s (indent %d): fastEmit differs from the encoder\nfast:    %q\nencoder: %q", name, indent, got, want)
	}
	return true
}

// yamlInputs returns the YAML texts of the interop corpus, of this
// package's testdata and of the fuzz corpus, by name.
func yamlInputs(t *testing.T) (names []string, texts [][]byte) {
	t.Helper()
	var files []string
	for _, pattern := range []string{
		filepath.Join(corpus.Dir(), "cases", "*", "*.yaml"),
		filepath.Join(corpus.Dir(), "cases", "*", "*.yml"),
		filepath.Join("testdata", "*", "*.yaml"),
	} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		names, texts = append(names, f), append(texts, data)
	}
	fuzz, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "*", "*"))
	for _, f := range fuzz {
		if strings.Contains(f, "FuzzFastEmit") {
			continue // trees, not YAML
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if q, ok := strings.CutPrefix(line, "[]byte("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil {
					names, texts = append(names, f), append(texts, []byte(s))
				}
			}
		}
	}
	return names, texts
}

// TestFastEmitMatchesEncoder loads every YAML file of the corpora and
// writes it with fastEmit and with the encoder, with indents 2, 3 and 4,
// plain and with metadata (its own for encrypted files), with comments as
// loaded and detached as decryption leaves them: the bytes must be equal,
// and most files must take the fast path.
func TestFastEmitMatchesEncoder(t *testing.T) {
	names, texts := yamlInputs(t)
	var total, fast int
	var slow []string
	meta := []tree.Item{
		tree.KeyItem("age", tree.ListV([]tree.Value{tree.MapV([]tree.Item{
			tree.KeyItem("recipient", tree.Str("age1xyz")),
			tree.KeyItem("enc", tree.Str("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n")),
		})})),
		tree.KeyItem("lastmodified", tree.Str("2024-01-02T03:04:05Z")),
		tree.KeyItem("mac", tree.Str("ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]")),
		tree.KeyItem("unencrypted_suffix", tree.Str("_unencrypted")),
		tree.KeyItem("version", tree.Str("3.13.2")),
	}
	for i, text := range texts {
		docs, err := Store{}.LoadPlain(text)
		if err != nil || len(docs) == 0 {
			continue
		}
		variants := []struct {
			name string
			docs []tree.Document
			meta []tree.Item
		}{{"plain", docs, nil}, {"meta", docs, meta}}
		if d, m, err := format.SplitMetadata(tree.CloneDocuments(docs)); err == nil && m != nil {
			variants = append(variants, struct {
				name string
				docs []tree.Document
				meta []tree.Item
			}{"own meta", d, m})
		}
		detached := tree.CloneDocuments(docs)
		tree.DetachComments(detached)
		variants = append(variants, struct {
			name string
			docs []tree.Document
			meta []tree.Item
		}{"detached", detached, nil})
		fileFast := true
		for _, v := range variants {
			for _, indent := range []int{2, 3, 4} {
				if !compareEmit(t, names[i]+" "+v.name, v.docs, v.meta, indent) {
					fileFast = false
				}
			}
		}
		total++
		if fileFast {
			fast++
		} else {
			slow = append(slow, names[i])
		}
	}
	t.Logf("%d of %d YAML files took the fast path in every variant; the others: %q", fast, total, slow)
	if total < 100 || fast*10 < total*9 {
		t.Errorf("only %d of %d files took the fast path", fast, total)
	}
}

// TestFastEmitBenchdata compares the emitters on the benchmark documents.
func TestFastEmitBenchdata(t *testing.T) {
	doc := benchdata.Document(3000)
	meta := []tree.Item{tree.KeyItem("version", tree.Str("3.13.2"))}
	for _, indent := range []int{2, 4} {
		for _, m := range [][]tree.Item{nil, meta} {
			if !compareEmit(t, "benchdata", []tree.Document{doc, benchdata.Document(10)}, m, indent) {
				t.Errorf("benchdata (indent %d) did not take the fast path", indent)
			}
		}
	}
}

// TestFastEmitCases covers constructs the corpora hold little of.
func TestFastEmitCases(t *testing.T) {
	c := tree.CommentItem
	cv := tree.CommentV
	s := tree.Str
	nested := tree.MapV([]tree.Item{c(" head", false), tree.KeyItem("x", s("1")), c(" foot", false)})
	cases := map[string][]tree.Document{
		"empty doc":      {{}},
		"empty docs":     {{}, {}, {tree.KeyItem("a", s("b"))}},
		"empty values":   {{tree.KeyItem("m", tree.MapV(nil)), tree.KeyItem("l", tree.ListV(nil)), tree.KeyItem("n", tree.Value{})}},
		"seq of empties": {{tree.KeyItem("l", tree.ListV([]tree.Value{tree.MapV(nil), tree.ListV(nil), {}}))}},
		"nested seqs":    {{tree.KeyItem("l", tree.ListV([]tree.Value{tree.ListV([]tree.Value{s("a"), tree.ListV([]tree.Value{s("b")})}), tree.MapV([]tree.Item{tree.KeyItem("k", tree.MapV([]tree.Item{tree.KeyItem("j", tree.ListV([]tree.Value{s("x\ny\n")}))}))})}))}},
		"literals": {{
			tree.KeyItem("clip", s("a\nb\n")), tree.KeyItem("strip", s("a\nb")), tree.KeyItem("keep", s("a\n\n")),
			tree.KeyItem("nl", s("\n")), tree.KeyItem("lead", s("  a\nb")), tree.KeyItem("leadnl", s("\na")),
			tree.KeyItem("num", s("-----BEGIN X-----\nabc\n-----END X-----\n")), tree.KeyItem("trail", s("a \nb")),
			tree.KeyItem("tab", s("a\n\tb")), tree.KeyItem("blank", s("a\n\n\nb")), tree.KeyItem("uni", s("é\nü")),
			tree.KeyItem("in seq", tree.ListV([]tree.Value{s("a\nb"), s("c\n"), tree.MapV([]tree.Item{tree.KeyItem("k", s("d\ne"))})})),
		}},
		"quoting": {{
			tree.KeyItem("", s("")), tree.KeyItem("a: b", s("c: d")), tree.KeyItem("#x", s("# y")), tree.KeyItem("yes", s("no")),
			tree.KeyItem("123", s("0755")), tree.KeyItem("1.5", s("1e3")), tree.KeyItem("-", s("- x")), tree.KeyItem("'q'", s(`"d"`)),
			tree.KeyItem("t\tab", s("x\ty")), tree.KeyItem("emoji 😀", s("ctl \x01\x7f")), tree.KeyItem("bom", s("\uFEFFx")),
			tree.KeyItem("<<", s("<<")), tree.KeyItem("bin", s("\xff\xfe")), tree.KeyItem("~", s("null")), tree.KeyItem("---", s("...")),
			tree.KeyItem(" lead", s("trail ")), tree.KeyItem("a\u2028b", s("c\rd")), tree.KeyItem(strings.Repeat("k", 129), s("long")),
			tree.KeyItem("nbsp\u00a0", s("\u0085")), tree.KeyItem("time", tree.TimeV(time.Date(2024, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)))),
			tree.KeyItem("floats", tree.ListV([]tree.Value{tree.FloatV(1), tree.FloatV(1e21), tree.FloatV(-0.5), tree.FloatV(math.Inf(1)), tree.FloatV(math.Inf(-1)), tree.FloatV(math.NaN()), tree.FloatV(math.Copysign(0, -1))})),
			tree.KeyItem("ints", tree.ListV([]tree.Value{tree.IntV(-3), tree.UintV(math.MaxUint64), tree.BoolV(true), {}})),
		}},
		"comments": {{
			c(" top", false), c("ENC[AES256_GCM,data:x,type:comment]", false),
			tree.KeyItem("a", s("1")), c(" before b", false),
			tree.KeyItem("b", nested), c(" mid", false), c(" inline", true), tree.KeyItem("s", s("v")),
			tree.KeyItem("l", tree.ListV([]tree.Value{cv(" l head", false), s("x"), cv(" before y", false), cv(" inl", true), s("y\nz"), cv(" l foot", false)})),
			tree.KeyItem("lm", tree.ListV([]tree.Value{cv(" e", false), nested, nested})),
			c(" end", false), c(" end inline", true),
		}},
		"line comments": {{
			tree.KeyItem("a", s("1")), c(" i1", true), c(" i2", true), tree.KeyItem("b", s("x\ny")),
			c(" i3", true), tree.KeyItem("c", s("")),
		}},
		"foot after nested":  {{tree.KeyItem("a", tree.MapV([]tree.Item{tree.KeyItem("b", s("c")), c(" f", false)})), tree.KeyItem("d", s("e")), c(" last", false)}},
		"foot in seq":        {{tree.KeyItem("a", tree.ListV([]tree.Value{tree.ListV([]tree.Value{s("x"), cv(" f", false)}), s("y")})), tree.KeyItem("b", s("c"))}},
		"multi-line comment": {{c(" a\n b", false), tree.KeyItem("k", s("v")), c("x\n\ny", false), tree.KeyItem("k2", s("v"))}},
		"comment value":      {{tree.KeyItem("k", cv(" text", false))}},
		"inline before map":  {{tree.KeyItem("a", s("1")), c(" i", true), tree.KeyItem("b", nested)}},
		"comments only":      {{c(" a", false), c(" b", true)}, {tree.KeyItem("m", tree.MapV([]tree.Item{c(" in", false)})), tree.KeyItem("l", tree.ListV([]tree.Value{tree.MapV([]tree.Item{c(" in", true)})}))}},
		"int key":            {{{Key: tree.IntV(1), Value: s("one")}}},
	}
	for name, docs := range cases {
		for _, indent := range []int{2, 3, 4, 9} {
			if !compareEmit(t, name, docs, nil, indent) {
				t.Logf("%s (indent %d): encoder", name, indent)
			}
			// Each entry on its own, so that one that falls back does
			// not hide the others.
			for _, it := range docs[len(docs)-1] {
				if !compareEmit(t, name, []tree.Document{{it}}, nil, indent) && indent == 4 {
					t.Logf("%s: %v falls back", name, it.Key)
				}
			}
		}
	}
}

// FuzzFastEmit builds trees from the fuzz input and checks that whatever
// fastEmit writes is what the encoder writes, and loads back as the
// encoder's output does.
func FuzzFastEmit(f *testing.F) {
	f.Add([]byte("hello"), uint8(4))
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"), uint8(2))
	f.Add([]byte("a: b\n#c\n- d\n\ttab 'q' \"dq\" é 😀 \x00\xff"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, indent uint8) {
		g := &treeGen{data: data}
		var docs []tree.Document
		for n := 1 + g.next()%3; n > 0; n-- {
			docs = append(docs, tree.Document(g.items(0)))
		}
		var meta []tree.Item
		if g.next()%4 == 0 {
			meta = g.items(2)
		}
		width := 2 + int(indent%8)
		checkFastEmit(t, docs, meta, width)
		// Each entry on its own too, so that one the fast path leaves to
		// the encoder does not hide the others.
		for _, it := range docs[0] {
			checkFastEmit(t, []tree.Document{{it}}, nil, width)
		}
	})
}

func checkFastEmit(t *testing.T, docs []tree.Document, meta []tree.Item, width int) {
	t.Helper()
	s := Store{Indent: width}
	got, ok := s.fastEmit(docs, meta, width)
	if !ok {
		return
	}
	want, err := s.encoderEmit(docs, meta, width)
	if err != nil {
		t.Fatalf("the encoder fails (%v) where fastEmit writes %q", err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("fastEmit differs from the encoder\nfast:    %q\nencoder: %q\ntree: %#v", got, want, docs)
	}
	wantDocs, werr := s.LoadPlain(want)
	gotDocs, gerr := s.LoadPlain(got)
	if (werr == nil) != (gerr == nil) || werr == nil && !tree.DocumentsEqual(gotDocs, wantDocs) {
		t.Fatalf("the outputs load differently: %v / %v", gerr, werr)
	}
}

// treeGen draws a tree from fuzz bytes.
type treeGen struct {
	data []byte
	pos  int
}

func (g *treeGen) next() int {
	if g.pos >= len(g.data) {
		g.pos++
		return g.pos * 7
	}
	b := g.data[g.pos]
	g.pos++
	return int(b)
}

var fuzzStrings = []string{
	"", "a", "ENC[AES256_GCM,data:abc=,iv:x/y+z=,tag:q==,type:str]", "a b", "a: b", "a:b", "#", "a #b", "a#b",
	"- a", "-", "--- a", "...", "? x", "'", "\"", "\\", "yes", "No", "on", "true", "null", "~", "1", "0755", "1.5",
	"-1", "+1", ".5", ".inf", "1e3", "0x1F", "1_000", "12:30", "2024-01-02", "<<", " a", "a ", "a\nb", "a\nb\n",
	"a\n\n", "\n", "\na", " a\nb", "a \nb", "a\n b", "a\n\tb", "\tb", "é", "😀", "\u00a0", "\u0085", "\u2028",
	"\r\n", "\x00", "\x7f", "\xff", "\uFEFF", "a\x01b", "{a}", "[a]", "a,b", "a, b", "@a", "`a", "%a", "!a", "&a",
	"*a", "|", ">", "a|b", "a>b", "line1\nline2\nline3", "-----BEGIN X-----\nAAA\n-----END X-----\n", "1\n2",
	"x: y\nz", "a\n\n\nb\n\n", "  \n  ", " ", "  ", "a  b", "a\t", "ü: ö", strings.Repeat("k", 129),
}

func (g *treeGen) str() string {
	switch n := g.next(); n % 4 {
	case 0, 1:
		return fuzzStrings[g.next()%len(fuzzStrings)]
	case 2:
		return fuzzStrings[g.next()%len(fuzzStrings)] + fuzzStrings[g.next()%len(fuzzStrings)]
	default:
		l := g.next() % 12
		start := min(g.pos, len(g.data))
		end := min(start+l, len(g.data))
		g.pos = start + l
		return string(g.data[start:end])
	}
}

func (g *treeGen) comment() string {
	if g.next()%8 == 0 {
		return g.str()
	}
	return fuzzStrings[g.next()%len(fuzzStrings)%3] + " c"
}

func (g *treeGen) items(depth int) []tree.Item {
	var items []tree.Item
	for n := g.next() % 6; n > 0; n-- {
		switch k := g.next() % 10; {
		case k < 2:
			items = append(items, tree.CommentItem(g.comment(), k == 1))
		case k == 2 && g.next()%4 == 0:
			items = append(items, tree.Item{Key: g.scalar(), Value: g.value(depth + 1)})
		default:
			items = append(items, tree.KeyItem(g.str(), g.value(depth+1)))
		}
	}
	return items
}

func (g *treeGen) scalar() tree.Value {
	switch g.next() % 10 {
	case 0:
		return tree.IntV(int64(g.next()) - 100)
	case 1:
		return tree.FloatV([]float64{0, 1, -1.5, 1e21, 1e-7, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 3.25}[g.next()%10])
	case 2:
		return tree.BoolV(g.next()%2 == 0)
	case 3:
		return tree.Value{}
	case 4:
		return tree.TimeV(time.Date(2000+g.next(), time.Month(1+g.next()%12), 1+g.next()%28, g.next()%24, 0, 0, g.next()*1000, time.FixedZone("", 3600*(g.next()%5-2))))
	case 5:
		return tree.UintV(math.MaxUint64 - uint64(g.next()))
	}
	return tree.Str(g.str())
}

func (g *treeGen) value(depth int) tree.Value {
	if depth < 4 {
		switch g.next() % 8 {
		case 0:
			return tree.MapV(g.items(depth))
		case 1:
			var elems []tree.Value
			for n := g.next() % 5; n > 0; n-- {
				switch k := g.next() % 8; k {
				case 0, 1:
					elems = append(elems, tree.CommentV(g.comment(), k == 1))
				default:
					elems = append(elems, g.value(depth+1))
				}
			}
			return tree.ListV(elems)
		}
	}
	return g.scalar()
}
