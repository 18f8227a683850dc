package yaml

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/tree"
)

// fastLoadSamples are hand-written inputs around the edges of fastLoad's
// subset; they seed the fuzzer too.
var fastLoadSamples = []string{
	"a: 1\n",
	"a: 1\nb: two\nc: 1.5\nd: true\ne: ~\nf:\ng: -3\nh: 0x1F\ni: 1_000\nj: 2024-01-02\nk: .inf\nl: -.5\nm: 007\nn: 1e3\n",
	"a:\n  b: 1\n  c:\n    - x\n    - y\nd:\n- 1\n- 2\ne: []\nf: {}\n",
	"# head\n\n# head 2\na: 1 # line\n# between\nb:\n  # inside\n  c: 2 # c line\n  # foot of b\n# top foot\nd: 3\n# end\n",
	"a: # key line\n  b: 1\nc: # null line\nd:\n  - x # x line\n  # seq foot\n  - y\n",
	"list:\n  - a: 1\n    b: 2\n  - - n1\n    - n2\n  -\n    c: 3\n  -\n  - 'q''s'\n",
	"s: |\n  line 1\n  line 2\nt: |-\n  x\n\nu: |+\n  y\n\n\nv: >\n  folded\n  text\n\n  para\n   more\n  back\nw: |2\n    indented\n",
	"q: \"esc \\\" \\\\ \\n \\t \\x41 \\u00e9 \\U0001F600\"\nr: 'single'\n\"k k\": v\n'k2' : v2\n",
	"a: 1\n---\nb: 2\n---\n",
	"---\na: 1\n",
	"a: 1\na: 2\n",
	"a: &x 1\nb: *x\n",
	"a: b: c\n",
	"- a\n- b\n",
	"a:\n  b: 1\n # odd\n  c: 2\n",
	"a:\n  - x\n# after seq\nb: 1\n",
	"a:\n- x\n# after seq\nb: 1\n",
	"a:\n- x\n  # after seq\nb: 1\n",
	"a:\n  b:\n    c: 1\n    # deep foot\n  # mid foot\n# top foot\nd: 1\n",
	"a:\n  b:\n    c: 1\n\n    # deep foot\n\n  # mid foot\n\n# top foot\n",
	"x: |\n  text\n# after block\ny: 1\n",
	"x: >-\n  a\n  b\n\n\n  c\n",
	"k: v #c1\n#c2\n\n#c3\n",
	"k:    spaced value    # comment   \n",
	"1: int key\ntrue: bool key\n'1': dup?\n",
	"a: 'multi\n  line'\n",
	"a: plain\n  continued\n",
	"a:\n  - b: 1\n    # in map\n    c: 2\n  # in seq\n  - d\n",
	// past the first eight bytes of a line, where scanLines reads words
	"abcdefgh: ijklmnopqrstuvwxyz\nabcdefghijklmnop: q\n",
	"abcdefgh: ijklmnop\tqrstuvwx\n",
	"abcdefgh: ijklmnop\x01qrstuvwx\n",
	"abcdefgh: ijklmnop\x7fqrstuvwx\n",
	"abcdefgh: ijklmnop\u00e9qrstuvwx\n",
	"abcdefgh: ijklmnop\u2028qrstuvwx\n",
	"abcdefgh: ijklmnop\rqrstuvwx\n",
	"abcdefgh: ijklmnopqrstuvwx" + strings.Repeat(" ", 300) + "# far comment\n",
	"abcdefgh: ijklmnopqrstuvwx" + strings.Repeat(" ", 250) + "# near comment\n",
	"abcdefgh: ijklmnopqrstuvwx" + strings.Repeat(" ", 300) + "y\n",
	"abcdefgh: ijklmnopqrstuvwx",
}

// differential loads data both ways and reports a difference.
func differential(data []byte) (fast bool, diff string) {
	docs, ok := fastLoad(data)
	if !ok {
		return false, ""
	}
	want, err := loadNodes(data)
	if err != nil {
		return true, fmt.Sprintf("fastLoad accepted what yaml.v3 refuses (%v)", err)
	}
	if !tree.DocumentsEqual(docs, want) {
		return true, fmt.Sprintf("trees differ:\nfast: %s\nyaml.v3: %s", dumpDocs(docs), dumpDocs(want))
	}
	return true, ""
}

func dumpDocs(docs []tree.Document) string {
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("---")
		dumpItems(&b, d)
	}
	return b.String()
}

func dumpItems(b *strings.Builder, items []tree.Item) {
	b.WriteString("{")
	for _, it := range items {
		dumpValue(b, it.Key)
		if !it.IsComment() {
			b.WriteString(": ")
			dumpValue(b, it.Value)
		}
		b.WriteString(", ")
	}
	b.WriteString("}")
}

func dumpValue(b *strings.Builder, v tree.Value) {
	switch v.Kind {
	case tree.Map:
		dumpItems(b, v.Items())
	case tree.List:
		b.WriteString("[")
		for _, e := range v.Elems() {
			dumpValue(b, e)
			b.WriteString(", ")
		}
		b.WriteString("]")
	case tree.Comment:
		fmt.Fprintf(b, "#%q(inline=%v)", v.Str, v.Inline)
	default:
		s, _ := v.Canonical()
		fmt.Fprintf(b, "%s:%q", v.Kind, s)
	}
}

// fastLoadFiles returns the YAML files of the interop corpus and of this
// package's testdata.
func fastLoadFiles(t testing.TB) []string {
	var files []string
	cases, err := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range cases {
		if strings.Contains(filepath.Base(f), ".yaml") || strings.Contains(filepath.Base(f), ".yml") {
			files = append(files, f)
		}
	}
	err = filepath.Walk("testdata", func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(path, ".yaml") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestFastLoadDifferential checks fastLoad against the yaml.v3 path on
// every YAML file of the corpus and the package testdata, on benchmark
// documents written at indents 2 and 4, and on hand-written edge cases:
// it must give the same documents (comments and their inline flags
// included) or fall back. Files sops wrote must take the fast path.
func TestFastLoadDifferential(t *testing.T) {
	type input struct {
		name string
		data []byte
	}
	var inputs []input
	for _, f := range fastLoadFiles(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{f, data})
	}
	for _, indent := range []int{2, 4} {
		for _, n := range []int{10, 1000} {
			text, err := Store{Indent: indent}.EmitPlain([]tree.Document{benchdata.Document(n), benchdata.Document(n / 2)})
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, input{fmt.Sprintf("benchdata/%d/indent%d", n, indent), text})
		}
	}
	for i, s := range fastLoadSamples {
		inputs = append(inputs, input{fmt.Sprintf("sample %d", i), []byte(s)})
	}
	var fast, total int
	var fellBack []string
	for _, in := range inputs {
		total++
		ok, diff := differential(in.data)
		if diff != "" {
			t.Errorf("%s: %s\ninput:\n%s", in.name, diff, in.data)
		}
		if ok {
			fast++
			continue
		}
		fellBack = append(fellBack, in.name)
		if strings.HasPrefix(in.name, "benchdata") {
			t.Errorf("%s fell back", in.name)
		}
		// sops writes merge keys of anchored mappings as "!!merge <<" and
		// keys over 1024 bytes as complex keys ("? key"): those fall back.
		sopsWrote := strings.HasSuffix(in.name, "/encrypted.yaml")
		if sopsWrote && !strings.Contains(in.name, "yaml-anchors") && !strings.Contains(in.name, "yaml-long-values") {
			if _, err := loadNodes(in.data); err == nil {
				t.Errorf("%s: a file sops wrote fell back", in.name)
			}
		}
	}
	t.Logf("%d of %d inputs took the fast path; fell back: %s", fast, total, strings.Join(fellBack, ", "))
}

// FuzzFastLoad checks fastLoad against the yaml.v3 path on arbitrary
// input: whenever fastLoad accepts an input, the yaml.v3 path must accept
// it too and give the same documents.
func FuzzFastLoad(f *testing.F) {
	for _, s := range fastLoadSamples {
		f.Add([]byte(s))
	}
	for _, file := range fastLoadFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, diff := differential(data); diff != "" {
			t.Fatalf("%s\ninput: %q", diff, data)
		}
	})
}

// TestScanLinesSpaceRuns: a run of more than 256 spaces is refused
// wherever it starts and ends relative to the eight-byte words scanLines
// reads, and a run of 256 is not.
func TestScanLinesSpaceRuns(t *testing.T) {
	for n := 250; n <= 260; n++ {
		for off := range 16 {
			text := "key: v" + strings.Repeat("x", off) + strings.Repeat(" ", n) + "y\n"
			p := &fastParser{src: text}
			if got, want := p.scanLines(), n <= 256; got != want {
				t.Errorf("%d spaces after %d letters: scanLines %v, want %v", n, off, got, want)
			}
		}
	}
}
