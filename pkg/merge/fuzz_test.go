package merge

import (
	"fmt"
	"github.com/kura-secrets/kura/internal/treegen"
	"slices"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
	"github.com/kura-secrets/kura/pkg/treediff"
)

func FuzzMerge(f *testing.F) {
	f.Add([]byte{1, 4, 1, 9, 2, 17, 3, 3, 2, 1, 6, 4, 4, 2, 5, 1, 7})
	f.Add([]byte{2, 3, 4, 4, 2, 1, 9, 6, 3, 1, 2, 3, 2, 2, 5, 6, 6, 1, 8, 3, 4, 2, 1, 3, 3, 2, 2, 4, 4, 1})
	f.Add([]byte("a longer seed, to reach more of the generator's branches"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := treegen.New(data)
		base := g.Docs()
		x := g.MutateDocs(base)
		y := g.MutateDocs(base)

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
