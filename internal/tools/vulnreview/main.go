// Command vulnreview reads govulncheck -format json on standard input and
// decides what make lint makes of it (docs/security.md, "Static
// analysis"):
//
//   - a vulnerability kura's code calls in a module it requires fails the
//     review (exit 1): upgrade the module;
//   - one it calls in the standard library is a warning, unless -stdlib
//     fail: the fix is the Go release kura is built with, not the source;
//   - a vulnerability only in a module or package kura imports but does
//     not call is listed, as govulncheck lists it.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type message struct {
	Config *struct {
		GoVersion string `json:"go_version"`
	} `json:"config"`
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

// finding is one vulnerability in one module, at the deepest level
// govulncheck found it.
type finding struct {
	id, module, version, fixed string
	called, imported           bool
}

func main() {
	stdlib := flag.String("stdlib", "warn", "what a called standard-library vulnerability does: warn or fail")
	flag.Parse()
	code, err := review(os.Stdin, os.Stdout, *stdlib == "fail")
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulnreview:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func review(in io.Reader, out io.Writer, stdlibFails bool) (int, error) {
	dec := json.NewDecoder(in)
	summaries := map[string]string{}
	found := map[string]*finding{}
	goVersion := ""
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		switch {
		case m.Config != nil:
			goVersion = m.Config.GoVersion
		case m.OSV != nil:
			summaries[m.OSV.ID] = m.OSV.Summary
		case m.Finding != nil && len(m.Finding.Trace) > 0:
			t := m.Finding.Trace[0]
			key := m.Finding.OSV + " " + t.Module
			f := found[key]
			if f == nil {
				f = &finding{id: m.Finding.OSV, module: t.Module, version: t.Version, fixed: m.Finding.FixedVersion}
				found[key] = f
			}
			f.called = f.called || t.Function != ""
			f.imported = f.imported || t.Package != ""
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	code := 0
	var stdlibCalled []string
	for _, k := range keys {
		f := found[k]
		fixed := "no fix yet"
		if f.fixed != "" {
			fixed = "fixed in " + f.fixed
		}
		where := f.module + "@" + f.version
		if f.module == "stdlib" {
			where = "the standard library of " + goVersion
		}
		switch {
		case f.called && f.module == "stdlib":
			stdlibCalled = append(stdlibCalled, f.id)
			fmt.Fprintf(out, "called:   %s in %s (%s): %s\n", f.id, where, fixed, summaries[f.id])
			if stdlibFails {
				code = 1
			}
		case f.called:
			fmt.Fprintf(out, "CALLED:   %s in %s (%s): %s\n", f.id, where, fixed, summaries[f.id])
			code = 1
		case f.imported:
			fmt.Fprintf(out, "imported: %s in %s, not called (%s): %s\n", f.id, where, fixed, summaries[f.id])
		default:
			fmt.Fprintf(out, "required: %s in %s, package not imported (%s): %s\n", f.id, where, fixed, summaries[f.id])
		}
	}
	switch {
	case len(found) == 0:
		fmt.Fprintln(out, "no known vulnerability")
	case code != 0:
		fmt.Fprintln(out, "FAIL: kura calls a known vulnerability (above): upgrade the module or the Go release")
	}
	if len(stdlibCalled) > 0 && !stdlibFails {
		fmt.Fprintf(out, "warning: %s has %d known vulnerabilities kura calls (%s): build releases with the Go release that fixes them\n",
			goVersion, len(stdlibCalled), strings.Join(stdlibCalled, ", "))
	}
	return code, nil
}
