// Package atomicfile replaces a file's contents so that a reader, or the
// file system after a crash, sees either the old file or the new one,
// never a mix: the new bytes go to a temporary file in the same directory,
// are flushed to disk, and are renamed over the old name.
//
// The temporary file is named ".NAME.kura-RANDOM", next to NAME. It is
// removed on every error; only a process killed outright (SIGKILL, power
// loss) leaves it behind, and the target is then whole, old or new. While
// a write runs, its temporary file is locked (flock, on Unix), so that the
// next [Write] of the same file recognises the ones nobody is writing any
// more and removes them.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix returns the prefix of the temporary files Write makes for a
// file named base: ".base.kura-".
func TempPrefix(base string) string { return "." + base + ".kura-" }

// Write replaces path with data. An existing file keeps its permission
// bits; a new file gets perm. A symbolic link is followed: its target is
// replaced and the link stays. On any error the original file is
// untouched and the temporary file is removed; the error does not repeat
// path, and says whether the file was left as it was.
//
// Hard links to the file keep the old content: a rename gives the name a
// new inode. That is the price of never exposing a half-written file.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	if target, lerr := filepath.EvalSymlinks(path); lerr == nil {
		path = target
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return pathless(lerr)
	} else if dest, rerr := os.Readlink(path); rerr == nil {
		// A link to a file that does not exist yet: create the target.
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	unchanged := "the file was not created"
	if st, statErr := os.Stat(path); statErr == nil {
		if !st.Mode().IsRegular() {
			return errors.New("not a regular file")
		}
		perm = st.Mode().Perm()
		unchanged = "the file is unchanged"
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return pathless(statErr)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	removeStale(dir, base)
	tmp, err := os.CreateTemp(dir, TempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("cannot create a temporary file in %s: %w; %s", filepath.Clean(dir), pathless(err), unchanged)
	}
	lock(tmp)
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("cannot set the mode of the temporary file: %w; %s", pathless(err), unchanged)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write the new content: %w; %s", pathless(err), unchanged)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("cannot flush the new content to disk: %w; %s", pathless(err), unchanged)
	}
	// Where it is locked, the file stays open, and locked, until it has
	// its final name. Elsewhere (Windows) an open file cannot be renamed.
	if !canLock {
		if err = tmp.Close(); err != nil {
			return fmt.Errorf("cannot write the new content: %w; %s", pathless(err), unchanged)
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot replace the file: %w; %s", renameCause(err), unchanged)
	}
	// The data is on disk and renamed: a late close error changes nothing.
	tmp.Close()
	// Make the rename itself durable. Not every system can sync a
	// directory; the data is already safe, so that failure is ignored.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// removeStale removes the temporary files of earlier writes of base that
// were killed before they finished: those no process holds locked. It is
// best effort; a file it cannot examine stays.
func removeStale(dir, base string) {
	if !canLock {
		return
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := TempPrefix(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		removeIfUnlocked(filepath.Join(dir, e.Name()))
	}
}

// pathless drops the path from a file error: the caller names the file.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// renameCause is the reason of a failed rename, without its two paths.
func renameCause(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
