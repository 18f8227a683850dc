package yaml

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// layoutStyles are the style bits the layout writer reads.
const layoutStyles = yaml.FlowStyle | yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle

// compareLayoutNodes reports how the nodes fastLayout built differ from
// yaml.v3's, in what the layout writer reads: kinds, styles, positions,
// the values of plain scalars and the structure.
func compareLayoutNodes(got, want *yaml.Node, path string) error {
	if got.Kind != want.Kind {
		return fmt.Errorf("%s: kind %v, yaml.v3 %v", path, got.Kind, want.Kind)
	}
	if got.Style&layoutStyles != want.Style&layoutStyles {
		return fmt.Errorf("%s: style %v, yaml.v3 %v", path, got.Style, want.Style)
	}
	emptyPlain := got.Kind == yaml.ScalarNode && got.Style&layoutStyles == 0 && got.Value == ""
	if got.Kind != yaml.DocumentNode && !emptyPlain && (got.Line != want.Line || got.Column != want.Column) {
		return fmt.Errorf("%s: at %d:%d, yaml.v3 %d:%d", path, got.Line, got.Column, want.Line, want.Column)
	}
	if got.Kind == yaml.ScalarNode && got.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 && got.Value != want.Value {
		return fmt.Errorf("%s: value %q, yaml.v3 %q", path, got.Value, want.Value)
	}
	if got.Anchor != want.Anchor || len(got.Content) != len(want.Content) {
		return fmt.Errorf("%s: %d children (anchor %q), yaml.v3 %d (%q)", path, len(got.Content), got.Anchor, len(want.Content), want.Anchor)
	}
	for i := range got.Content {
		if err := compareLayoutNodes(got.Content[i], want.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkFastLayout compares fastLayout with yaml.v3 on data. It reports
// whether fastLayout took the text.
func checkFastLayout(t testing.TB, name string, data []byte) bool {
	t.Helper()
	nodes, docs, ok := fastLayout(bytes.Clone(data))
	if !ok {
		return false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var want []*yaml.Node
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: fastLayout took a text yaml.v3 refuses: %v", name, err)
		}
		want = append(want, n)
	}
	if len(nodes) != len(want) {
		t.Fatalf("%s: %d documents, yaml.v3 %d", name, len(nodes), len(want))
	}
	for i := range nodes {
		if err := compareLayoutNodes(nodes[i], want[i], fmt.Sprintf("doc %d", i+1)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ref, err := loadNodes(data)
	if err != nil || !tree.DocumentsEqual(docs, ref) {
		t.Fatalf("%s: the documents differ from LoadPlain's (%v)", name, err)
	}
	return true
}

// layoutInputs are the YAML texts of the corpus and of the layout tests.
func layoutInputs(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{"../../../testdata/sops-interop/cases/*/*.yaml", "testdata/preserve/*.yaml", "testdata/*.yaml"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[p] = b
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d YAML inputs found", len(out))
	}
	return out
}

// TestFastLayoutMatchesYAML checks fastLayout against yaml.v3 on every
// YAML text of the corpus and of the layout tests, and on the benchmark's
// kind of file.
func TestFastLayoutMatchesYAML(t *testing.T) {
	inputs := layoutInputs(t)
	inputs["nested"] = []byte("a: 1\nb:\n  c: \"x\" # note\n  d: 'y'\n  é: ü\n  list:\n    - one\n    - k: v\n      l: |\n        text\n    - - deep\n    - {}\n    - []\n  empty:\n  folded: >-\n    more\n---\nsecond: doc\n")
	took := 0
	for name, data := range inputs {
		if checkFastLayout(t, name, data) {
			took++
		}
	}
	if took < len(inputs)/2 {
		t.Errorf("fastLayout took only %d of %d texts", took, len(inputs))
	}
	t.Logf("fastLayout took %d of %d texts", took, len(inputs))
	if !strings.Contains(string(inputs["nested"]), "é") || !checkFastLayout(t, "nested", inputs["nested"]) {
		t.Error("fastLayout did not take the nested example")
	}
}

// FuzzFastLayout checks fastLayout against yaml.v3 on arbitrary input:
// whenever it takes a text, yaml.v3 reads it too, to the same documents
// and to nodes of the same kinds, styles, positions and plain values.
func FuzzFastLayout(f *testing.F) {
	for _, data := range layoutInputs(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastLayout(t, "input", data)
	})
}
