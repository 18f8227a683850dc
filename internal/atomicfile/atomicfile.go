// Package atomicfile replaces a file's contents so that a reader, or the
// file system after a crash, sees either the old file or the new one,
// never a mix: the new bytes go to a temporary file in the same directory,
// are flushed to disk, and are renamed over the old name.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data. An existing file keeps its permission
// bits; a new file gets perm. A symbolic link is followed: its target is
// replaced and the link stays. On any error the original file is
// untouched and the temporary file is removed.
//
// Hard links to the file keep the old content: a rename gives the name a
// new inode. That is the price of never exposing a half-written file.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	if target, lerr := filepath.EvalSymlinks(path); lerr == nil {
		path = target
	} else if !errors.Is(lerr, fs.ErrNotExist) {
		return lerr
	} else if dest, rerr := os.Readlink(path); rerr == nil {
		// A link to a file that does not exist yet: create the target.
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	if st, statErr := os.Stat(path); statErr == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", path)
		}
		perm = st.Mode().Perm()
	} else if !errors.Is(statErr, fs.ErrNotExist) {
		return statErr
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".kura-*")
	if err != nil {
		return fmt.Errorf("creating a temporary file next to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("flushing %s to disk: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	// Make the rename itself durable. Not every system can sync a
	// directory; the data is already safe, so that failure is ignored.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
