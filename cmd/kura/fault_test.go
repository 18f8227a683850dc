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
	data, err := mapfile.Read(p)
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
