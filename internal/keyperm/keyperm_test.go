package keyperm

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	if !unixModes {
		t.Skip("no Unix permission bits")
	}
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) (string, os.FileInfo) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("AGE-SECRET-KEY-1..."), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return p, st
	}
	var buf bytes.Buffer
	private, st := write("private.txt", 0o600)
	Check(private, st, &buf)
	ownerOnly, st := write("owner.txt", 0o700)
	Check(ownerOnly, st, &buf)
	groupWritable, st := write("gw.txt", 0o620)
	Check(groupWritable, st, &buf)
	if buf.Len() != 0 {
		t.Errorf("warned about a private file: %q", buf.String())
	}

	world, st := write("keys.txt", 0o644)
	Check(world, st, &buf)
	Check(world, st, &buf) // once per file
	want := "kura: warning: " + world + " is readable by others (mode 0644); run chmod 600 " + world + "\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}

	buf.Reset()
	spaced, st := write("my key's.txt", 0o640)
	Check(spaced, st, &buf)
	want = "kura: warning: " + spaced + " is readable by others (mode 0640); run chmod 600 '" + dir + "/my key'\\''s.txt'\n"
	if buf.String() != want {
		t.Errorf("got %q\nwant %q", buf.String(), want)
	}

	// Not a regular file (a FIFO from <(...), a terminal): no warning.
	buf.Reset()
	st, _ = os.Stat(dir)
	Check(dir, st, &buf)
	Check(world+"-nil", nil, &buf)
	Check(world+"-nowriter", st, nil)
	if buf.Len() != 0 {
		t.Errorf("warned: %q", buf.String())
	}
}
