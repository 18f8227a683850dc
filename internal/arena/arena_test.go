package arena

import "testing"

func TestTake(t *testing.T) {
	var a Arena[[4]int]
	var all [][][4]int
	for n := range 3000 {
		s := a.Take(n % 37)
		if len(s) != n%37 || cap(s) != len(s) {
			t.Fatalf("Take(%d): len %d cap %d", n%37, len(s), cap(s))
		}
		for i := range s {
			if s[i] != [4]int{} {
				t.Fatal("Take returned memory that is not zero")
			}
			s[i] = [4]int{n, i}
		}
		all = append(all, s)
	}
	// Every slice still holds what was written to it: none overlaps
	// another, and appending to one leaves its neighbours alone.
	for n, s := range all {
		if len(s) > 0 {
			_ = append(s, [4]int{-1})
		}
		for i := range s {
			if s[i] != [4]int{n, i} {
				t.Fatalf("slice %d element %d was overwritten", n, i)
			}
		}
	}
	if big := a.Take(1 << 20); len(big) != 1<<20 {
		t.Fatal("a large slice")
	}
	if s := a.Take(0); s == nil || len(s) != 0 {
		t.Fatal("Take(0) must be empty, not nil")
	}
}
