package yaml

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSpanIndex checks the index against a map: entries put before and
// after it grows past its hint are found, absent nodes give nil, and
// putting a node again replaces its span.
func TestSpanIndex(t *testing.T) {
	for _, hint := range []int{0, 1, 10, 1000} {
		x := newSpanIndex(hint)
		want := map[*yaml.Node]*span{}
		nodes := make([]yaml.Node, 5000)
		for i := range nodes {
			s := &span{from: i}
			x.put(&nodes[i], s)
			want[&nodes[i]] = s
			if i%3 == 0 {
				s2 := &span{from: -i}
				x.put(&nodes[i], s2)
				want[&nodes[i]] = s2
			}
		}
		for n, s := range want {
			if got := x.get(n); got != s {
				t.Fatalf("hint %d: node %p: span %v, want %v", hint, n, got, s)
			}
		}
		if x.used != len(want) {
			t.Errorf("hint %d: %d entries, want %d", hint, x.used, len(want))
		}
		if x.get(new(yaml.Node)) != nil {
			t.Errorf("hint %d: an absent node has a span", hint)
		}
		if 4*x.used > 3*len(x.slots) {
			t.Errorf("hint %d: %d of %d slots used", hint, x.used, len(x.slots))
		}
	}
	var empty spanIndex
	if empty.get(new(yaml.Node)) != nil {
		t.Error("the zero index has a span")
	}
}
