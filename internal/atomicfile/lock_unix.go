//go:build unix

package atomicfile

import (
	"os"
	"syscall"
)

const canLock = true

// lock takes an exclusive flock on the temporary file for as long as it
// is open, and so as long as its writer lives. A file system without
// flock leaves it unlocked, and then no other writer can lock it either,
// so it is never taken for stale.
func lock(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// removeIfUnlocked removes path if no process holds its lock: its writer
// is gone.
func removeIfUnlocked(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return
	}
	// Still the same file (not replaced since it was opened)?
	st, err1 := f.Stat()
	now, err2 := os.Lstat(path)
	if err1 == nil && err2 == nil && os.SameFile(st, now) {
		os.Remove(path)
	}
}
