package merge

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/tree"
)

func load(t testing.TB, src string) []tree.Document {
	t.Helper()
	docs, err := yaml.Store{}.LoadPlain([]byte(src))
	if err != nil {
		t.Fatalf("loading %q: %v", src, err)
	}
	return docs
}

func show(docs []tree.Document) string {
	out, err := yaml.Store{}.EmitPlain(docs)
	if err != nil {
		return fmt.Sprintf("%#v", docs)
	}
	return string(out)
}

// describe renders a conflict compactly: the document, the path and which
// sides lack the value.
func describe(c Conflict) string {
	s := tree.FormatPath(c.Path)
	if c.Doc != 0 {
		s = fmt.Sprintf("doc %d %s", c.Doc, s)
	}
	for _, m := range []struct {
		missing bool
		name    string
	}{{c.BaseMissing, "base"}, {c.OursMissing, "ours"}, {c.TheirsMissing, "theirs"}} {
		if m.missing {
			s += " no-" + m.name
		}
	}
	return s
}

func TestDocuments(t *testing.T) {
	tests := []struct {
		name               string
		base, ours, theirs string
		want               string
		conflicts          []string
	}{
		{
			name:   "disjoint changes merge",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "a: 10\nb: 2\nc: 3\n",
			theirs: "a: 1\nb: 2\nc: 30\n",
			want:   "a: 10\nb: 2\nc: 30\n",
		},
		{
			name:   "the same change on both sides",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 5\nb: 2\n",
			theirs: "a: 5\nb: 2\n",
			want:   "a: 5\nb: 2\n",
		},
		{
			name:   "the same removal on both sides",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 1\n",
			theirs: "a: 1\n",
			want:   "a: 1\n",
		},
		{
			name:   "ours removes, theirs leaves it",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "a: 1\nc: 3\n",
			theirs: "a: 1\nb: 2\nc: 30\n",
			want:   "a: 1\nc: 30\n",
		},
		{
			name:   "theirs removes, ours leaves it",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "a: 10\nb: 2\nc: 3\n",
			theirs: "a: 1\nc: 3\n",
			want:   "a: 10\nc: 3\n",
		},
		{
			name:      "ours removes, theirs changes: conflict, no entry",
			base:      "a: 1\nb: 2\nc: 3\n",
			ours:      "a: 1\nc: 3\n",
			theirs:    "a: 1\nb: 20\nc: 3\n",
			want:      "a: 1\nc: 3\n",
			conflicts: []string{`["b"] no-ours`},
		},
		{
			name:      "theirs removes, ours changes: conflict, ours' value",
			base:      "a: 1\nb: 2\n",
			ours:      "a: 1\nb: 20\n",
			theirs:    "a: 1\n",
			want:      "a: 1\nb: 20\n",
			conflicts: []string{`["b"] no-theirs`},
		},
		{
			name:      "both change differently",
			base:      "a: 1\nb: 2\n",
			ours:      "a: 1\nb: 3\n",
			theirs:    "a: 1\nb: 4\n",
			want:      "a: 1\nb: 3\n",
			conflicts: []string{`["b"]`},
		},
		{
			name:      "both add a key with different values",
			base:      "a: 1\n",
			ours:      "a: 1\nn: x\n",
			theirs:    "a: 1\nn: y\n",
			want:      "a: 1\nn: x\n",
			conflicts: []string{`["n"] no-base`},
		},
		{
			name:   "both add a key with the same value",
			base:   "a: 1\n",
			ours:   "a: 1\nn: x\n",
			theirs: "a: 1\nn: x\n",
			want:   "a: 1\nn: x\n",
		},
		{
			name:   "nested maps merge key by key",
			base:   "db:\n  user: u\n  pass: p\n  port: 1\nother: o\n",
			ours:   "db:\n  user: u2\n  pass: p\n  port: 1\nother: o\n",
			theirs: "db:\n  user: u\n  pass: p2\nother: o\n",
			want:   "db:\n  user: u2\n  pass: p2\nother: o\n",
		},
		{
			name:      "a nested conflict names the full path",
			base:      "db:\n  port: 1\n  host: h\n",
			ours:      "db:\n  port: 2\n  host: h\n",
			theirs:    "db:\n  port: 3\n  host: h2\n",
			want:      "db:\n  port: 2\n  host: h2\n",
			conflicts: []string{`["db"]["port"]`},
		},
		{
			name:   "maps both sides added merge",
			base:   "a: 1\n",
			ours:   "a: 1\nm:\n  x: 1\n",
			theirs: "a: 1\nm:\n  y: 2\n",
			want:   "a: 1\nm:\n  x: 1\n  y: 2\n",
		},
		{
			name:   "a null base counts as an empty map",
			base:   "m:\n",
			ours:   "m:\n  x: 1\n",
			theirs: "m:\n  y: 2\n",
			want:   "m:\n  x: 1\n  y: 2\n",
		},
		{
			name:      "a scalar base turned into two maps conflicts",
			base:      "m: 1\n",
			ours:      "m:\n  x: 1\n",
			theirs:    "m:\n  y: 2\n",
			want:      "m:\n  x: 1\n",
			conflicts: []string{`["m"]`},
		},
		{
			name:      "map against scalar conflicts",
			base:      "m:\n  x: 1\n",
			ours:      "m:\n  x: 2\n",
			theirs:    "m: gone\n",
			want:      "m:\n  x: 2\n",
			conflicts: []string{`["m"]`},
		},
		{
			name:   "a list changed on one side",
			base:   "l: [1, 2, 3]\nk: 1\n",
			ours:   "l: [1, 2, 3]\nk: 2\n",
			theirs: "l: [1, 2, 3, 4]\nk: 1\n",
			want:   "l: [1, 2, 3, 4]\nk: 2\n",
		},
		{
			name:      "lists are leaves: different elements changed conflict",
			base:      "l: [1, 2, 3]\n",
			ours:      "l: [9, 2, 3]\n",
			theirs:    "l: [1, 2, 9]\n",
			want:      "l: [9, 2, 3]\n",
			conflicts: []string{`["l"]`},
		},
		{
			name:   "additions at the end on both sides: ours' first, then theirs'",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 1\nb: 2\no1: x\no2: x\n",
			theirs: "a: 1\nb: 2\nt1: y\nt2: y\n",
			want:   "a: 1\nb: 2\no1: x\no2: x\nt1: y\nt2: y\n",
		},
		{
			name:   "theirs' addition after ours' last key goes to the end",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 1\nb: 3\n",
			theirs: "a: 1\nb: 2\nt: y\n",
			want:   "a: 1\nb: 3\nt: y\n",
		},
		{
			name:   "theirs' addition in the middle follows its predecessor",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "a: 1\nb: 2\nc: 4\n",
			theirs: "a: 1\nt1: y\nt2: y\nb: 2\nc: 3\n",
			want:   "a: 1\nt1: y\nt2: y\nb: 2\nc: 4\n",
		},
		{
			name:   "ours' order wins",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "c: 3\nb: 2\na: 1\n",
			theirs: "a: 1\nb: 20\nt: 1\nc: 3\n",
			want:   "c: 3\nb: 20\nt: 1\na: 1\n",
		},
		{
			name:   "theirs' addition at the top goes to the end",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 1\nb: 2\n",
			theirs: "t: y\na: 1\nb: 3\n",
			want:   "t: y\na: 1\nb: 3\n", // ours == base: theirs' whole map
		},
		{
			name:   "theirs' addition at the top of a changed map goes to the end",
			base:   "a: 1\nb: 2\n",
			ours:   "a: 1\nb: 20\n",
			theirs: "t: y\na: 1\nb: 2\n",
			want:   "a: 1\nb: 20\nt: y\n",
		},
		{
			name:   "theirs' addition after a key ours removed goes to the end",
			base:   "a: 1\nb: 2\nc: 3\n",
			ours:   "a: 1\nc: 3\n",
			theirs: "a: 1\nb: 2\nt: y\nc: 3\n",
			want:   "a: 1\nc: 3\nt: y\n",
		},
		{
			name:   "theirs' additions in a nested map",
			base:   "db:\n  a: 1\n  b: 2\nz: 1\n",
			ours:   "db:\n  a: 10\n  b: 2\nz: 1\n",
			theirs: "db:\n  a: 1\n  b: 2\n  c: 3\nz: 1\n",
			want:   "db:\n  a: 10\n  b: 2\n  c: 3\nz: 1\n",
		},
		{
			name:      "conflicts come in document order",
			base:      "a: 1\nb: 1\nc:\n  x: 1\nd: 1\n",
			ours:      "a: 2\nc:\n  x: 2\nd: 2\n",
			theirs:    "a: 3\nb: 3\nc:\n  x: 3\nd: 3\n",
			want:      "a: 2\nc:\n  x: 2\nd: 2\n",
			conflicts: []string{`["a"]`, `["b"] no-ours`, `["c"]["x"]`, `["d"]`},
		},
		{
			name:   "encrypted values",
			base:   "a: ENC[AES256_GCM,data:AA==,iv:1,tag:1,type:str]\nb: ENC[AES256_GCM,data:BB==,iv:2,tag:2,type:int]\n",
			ours:   "a: ENC[AES256_GCM,data:CC==,iv:3,tag:3,type:str]\nb: ENC[AES256_GCM,data:BB==,iv:2,tag:2,type:int]\n",
			theirs: "a: ENC[AES256_GCM,data:AA==,iv:1,tag:1,type:str]\nb: ENC[AES256_GCM,data:DD==,iv:4,tag:4,type:int]\n",
			want:   "a: ENC[AES256_GCM,data:CC==,iv:3,tag:3,type:str]\nb: ENC[AES256_GCM,data:DD==,iv:4,tag:4,type:int]\n",
		},
		{
			name:      "encrypted values re-encrypted on both sides conflict",
			base:      "a: ENC[AES256_GCM,data:AA==,iv:1,tag:1,type:str]\n",
			ours:      "a: ENC[AES256_GCM,data:AA==,iv:5,tag:5,type:str]\n",
			theirs:    "a: ENC[AES256_GCM,data:AA==,iv:6,tag:6,type:str]\n",
			want:      "a: ENC[AES256_GCM,data:AA==,iv:5,tag:5,type:str]\n",
			conflicts: []string{`["a"]`},
		},
		{
			name:   "several documents merge one by one",
			base:   "a: 1\n---\nb: 1\n",
			ours:   "a: 2\n---\nb: 1\n",
			theirs: "a: 1\n---\nb: 2\n",
			want:   "a: 2\n---\nb: 2\n",
		},
		{
			name:      "a conflict in a later document names it",
			base:      "a: 1\n---\nb: 1\n",
			ours:      "a: 2\n---\nb: 2\n",
			theirs:    "a: 1\n---\nb: 3\n",
			want:      "a: 2\n---\nb: 2\n",
			conflicts: []string{`doc 1 ["b"]`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, load(t, tt.base), load(t, tt.ours), load(t, tt.theirs), load(t, tt.want), tt.conflicts)
		})
	}
}

func check(t *testing.T, base, ours, theirs, want []tree.Document, conflicts []string) {
	t.Helper()
	got, cs, err := Documents(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if !tree.DocumentsEqual(got, want) {
		t.Errorf("merged:\n%s\nwant:\n%s", show(got), show(want))
	}
	var desc []string
	for _, c := range cs {
		desc = append(desc, describe(c))
	}
	if strings.Join(desc, "\n") != strings.Join(conflicts, "\n") {
		t.Errorf("conflicts:\n\t%s\nwant:\n\t%s", strings.Join(desc, "\n\t"), strings.Join(conflicts, "\n\t"))
	}
}

func TestComments(t *testing.T) {
	c := func(s string) tree.Item { return tree.CommentItem(s, false) }
	k := func(key string, v int64) tree.Item { return tree.KeyItem(key, tree.IntV(v)) }
	doc := func(items ...tree.Item) []tree.Document { return []tree.Document{items} }
	tests := []struct {
		name               string
		base, ours, theirs []tree.Document
		want               []tree.Document
	}{
		{
			name:   "ours' comments stay, theirs' removal of one is ignored",
			base:   doc(c("keep"), k("a", 1), c("dropped by theirs"), k("b", 1)),
			ours:   doc(c("keep"), k("a", 2), c("dropped by theirs"), c("ours"), k("b", 1)),
			theirs: doc(c("keep"), k("a", 1), k("b", 2)),
			want:   doc(c("keep"), k("a", 2), c("dropped by theirs"), c("ours"), k("b", 2)),
		},
		{
			name:   "theirs' new comment goes before the key it precedes",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(c("ours on b"), k("b", 1), k("a", 2)),
			theirs: doc(k("a", 1), c("theirs on b 1"), c("theirs on b 2"), k("b", 1)),
			want:   doc(c("ours on b"), c("theirs on b 1"), c("theirs on b 2"), k("b", 1), k("a", 2)),
		},
		{
			name:   "a comment above a key theirs added travels with it",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 2), k("b", 1), c("ours trailing")),
			theirs: doc(k("a", 1), k("b", 1), c("about t"), k("t", 1)),
			want:   doc(k("a", 2), k("b", 1), c("ours trailing"), c("about t"), k("t", 1)),
		},
		{
			name:   "theirs' comment before a key ours removed is dropped",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 2)),
			theirs: doc(k("a", 1), c("about b"), k("b", 1)),
			want:   doc(k("a", 2)),
		},
		{
			name:   "theirs' comment at the end of the map goes at the end",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 2), k("b", 1), k("o", 1)),
			theirs: doc(k("a", 1), k("b", 1), c("footer")),
			want:   doc(k("a", 2), k("b", 1), k("o", 1), c("footer")),
		},
		{
			name:   "a comment both sides added is not doubled",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 2), c("same"), k("b", 1)),
			theirs: doc(k("a", 1), c("same"), k("b", 2)),
			want:   doc(k("a", 2), c("same"), k("b", 2)),
		},
		{
			name:   "a comment theirs repeats is added once more",
			base:   doc(c(""), k("a", 1), k("b", 1)),
			ours:   doc(c(""), k("a", 2), k("b", 1)),
			theirs: doc(c(""), k("a", 1), c(""), k("b", 1)),
			want:   doc(c(""), k("a", 2), c(""), k("b", 1)),
		},
		{
			name:   "inline and line comments differ",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 2), c("x"), k("b", 1)),
			theirs: doc(k("a", 1), tree.CommentItem("x", true), k("b", 1)),
			want:   doc(k("a", 2), c("x"), tree.CommentItem("x", true), k("b", 1)),
		},
		{
			name:   "a value taken whole keeps its comments",
			base:   doc(k("a", 1), tree.KeyItem("m", tree.MapV([]tree.Item{k("x", 1)}))),
			ours:   doc(k("a", 2), tree.KeyItem("m", tree.MapV([]tree.Item{k("x", 1)}))),
			theirs: doc(k("a", 1), tree.KeyItem("m", tree.MapV([]tree.Item{c("new"), k("x", 1)}))),
			want:   doc(k("a", 2), tree.KeyItem("m", tree.MapV([]tree.Item{c("new"), k("x", 1)}))),
		},
		{
			name:   "comments only theirs changed, the rest unchanged",
			base:   doc(k("a", 1), k("b", 1)),
			ours:   doc(k("a", 1), k("b", 1)),
			theirs: doc(c("new"), k("a", 1), k("b", 1)),
			want:   doc(c("new"), k("a", 1), k("b", 1)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, tt.base, tt.ours, tt.theirs, tt.want, nil)
		})
	}
}

func TestCommentsFromYAML(t *testing.T) {
	base := "# top\ndb:\n  user: u\n  pass: p\n"
	ours := "# top\ndb:\n  # the user\n  user: u2\n  pass: p\n"
	theirs := "# top\ndb:\n  user: u\n  # the password\n  pass: p2 # rotated\n  # the port\n  port: 1\n"
	want := "# top\ndb:\n  # the user\n  user: u2\n  # the password\n  pass: p2 # rotated\n  # the port\n  port: 1\n"
	check(t, load(t, base), load(t, ours), load(t, theirs), load(t, want), nil)
}

func TestDuplicateKeys(t *testing.T) {
	k := func(key string, v int64) tree.Item { return tree.KeyItem(key, tree.IntV(v)) }
	base := []tree.Document{{k("a", 1), k("a", 2)}}
	ours := []tree.Document{{k("a", 10), k("a", 2)}}
	theirs := []tree.Document{{k("a", 1), k("a", 20), k("a", 30)}}
	want := []tree.Document{{k("a", 10), k("a", 20), k("a", 30)}}
	check(t, base, ours, theirs, want, nil)
}

func TestNonStringKeys(t *testing.T) {
	check(t,
		load(t, "1: a\ntrue: b\n2.5: c\n"),
		load(t, "1: x\ntrue: b\n2.5: c\n"),
		load(t, "1: y\ntrue: b\n2.5: z\n"),
		load(t, "1: x\ntrue: b\n2.5: z\n"),
		[]string{`["1"]`})
}

func TestDocumentCount(t *testing.T) {
	one := load(t, "a: 1\n")
	two := load(t, "a: 1\n---\nb: 1\n")
	for _, v := range [][3][]tree.Document{{one, one, two}, {one, two, one}, {two, one, one}, {nil, one, one}} {
		_, _, err := Documents(v[0], v[1], v[2])
		if !errors.Is(err, ErrDocumentCount) {
			t.Errorf("documents %d, %d, %d: err = %v", len(v[0]), len(v[1]), len(v[2]), err)
		}
	}
	merged, cs, err := Documents(nil, nil, nil)
	if err != nil || len(merged) != 0 || len(cs) != 0 {
		t.Errorf("no documents: %v, %v, %v", merged, cs, err)
	}
}

func TestConflictValues(t *testing.T) {
	base := load(t, "a: 1\nm:\n  x: 1\n")
	ours := load(t, "a: 2\n")
	theirs := load(t, "a: 3\nm:\n  x: 2\n")
	_, cs, err := Documents(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("conflicts: %v", cs)
	}
	a, m := cs[0], cs[1]
	if !tree.Equal(a.Base, tree.IntV(1)) || !tree.Equal(a.Ours, tree.IntV(2)) || !tree.Equal(a.Theirs, tree.IntV(3)) ||
		a.BaseMissing || a.OursMissing || a.TheirsMissing {
		t.Errorf("conflict a: %+v", a)
	}
	if !m.OursMissing || m.BaseMissing || m.TheirsMissing || m.Ours.Kind != tree.Null ||
		!tree.Equal(m.Theirs, tree.MapV([]tree.Item{tree.KeyItem("x", tree.IntV(2))})) {
		t.Errorf("conflict m: %+v", m)
	}
	// Conflict values are copies.
	m.Theirs.Items()[0].Value = tree.IntV(99)
	if v, _ := tree.Lookup(theirs[0], []tree.PathStep{{Key: "m"}, {Key: "x"}}); v.Int() != 2 {
		t.Error("a conflict shares storage with theirs")
	}
}

func TestMergedIsACopy(t *testing.T) {
	base := load(t, "a: 1\nm:\n  x: [1, 2]\n")
	ours := load(t, "a: 2\nm:\n  x: [1, 2]\n")
	theirs := load(t, "a: 1\nm:\n  x: [1, 3]\n")
	merged, _, err := Documents(base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	merged[0][0].Value = tree.IntV(7)
	merged[0][1].Value.Items()[0].Value.Elems()[1] = tree.IntV(7)
	if !tree.DocumentsEqual(ours, load(t, "a: 2\nm:\n  x: [1, 2]\n")) || !tree.DocumentsEqual(theirs, load(t, "a: 1\nm:\n  x: [1, 3]\n")) {
		t.Error("the merged documents share storage with the inputs")
	}
}

// TestLayoutKeepingWriter checks the reason for the order rule: when both
// sides add keys at the end of a map, the merged tree can be written in
// ours' layout, which only allows new keys at the end of a mapping.
func TestLayoutKeepingWriter(t *testing.T) {
	base := "# settings\ndb:\n    user: u\n    pass: p\nname: app\n"
	ours := "# settings\ndb:\n    user: u\n    pass: p2\n    # ours' comment\n    host: h\nname: app # the name\nours: 1\n"
	theirs := "# settings\ndb:\n    user: u\n    pass: p\n    port: 5432\nname: app\ntheirs: 2\n"
	merged, cs, err := Documents(load(t, base), load(t, ours), load(t, theirs))
	if err != nil || len(cs) != 0 {
		t.Fatalf("conflicts %v, err %v", cs, err)
	}
	meta := []tree.Item{tree.KeyItem("version", tree.Str("3.9.0"))}
	out, ok := yaml.EmitEncryptedPreserving([]byte(ours), merged, meta)
	if !ok {
		t.Fatalf("the layout-keeping writer refused the merged tree:\n%s", show(merged))
	}
	want := "# settings\ndb:\n    user: u\n    pass: p2\n    # ours' comment\n    host: h\n    port: 5432\nname: app # the name\nours: 1\ntheirs: 2\n"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("written:\n%s\nwant it to start with:\n%s", out, want)
	}
}
