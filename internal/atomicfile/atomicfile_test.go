package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	if string(b) != "new" || st.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v", b, st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestWriteNewFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new")
	if err := Write(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}

func TestFailureLeavesOriginal(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root can write to a read-only directory")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o644)
	os.Chmod(dir, 0o555)
	defer os.Chmod(dir, 0o755)
	if err := Write(p, []byte("new"), 0o600); err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("original changed to %q", b)
	}
}

func TestNotRegular(t *testing.T) {
	if err := Write(t.TempDir(), []byte("x"), 0o600); err == nil {
		t.Error("replaced a directory")
	}
}

func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	os.WriteFile(target, []byte("old"), 0o640)
	if err := os.Symlink("target", link); err != nil {
		t.Skip("no symlinks here")
	}
	if err := Write(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target holds %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	// A dangling link gets its target created.
	os.Symlink("missing", filepath.Join(dir, "dangling"))
	if err := Write(filepath.Join(dir, "dangling"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "missing")); string(b) != "x" {
		t.Errorf("dangling link target holds %q", b)
	}
}

func TestStaleTemporaryFilesRemoved(t *testing.T) {
	if !canLock {
		t.Skip("no flock here: stale temporary files are left alone")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	os.WriteFile(p, []byte("old"), 0o640)
	stale := filepath.Join(dir, TempPrefix("f.yaml")+"123")
	os.WriteFile(stale, []byte("half"), 0o600)
	// One being written: its writer holds the lock.
	busy, err := os.CreateTemp(dir, TempPrefix("f.yaml")+"*")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	lock(busy)
	// Another file's, and a name that only looks alike, stay.
	other := filepath.Join(dir, TempPrefix("g.yaml")+"456")
	os.WriteFile(other, []byte("g"), 0o600)
	alike := filepath.Join(dir, TempPrefix("f.yaml")+"notes")
	os.WriteFile(alike, []byte("mine"), 0o600)

	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	for _, keep := range []string{busy.Name(), other, alike} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(keep), err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Errorf("content %q", b)
	}
}

func TestErrorsSayTheFileIsUnchanged(t *testing.T) {
	dir := t.TempDir()
	// A parent that is a file: nothing can be created under it.
	os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o600)
	err := Write(filepath.Join(dir, "file", "new.yaml"), []byte("x"), 0o600)
	if err == nil || strings.Contains(err.Error(), dir) {
		t.Errorf("error %v: want one that does not repeat the path", err)
	}
	if err := Write(dir, []byte("x"), 0o600); err == nil || err.Error() != "not a regular file" {
		t.Errorf("error %v", err)
	}
}
