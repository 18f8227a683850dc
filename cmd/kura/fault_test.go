//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/mapfile"
)

var faultSink byte

// TestReportFault checks what kura says when a mapped input file is
// truncated while it is read: one line naming what happened, the input
// exit code, no stack.
func TestReportFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, bytes.Repeat([]byte("k: v\n"), mapfile.MinSize), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _, err := mapfile.Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := func() (code int) {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() { code = reportPanic(&stderr, recover()) }()
		faultSink = data[len(data)-1]
		return 0
	}()
	out := stderr.String()
	if code != 2 || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, "kura: error: an input file changed while kura was reading it") || strings.Contains(out, "goroutine") {
		t.Fatalf("exit %d, stderr:\n%s", code, out)
	}
}

// TestReportFaultNamesFile: the file kura mapped is named when it is the
// only one; several are listed.
func TestReportFaultNamesFile(t *testing.T) {
	for _, tc := range []struct {
		mapped []string
		want   string
	}{
		{nil, "kura: error: an input file changed while kura was reading it"},
		{[]string{"big.enc.yaml"}, "kura: error: big.enc.yaml: the file changed while kura was reading it"},
		{[]string{"a.yaml", "b.yaml"}, "kura: error: one of a.yaml, b.yaml changed while kura was reading it"},
	} {
		var stderr bytes.Buffer
		if code := reportFault(&stderr, tc.mapped); code != 2 || !strings.HasPrefix(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 2 {
			t.Errorf("%v: exit %d, stderr:\n%s", tc.mapped, code, stderr.String())
		}
	}
}
