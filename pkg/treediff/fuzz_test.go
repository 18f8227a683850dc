package treediff

import (
	"github.com/kura-secrets/kura/internal/treegen"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func FuzzDocuments(f *testing.F) {
	f.Add([]byte{1, 4, 1, 9, 2, 17, 3, 3, 2, 1, 6, 4, 4, 2, 5, 1, 7})
	f.Add([]byte{2, 3, 4, 4, 2, 1, 9, 6, 3, 1, 2, 3, 2, 2, 5, 6, 6, 1, 8, 3, 4, 2, 1})
	f.Add([]byte("a longer seed, to reach more of the generator's branches"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := treegen.New(data)
		a := g.Docs()
		b := g.MutateDocs(a)
		if g.Next()%4 == 0 {
			b = append(b, tree.Document(g.Items(0)))
		}

		if cs := Documents(a, a); len(cs) != 0 {
			t.Fatalf("Documents(a, a) = %v", lines(cs))
		}
		cs := Documents(a, b)
		multi := len(a) > 1 || len(b) > 1
		seen := make(map[string]bool)
		for _, c := range cs {
			p := tree.FormatPath(c.Path)
			if seen[p] {
				t.Fatalf("path %s reported twice in %v", p, lines(cs))
			}
			seen[p] = true
			doc, path := 0, c.Path
			if multi {
				doc, path = c.Path[0].Index, c.Path[1:]
			}
			if len(path) == 0 {
				// A whole document.
				if (c.Kind == Added) != (doc >= len(a)) || (c.Kind == Removed) != (doc >= len(b)) {
					t.Fatalf("document change %s with %d and %d documents", p, len(a), len(b))
				}
				continue
			}
			va, errA := lookup(a, doc, path)
			vb, errB := lookup(b, doc, path)
			switch c.Kind {
			case Added:
				if errA == nil || errB != nil || !tree.Equal(vb, c.New) {
					t.Fatalf("added %s: in a: %v, in b: %v", p, errA, errB)
				}
			case Removed:
				if errA != nil || errB == nil || !tree.Equal(va, c.Old) {
					t.Fatalf("removed %s: in a: %v, in b: %v", p, errA, errB)
				}
			case Changed:
				if errA != nil || errB != nil || tree.Equal(va, vb) || !tree.Equal(va, c.Old) || !tree.Equal(vb, c.New) {
					t.Fatalf("changed %s: in a: %v, in b: %v", p, errA, errB)
				}
			default:
				t.Fatalf("kind %v", c.Kind)
			}
		}
		// Swapping the versions swaps additions and removals.
		back := Documents(b, a)
		if len(back) != len(cs) {
			t.Fatalf("Documents(b, a) has %d changes, Documents(a, b) %d", len(back), len(cs))
		}
		count := func(cs []Change, k Kind) (n int) {
			for _, c := range cs {
				if c.Kind == k {
					n++
				}
			}
			return n
		}
		if count(back, Added) != count(cs, Removed) || count(back, Changed) != count(cs, Changed) {
			t.Fatalf("Documents(b, a) = %v is not the reverse of %v", lines(back), lines(cs))
		}
		var sb strings.Builder
		if err := Write(&sb, cs, true); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(sb.String(), "\n"); n != len(cs) {
			t.Fatalf("Write printed %d lines for %d changes:\n%s", n, len(cs), sb.String())
		}
	})
}

func lookup(docs []tree.Document, i int, path []tree.PathStep) (tree.Value, error) {
	var d tree.Document
	if i < len(docs) {
		d = docs[i]
	}
	return tree.Lookup(d, path)
}
