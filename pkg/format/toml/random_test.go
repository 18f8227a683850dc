package toml

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// TestRandomTrees writes random trees and reads them back. The trees mix
// values and tables in any order and put comments anywhere a load can put
// them (an inline comment only right before an item), so they exercise
// every way the emitter keeps order and comment placement: sections,
// inline tables, dotted keys, multi-line arrays and inline tables.
func TestRandomTrees(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range n {
		g := gen{r: rand.New(rand.NewPCG(uint64(seed), 7))}
		doc := tree.Document(g.items(0))
		checkReload(t, doc)
		checkReload(t, forgetInline(doc))
	}
}

type gen struct{ r *rand.Rand }

var keyPool = []string{"a", "b", "key", "snake_case", "kebab-key", "1234", "", "with space", "dot.ted", `quo"te`, "ünï", "tab\tkey", "sops_x", "x-1_y"}

var runePool = []rune("abcXYZ019 _-.#=[]{}'\"\\\t\n\r\x00\x01\x1f\x7fé日😀")

func (g *gen) text(max int, comment bool) string {
	n := g.r.IntN(max + 1)
	rs := make([]rune, 0, n)
	for len(rs) < n {
		c := runePool[g.r.IntN(len(runePool))]
		if comment && (c < 0x20 && c != '\t' || c == 0x7f) {
			continue
		}
		rs = append(rs, c)
	}
	return string(rs)
}

// comments adds own-line comments, then maybe an inline one, before an
// item.
func (g *gen) comments(items []tree.Item, inlineOK bool) []tree.Item {
	for range g.r.IntN(3) / 2 * (1 + g.r.IntN(2)) {
		items = append(items, cm(g.text(8, true)))
	}
	if inlineOK && g.r.IntN(5) == 0 {
		items = append(items, cmi(g.text(8, true)))
	}
	return items
}

func (g *gen) items(depth int) []tree.Item {
	n := g.r.IntN(6)
	if depth > 3 {
		n = g.r.IntN(3)
	}
	perm := g.r.Perm(len(keyPool))
	// Each group is an item with the comments before it. Half the tables
	// put their values before their tables, as a file does, so that
	// sections get written too.
	var values, tables [][]tree.Item
	canonical := g.r.IntN(2) == 0
	for i := 0; i < n; i++ {
		group := g.comments(nil, true)
		v := g.value(depth + 1)
		group = append(group, kv(keyPool[perm[i]], v))
		if canonical && (v.Kind == tree.Map || v.Kind == tree.List && isTableArray(v.Elems())) {
			tables = append(tables, group)
		} else {
			values = append(values, group)
		}
	}
	var items []tree.Item
	for _, group := range append(values, tables...) {
		items = append(items, group...)
	}
	if !canonical && g.r.IntN(6) == 0 {
		items = append(items, cm(g.text(6, true)))
	}
	return items
}

func (g *gen) value(depth int) tree.Value {
	k := g.r.IntN(10)
	if depth > 4 && k >= 7 {
		k = g.r.IntN(7)
	}
	switch k {
	case 0, 1:
		return str(g.text(12, false))
	case 2:
		return num(int64(g.r.Uint64()) >> g.r.IntN(64))
	case 3:
		switch g.r.IntN(8) {
		case 0:
			return tree.FloatV(math.Inf(1 - 2*g.r.IntN(2)))
		case 1:
			return tree.FloatV(math.NaN())
		case 2:
			return tree.FloatV(math.Copysign(0, -1))
		case 3:
			return tree.FloatV(math.Float64frombits(g.r.Uint64()))
		}
		f := g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(60)-30))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 1.5
		}
		return tree.FloatV(f)
	case 4:
		return tree.BoolV(g.r.IntN(2) == 0)
	case 5:
		return tree.TimeV(g.time())
	case 6, 7:
		elems := []tree.Value{}
		n := g.r.IntN(5)
		tables := g.r.IntN(3) == 0
		for i := 0; i < n; i++ {
			if g.r.IntN(4) == 0 {
				elems = append(elems, ce(g.text(6, true)))
			}
			if g.r.IntN(5) == 0 {
				elems = append(elems, cei(g.text(6, true)))
			}
			if tables {
				elems = append(elems, tree.MapV(g.items(depth+1)))
			} else {
				elems = append(elems, g.value(depth+1))
			}
		}
		if g.r.IntN(6) == 0 {
			elems = append(elems, ce(g.text(6, true)))
		}
		return tree.ListV(elems)
	}
	return tree.MapV(g.items(depth))
}

func (g *gen) time() time.Time {
	ns := 0
	if g.r.IntN(2) == 0 {
		ns = g.r.IntN(1e9)
	}
	y, mo, d := g.r.IntN(10000), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28)
	h, mi, s := g.r.IntN(24), g.r.IntN(60), g.r.IntN(60)
	switch g.r.IntN(5) {
	case 0:
		return time.Date(y, mo, d, 0, 0, 0, 0, LocalDate)
	case 1:
		return time.Date(0, 1, 1, h, mi, s, ns, LocalTime)
	case 2:
		return time.Date(y, mo, d, h, mi, s, ns, LocalDateTime)
	case 3:
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	off := (g.r.IntN(24*60*2) - 24*60) * 60
	if off == 0 {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	t := time.Date(y, mo, d, h, mi, s, ns, time.FixedZone("", off))
	if t.UTC().Year() != t.Year() {
		// Keep clear of the year 0000/9999 edges in UTC.
		return time.Date(1000+y%8000, mo, d, h, mi, s, ns, time.FixedZone(strconv.Itoa(off), off))
	}
	return t
}
