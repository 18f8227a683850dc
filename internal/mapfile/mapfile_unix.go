//go:build unix

package mapfile

import (
	"io"
	"os"
	"sync/atomic"
	"syscall"
)

// MinSize is the size from which a file is mapped: below it, reading
// costs less than setting up a mapping.
const MinSize = 256 << 10

// MaxMapped bounds the mappings one process makes, which the kernel
// limits (vm.max_map_count) and which are never undone.
const MaxMapped = 256

var mapped atomic.Int32

// Read returns the contents of the file at path, as os.ReadFile does,
// mapped into memory when the file is a large regular file; isMapped says
// which, so that a fault can be blamed on the file.
func Read(path string) (data []byte, isMapped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size < MinSize || size > 1<<40 || int64(int(size)) != size {
		data, err = io.ReadAll(f)
		return data, false, err
	}
	if mapped.Add(1) > MaxMapped {
		mapped.Add(-1)
		data, err = io.ReadAll(f)
		return data, false, err
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE)
	if err != nil {
		// (a file system that cannot map files)
		mapped.Add(-1)
		data, err = io.ReadAll(f)
		return data, false, err
	}
	return data, true, nil
}
