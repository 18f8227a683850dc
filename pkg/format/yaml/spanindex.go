package yaml

import (
	"unsafe"

	"go.yaml.in/yaml/v3"

	"github.com/kura-secrets/kura/internal/prefault"
)

// spanIndex maps the scalar nodes of a layout to their spans. It is an
// open-addressing table over one array sized for the text at once: a Go
// map of the same entries, allocated and cleared at its final size, filled
// and read, took 8 % of encrypting a 10,000-value YAML file (perf), much
// of it fresh memory the map touches in no order.
type spanIndex struct {
	slots []spanSlot
	used  int
	shift uint // 64 - log2(len(slots))
}

type spanSlot struct {
	n *yaml.Node
	s *span
}

// newSpanIndex returns an index with room for hint entries, at most three
// quarters full.
func newSpanIndex(hint int) spanIndex {
	size, shift := 16, uint(64-4)
	for 3*size < 4*hint {
		size, shift = size*2, shift-1
	}
	return spanIndex{slots: prefault.Make[spanSlot](size, size), shift: shift}
}

// slot returns where n is, or where it would go.
func (x *spanIndex) slot(n *yaml.Node) int {
	// Fibonacci hashing of the address (nodes do not move).
	i := int(uint64(uintptr(unsafe.Pointer(n))) * 0x9e3779b97f4a7c15 >> x.shift) // #nosec G103 G115 -- the address as a hash only
	mask := len(x.slots) - 1
	for x.slots[i].n != nil && x.slots[i].n != n {
		i = (i + 1) & mask
	}
	return i
}

// get returns n's span, or nil.
func (x *spanIndex) get(n *yaml.Node) *span {
	if len(x.slots) == 0 {
		return nil
	}
	return x.slots[x.slot(n)].s
}

// put records s as n's span.
func (x *spanIndex) put(n *yaml.Node, s *span) {
	if len(x.slots) == 0 || 4*(x.used+1) > 3*len(x.slots) {
		x.grow()
	}
	i := x.slot(n)
	if x.slots[i].n == nil {
		x.used++
	}
	x.slots[i] = spanSlot{n, s}
}

func (x *spanIndex) grow() {
	old := x.slots
	*x = newSpanIndex(max(2*x.used, 8))
	for _, e := range old {
		if e.n != nil {
			x.slots[x.slot(e.n)] = e
			x.used++
		}
	}
}
