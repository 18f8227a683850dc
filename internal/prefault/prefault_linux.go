package prefault

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unsupported is set once the kernel refuses MADV_POPULATE_WRITE as
// unknown, so that later calls cost nothing.
var unsupported atomic.Bool

var pageSize = uintptr(os.Getpagesize())

func populate(p unsafe.Pointer, n uintptr) {
	if unsupported.Load() {
		return
	}
	// Only the pages wholly inside [p, p+n): the ones at the edges may
	// belong to other objects, which populating would not harm, but
	// nothing is gained there.
	start := (uintptr(p) + pageSize - 1) &^ (pageSize - 1)
	end := (uintptr(p) + n) &^ (pageSize - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start) // #nosec G103 -- inside the caller's allocation
	if err := unix.Madvise(b, unix.MADV_POPULATE_WRITE); err == unix.EINVAL {
		unsupported.Store(true)
	}
}
