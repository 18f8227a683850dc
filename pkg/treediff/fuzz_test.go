package treediff

import (
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

// gen builds small trees from fuzz bytes; when the bytes run out it reads
// zeros, which end every loop.
type gen struct {
	b []byte
	i int
}

func (g *gen) next() int {
	if g.i >= len(g.b) {
		return 0
	}
	g.i++
	return int(g.b[g.i-1])
}

var (
	keyNames = []string{"a", "b", "c", "d", "e", "f"}
	strs     = []string{"x", "y", "", "two words", "ENC[AES256_GCM,data:AA==,iv:a,tag:b,type:str]"}
	comments = []string{" one", " two", ""}
)

func (g *gen) docs() []tree.Document {
	n := g.next() % 3
	out := make([]tree.Document, n)
	for i := range out {
		out[i] = tree.Document(g.items(0))
	}
	return out
}

func (g *gen) items(depth int) []tree.Item {
	var items []tree.Item
	used := make(map[string]bool)
	for range g.next() % 5 {
		c := g.next()
		if c%7 == 6 {
			items = append(items, tree.CommentItem(comments[c%3], c%2 == 0))
			continue
		}
		k := keyNames[c%len(keyNames)]
		if used[k] {
			continue
		}
		used[k] = true
		items = append(items, tree.KeyItem(k, g.value(depth)))
	}
	return items
}

func (g *gen) value(depth int) tree.Value {
	c := g.next()
	switch c % 8 {
	case 1:
		return tree.Str(strs[c/8%len(strs)])
	case 2:
		return tree.IntV(int64(c / 8 % 3))
	case 3:
		return tree.BoolV(c/8%2 == 0)
	case 4, 5:
		if depth < 3 {
			return tree.MapV(g.items(depth + 1))
		}
		return tree.Str("deep")
	case 6:
		var elems []tree.Value
		for range g.next() % 4 {
			e := g.next()
			if e%5 == 4 {
				elems = append(elems, tree.CommentV(comments[e%3], false))
				continue
			}
			if e%5 == 3 && depth < 3 {
				elems = append(elems, tree.MapV(g.items(depth+1)))
				continue
			}
			elems = append(elems, tree.IntV(int64(e%3)))
		}
		return tree.ListV(elems)
	case 7:
		return tree.FloatV(float64(c/8) / 2)
	}
	return tree.Value{}
}

// mutate returns a changed copy of items: entries kept, dropped, changed,
// moved, recursed into, and new ones and comments added.
func (g *gen) mutate(items []tree.Item, depth int) []tree.Item {
	var out []tree.Item
	used := make(map[string]bool)
	for _, it := range items {
		if !it.IsComment() {
			used[it.Key.Str] = true
		}
	}
	for _, it := range items {
		switch g.next() % 8 {
		case 1:
			continue
		case 2:
			if !it.IsComment() {
				it.Value = g.value(depth)
			}
		case 3:
			if it.Value.Kind == tree.Map {
				it.Value = tree.MapV(g.mutate(it.Value.Items, depth+1))
			}
		case 4:
			k := keyNames[g.next()%len(keyNames)]
			if !used[k] {
				used[k] = true
				out = append(out, tree.KeyItem(k, g.value(depth)))
			}
		case 5:
			out = append(out, tree.CommentItem(comments[g.next()%3], false))
		case 6:
			// Move the item to the front.
			out = append([]tree.Item{{Key: it.Key, Value: it.Value.Clone()}}, out...)
			continue
		}
		out = append(out, tree.Item{Key: it.Key, Value: it.Value.Clone()})
	}
	if g.next()%3 == 0 {
		k := keyNames[g.next()%len(keyNames)]
		if !used[k] {
			out = append(out, tree.KeyItem(k, g.value(depth)))
		}
	}
	return out
}

func (g *gen) mutateDocs(docs []tree.Document) []tree.Document {
	out := make([]tree.Document, len(docs))
	for i, d := range docs {
		out[i] = tree.Document(g.mutate(d, 0))
	}
	return out
}

func FuzzDocuments(f *testing.F) {
	f.Add([]byte{1, 4, 1, 9, 2, 17, 3, 3, 2, 1, 6, 4, 4, 2, 5, 1, 7})
	f.Add([]byte{2, 3, 4, 4, 2, 1, 9, 6, 3, 1, 2, 3, 2, 2, 5, 6, 6, 1, 8, 3, 4, 2, 1})
	f.Add([]byte("a longer seed, to reach more of the generator's branches"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{b: data}
		a := g.docs()
		b := g.mutateDocs(a)
		if g.next()%4 == 0 {
			b = append(b, tree.Document(g.items(0)))
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
