package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReview(t *testing.T) {
	const head = `{"config":{"go_version":"go1.26.8"}}
{"osv":{"id":"GO-1","summary":"in the standard library"}}
{"osv":{"id":"GO-2","summary":"in a module"}}
{"finding":{"osv":"GO-1","fixed_version":"v1.26.9","trace":[{"module":"stdlib","version":"v1.26.8","package":"net/http","function":"Get"}]}}
`
	const moduleOnly = `{"finding":{"osv":"GO-2","fixed_version":"v1.1.0","trace":[{"module":"example.com/m","version":"v1.0.0"}]}}
`
	const called = `{"finding":{"osv":"GO-2","fixed_version":"v1.1.0","trace":[{"module":"example.com/m","version":"v1.0.0","package":"example.com/m/p","function":"F"}]}}
`
	for _, c := range []struct {
		in          string
		stdlibFails bool
		code        int
		want        string
	}{
		{head + moduleOnly, false, 0, "required: GO-2 in example.com/m@v1.0.0"},
		{head + moduleOnly, true, 1, "called:   GO-1 in the standard library of go1.26.8"},
		{head + moduleOnly + called, false, 1, "CALLED:   GO-2 in example.com/m@v1.0.0 (fixed in v1.1.0)"},
		{`{"config":{"go_version":"go1.26.8"}}`, true, 0, "no known vulnerability"},
	} {
		var out bytes.Buffer
		code, err := review(strings.NewReader(c.in), &out, c.stdlibFails)
		if err != nil || code != c.code || !strings.Contains(out.String(), c.want) {
			t.Errorf("review: code %d, err %v, want code %d and %q in:\n%s", code, err, c.code, c.want, out.String())
		}
	}
}
