//go:build unix

package mapfile

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	large := filepath.Join(dir, "large")
	smallData := []byte("a: b\n")
	largeData := bytes.Repeat([]byte("key: ENC[AES256_GCM,data:abc=,type:str]\n"), 2*MinSize/40)
	for p, d := range map[string][]byte{small: smallData, large: largeData} {
		if err := os.WriteFile(p, d, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path string
		want []byte
	}{{small, smallData}, {large, largeData}} {
		got, isMapped, err := Read(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if isMapped != (len(tc.want) >= MinSize) {
			t.Fatalf("%s: mapped %v for %d bytes", tc.path, isMapped, len(tc.want))
		}
		if !bytes.Equal(got, tc.want) {
			t.Fatalf("%s: read %d bytes, want %d", tc.path, len(got), len(tc.want))
		}
		// The caller's copy is its own: writing to it changes neither
		// the file nor the next read.
		got[0] = 'X'
		again, _, err := Read(tc.path)
		if err != nil || again[0] != tc.want[0] {
			t.Fatalf("%s: a write to the returned bytes reached the file", tc.path)
		}
	}
	if _, _, err := Read(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	if _, _, err := Read(dir); err == nil {
		t.Fatal("reading a directory did not fail")
	}

	// A file replaced by rename leaves the mapping as it was.
	got, isMapped, err := Read(large)
	if err != nil || !isMapped {
		t.Fatalf("a large file was not mapped (%v)", err)
	}
	tmp := filepath.Join(dir, "new")
	if err := os.WriteFile(tmp, bytes.Repeat([]byte("z"), len(largeData)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, large); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, largeData) {
		t.Fatal("the mapping changed when the file was replaced by rename")
	}
}

var sink byte

// TestTruncatedFault checks that reading a mapping past the end of a file
// truncated under it panics, with SetPanicOnFault, instead of crashing.
func TestTruncatedFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 4*MinSize), 0o600); err != nil {
		t.Fatal(err)
	}
	data, isMapped, err := Read(p)
	if err != nil || !isMapped {
		t.Fatalf("a large file was not mapped (%v)", err)
	}
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if _, ok := r.(interface{ Addr() uintptr }); !ok {
			t.Fatalf("recovered %T, want a fault", r)
		}
	}()
	sink = data[len(data)-1]
	t.Fatal("reading past the end of a truncated file did not fault")
}
