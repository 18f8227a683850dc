// Package treegen builds small random trees from fuzz input, and changed
// copies of them, for the fuzz tests of the packages that compare and
// merge trees (pkg/treediff, pkg/merge).
package treegen

import "github.com/kura-secrets/kura/pkg/tree"

// Gen builds small trees from fuzz bytes; when the bytes run out it reads
// zeros, which end every loop.
type Gen struct {
	b []byte
	i int
}

// New returns a Gen reading data.
func New(data []byte) *Gen { return &Gen{b: data} }

// Next returns the next number from the input.
func (g *Gen) Next() int {
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

func (g *Gen) Docs() []tree.Document {
	n := g.Next() % 3
	out := make([]tree.Document, n)
	for i := range out {
		out[i] = tree.Document(g.Items(0))
	}
	return out
}

// Items returns a random map at depth.
func (g *Gen) Items(depth int) []tree.Item {
	var items []tree.Item
	used := make(map[string]bool)
	for range g.Next() % 5 {
		c := g.Next()
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

func (g *Gen) value(depth int) tree.Value {
	c := g.Next()
	switch c % 8 {
	case 1:
		return tree.Str(strs[c/8%len(strs)])
	case 2:
		return tree.IntV(int64(c / 8 % 3))
	case 3:
		return tree.BoolV(c/8%2 == 0)
	case 4, 5:
		if depth < 3 {
			return tree.MapV(g.Items(depth + 1))
		}
		return tree.Str("deep")
	case 6:
		var elems []tree.Value
		for range g.Next() % 4 {
			e := g.Next()
			if e%5 == 4 {
				elems = append(elems, tree.CommentV(comments[e%3], false))
				continue
			}
			if e%5 == 3 && depth < 3 {
				elems = append(elems, tree.MapV(g.Items(depth+1)))
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
func (g *Gen) mutate(items []tree.Item, depth int) []tree.Item {
	var out []tree.Item
	used := make(map[string]bool)
	for _, it := range items {
		if !it.IsComment() {
			used[it.Key.Str] = true
		}
	}
	for _, it := range items {
		switch g.Next() % 8 {
		case 1:
			continue
		case 2:
			if !it.IsComment() {
				it.Value = g.value(depth)
			}
		case 3:
			if it.Value.Kind == tree.Map {
				it.Value = tree.MapV(g.mutate(it.Value.Items(), depth+1))
			}
		case 4:
			k := keyNames[g.Next()%len(keyNames)]
			if !used[k] {
				used[k] = true
				out = append(out, tree.KeyItem(k, g.value(depth)))
			}
		case 5:
			out = append(out, tree.CommentItem(comments[g.Next()%3], false))
		case 6:
			// Move the item to the front.
			out = append([]tree.Item{{Key: it.Key, Value: it.Value.Clone()}}, out...)
			continue
		}
		out = append(out, tree.Item{Key: it.Key, Value: it.Value.Clone()})
	}
	if g.Next()%3 == 0 {
		k := keyNames[g.Next()%len(keyNames)]
		if !used[k] {
			out = append(out, tree.KeyItem(k, g.value(depth)))
		}
	}
	return out
}

func (g *Gen) MutateDocs(docs []tree.Document) []tree.Document {
	out := make([]tree.Document, len(docs))
	for i, d := range docs {
		out[i] = tree.Document(g.mutate(d, 0))
	}
	return out
}
