package tree

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestTextSizeUpTo(t *testing.T) {
	nested := []Item{
		KeyItem("db", MapV([]Item{
			KeyItem("user", Str("admin")),
			CommentItem(" the password", false),
			KeyItem("password", Str(strings.Repeat("x", 100))),
		})),
		KeyItem("ports", ListV([]Value{IntV(80), IntV(443), Str("8080")})),
		KeyItem("debug", BoolV(true)),
		KeyItem("empty", Value{}),
	}
	// Each entry or element: its key's or string's bytes, plus 8; a
	// scalar that is not a string, 24.
	want := (2 + 8) + (4 + 8 + 5) + (0 + 8 + 13) + (8 + 8 + 100) + // db
		(5 + 8) + 3*8 + 24 + 24 + 4 + // ports
		(5 + 8 + 24) + // debug
		(5 + 8) // empty
	for _, tc := range []struct {
		name  string
		items []Item
		limit int
		want  int
	}{
		{"nothing", nil, 1 << 20, 0},
		{"the whole tree", nested, 1 << 20, want},
		{"stops at the limit", nested, 50, 50},
		{"a limit of exactly the size", nested, want, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TextSizeUpTo(tc.items, tc.limit); got != tc.want {
				t.Errorf("TextSizeUpTo = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTextSizeUpToStopsEarly checks that a large tree is not walked past
// the limit: counting 200,000 strings up to 1 KiB, ten times over, must
// take less time than counting them all once (by about a thousand times,
// so that a slow machine does not matter).
func TestTextSizeUpToStopsEarly(t *testing.T) {
	elems := make([]Value, 200_000)
	for i := range elems {
		elems[i] = Str("0123456789")
	}
	items := []Item{KeyItem("big", ListV(elems))}
	start := time.Now()
	if got := TextSizeUpTo(items, math.MaxInt); got != 8+3+len(elems)*(8+10) {
		t.Fatalf("TextSizeUpTo(all) = %d, want %d", got, 8+3+len(elems)*(8+10))
	}
	whole := time.Since(start)
	// The fastest of five tries, so that a pause of the machine in one
	// does not fail the test.
	bounded := time.Duration(math.MaxInt64)
	for range 5 {
		start = time.Now()
		for range 10 {
			if got := TextSizeUpTo(items, 1024); got != 1024 {
				t.Fatalf("TextSizeUpTo = %d, want the limit, 1024", got)
			}
		}
		bounded = min(bounded, time.Since(start))
	}
	if bounded >= whole {
		t.Errorf("counting up to 1 KiB ten times took %v, counting everything once %v: the walk did not stop at the limit", bounded, whole)
	}
}
