//go:build unix

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// privateDirPrefix begins the name of the private directories of edit and
// exec-file: kura-edit-RANDOM.
const privateDirPrefix = "kura-edit-"

// heldDirs keeps the locked private directories open (and so locked)
// until kura exits: an *os.File that is dropped would be closed by the
// garbage collector, releasing the lock.
var heldDirs struct {
	sync.Mutex
	files []*os.File
}

// holdPrivateDir takes an exclusive flock on dir for the rest of kura's
// life. The kernel releases it when kura ends, however it ends, SIGKILL
// included; the editor does not inherit it. A later kura that can take
// the lock knows that the kura that made the directory is gone. It fails
// only if dir was removed before it was locked (by such a later kura, in
// the instant between its creation and the lock).
func holdPrivateDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		// A file system without flock: the directory stays unlocked,
		// and no other kura can lock it to take it for stale either.
		f.Close()
		return nil
	}
	st, err1 := f.Stat()
	now, err2 := os.Lstat(dir)
	if err1 != nil || err2 != nil || !os.SameFile(st, now) {
		f.Close()
		return errors.New("the temporary directory was removed as it was made")
	}
	heldDirs.Lock()
	heldDirs.files = append(heldDirs.files, f)
	heldDirs.Unlock()
	return nil
}

// removeStaleDirs removes the private directories in base that a kura
// killed outright (SIGKILL, a crash) left behind: those of the user's
// that no running kura holds locked. It returns their paths.
func removeStaleDirs(base string) []string {
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), privateDirPrefix) {
			continue
		}
		if p := filepath.Join(base, e.Name()); removeIfStale(p) {
			removed = append(removed, p)
		}
	}
	return removed
}

func removeIfStale(dir string) bool {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); !ok || int(sys.Uid) != os.Getuid() {
		return false
	}
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	if locked, err := f.Stat(); err != nil || !os.SameFile(locked, st) {
		return false
	}
	return os.RemoveAll(dir) == nil
}
