package yaml

import (
	"bytes"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kura-secrets/kura/pkg/tree"
)

// TestIndentedLiteralsLoadBack checks that a multi-line string starting
// with a line break or a space is written so that it loads back wherever
// it sits. yaml.v3, and so sops, writes its literal block's indentation
// indicator as the indent width, which is wrong for an item of a sequence
// and for a value of a mapping that is one (found by FuzzLoadPlain): kura
// writes those double-quoted, and keeps sops's bytes where they load.
func TestIndentedLiteralsLoadBack(t *testing.T) {
	for _, s := range []string{"\n00", " x\ny", "\n\nz\n", " a\n b\n"} {
		str := tree.Str(s)
		for _, tc := range []struct {
			name string
			doc  tree.Document
			// sops is what yaml.v3 writes at indent 4 where that loads
			// back; kura must write the same bytes there.
			sops bool
		}{
			{"map value", tree.Document{tree.KeyItem("a", str)}, true},
			{"nested map value", tree.Document{tree.KeyItem("a", tree.MapV([]tree.Item{tree.KeyItem("b", str)}))}, true},
			{"list item", tree.Document{tree.KeyItem("a", tree.ListV([]tree.Value{str}))}, false},
			{"list item after another", tree.Document{tree.KeyItem("a", tree.ListV([]tree.Value{tree.Str("x"), str}))}, false},
			{"value in a map in a list", tree.Document{tree.KeyItem("a", tree.ListV([]tree.Value{tree.MapV([]tree.Item{tree.KeyItem("b", str)})}))}, false},
			{"deeper map in a list", tree.Document{tree.KeyItem("a", tree.ListV([]tree.Value{tree.MapV([]tree.Item{tree.KeyItem("b", tree.MapV([]tree.Item{tree.KeyItem("c", str)}))})}))}, true},
			{"list in a list", tree.Document{tree.KeyItem("a", tree.ListV([]tree.Value{tree.ListV([]tree.Value{str})}))}, false},
			{"with a comment", tree.Document{tree.CommentItem(" note", false), tree.KeyItem("a", tree.ListV([]tree.Value{str}))}, false},
		} {
			docs := []tree.Document{tc.doc}
			for _, indent := range []int{2, 4} {
				store := Store{Indent: indent}
				out, err := store.EmitPlain(docs)
				if err != nil {
					t.Fatalf("%s %q indent %d: %v", tc.name, s, indent, err)
				}
				got, err := Store{}.LoadPlain(out)
				if err != nil || !equalDocs(got, docs, false) {
					t.Errorf("%s %q indent %d: %q does not load back (%v)", tc.name, s, indent, out, err)
				}
				var streamed bytes.Buffer
				if err := store.EmitPlainTo(&streamed, docs); err != nil || !bytes.Equal(streamed.Bytes(), out) {
					t.Errorf("%s %q indent %d: EmitPlainTo wrote %q, EmitPlain %q", tc.name, s, indent, streamed.Bytes(), out)
				}
				if tc.sops && indent == 4 {
					if want := libraryText(t, docs); !bytes.Equal(out, want) {
						t.Errorf("%s %q: %q, sops writes %q", tc.name, s, out, want)
					}
				}
			}
		}
		// --extract of a list holding the string.
		out, err := Store{}.EmitValue(tree.ListV([]tree.Value{str}))
		var back []string
		if err != nil || yaml.Unmarshal(out, &back) != nil || len(back) != 1 || back[0] != s {
			t.Errorf("EmitValue of a list holding %q: %q does not load back (%v)", s, out, err)
		}
	}
}

// libraryText is what yaml.v3's encoder writes for docs at indent 4.
func libraryText(t *testing.T, docs []tree.Document) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(4)
	for _, doc := range docs {
		root := &yaml.Node{Kind: yaml.MappingNode}
		fillMapping(root, doc)
		if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
			t.Fatal(err)
		}
	}
	enc.Close()
	return b.Bytes()
}
