package merge

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
	"github.com/kura-secrets/kura/pkg/treediff"
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

func FuzzMerge(f *testing.F) {
	f.Add([]byte{1, 4, 1, 9, 2, 17, 3, 3, 2, 1, 6, 4, 4, 2, 5, 1, 7})
	f.Add([]byte{2, 3, 4, 4, 2, 1, 9, 6, 3, 1, 2, 3, 2, 2, 5, 6, 6, 1, 8, 3, 4, 2, 1, 3, 3, 2, 2, 4, 4, 1})
	f.Add([]byte("a longer seed, to reach more of the generator's branches"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{b: data}
		base := g.docs()
		x := g.mutateDocs(base)
		y := g.mutateDocs(base)

		for _, tc := range []struct {
			name               string
			base, ours, theirs []tree.Document
		}{
			{"merge(base, x, base)", base, x, base},
			{"merge(base, base, x)", base, base, x},
			{"merge(base, x, x)", base, x, x},
		} {
			merged, cs, err := Documents(tc.base, tc.ours, tc.theirs)
			if err != nil || len(cs) != 0 {
				t.Fatalf("%s: conflicts %v, err %v", tc.name, cs, err)
			}
			if !tree.DocumentsEqual(merged, x) {
				t.Fatalf("%s = %v, want x = %v", tc.name, merged, x)
			}
		}

		merged, cs, err := Documents(base, x, y)
		if err != nil {
			t.Fatal(err)
		}
		// Every conflict leaves ours' value in the merged tree.
		for _, c := range cs {
			v, err := tree.Lookup(merged[c.Doc], c.Path)
			if c.OursMissing != (err != nil) || (err == nil && !tree.Equal(v, c.Ours)) {
				t.Fatalf("conflict at %s: merged has %v (%v), ours %v", tree.FormatPath(c.Path), v, err, c.Ours)
			}
		}
		// Swapping the sides swaps the conflicts.
		_, back, err := Documents(base, y, x)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := conflictSet(back, true), conflictSet(cs, false); !slices.Equal(got, want) {
			t.Fatalf("merge(base, y, x) conflicts %v, merge(base, x, y) %v", got, want)
		}
		// What the merge changed in ours comes from theirs, and the
		// other way round, or is a conflict. (A conflict can also come
		// from a change to comments alone, which treediff ignores.)
		var at []treediff.Change
		for _, c := range cs {
			p := c.Path
			if len(base) > 1 {
				p = append([]tree.PathStep{{Index: c.Doc, IsIndex: true}}, p...)
			}
			at = append(at, treediff.Change{Path: p})
		}
		explained(t, "x", treediff.Documents(x, merged), append(treediff.Documents(base, y), at...))
		explained(t, "y", treediff.Documents(y, merged), append(treediff.Documents(base, x), at...))
	})
}

// conflictSet describes conflicts as sorted strings, with the sides
// swapped if swap is set.
func conflictSet(cs []Conflict, swap bool) []string {
	var out []string
	for _, c := range cs {
		o, t := c.Ours, c.Theirs
		om, tm := c.OursMissing, c.TheirsMissing
		if swap {
			o, t, om, tm = t, o, tm, om
		}
		out = append(out, fmt.Sprintf("%d %s base=%v/%v ours=%v/%v theirs=%v/%v",
			c.Doc, tree.FormatPath(c.Path),
			c.BaseMissing, treediff.FormatValue(c.Base), om, treediff.FormatValue(o), tm, treediff.FormatValue(t)))
	}
	slices.Sort(out)
	return out
}

// explained fails unless every change in got is at, above or below the
// path of a change in by.
func explained(t *testing.T, name string, got, by []treediff.Change) {
	t.Helper()
	for _, c := range got {
		ok := false
		for _, d := range by {
			if related(c.Path, d.Path) {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("the merge changed %s in %s, and the other side did not", tree.FormatPath(c.Path), name)
		}
	}
}

func related(a, b []tree.PathStep) bool {
	n := min(len(a), len(b))
	return slices.Equal(a[:n], b[:n])
}
