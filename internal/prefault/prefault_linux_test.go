package prefault

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPopulates checks with mincore that the pages inside a fresh
// allocation are resident once Slice returns, and that a small one is
// left alone.
func TestPopulates(t *testing.T) {
	const size = 8 << 20
	b := make([]byte, size) // a fresh large object: not yet touched
	Slice(b)
	if unsupported.Load() {
		t.Skip("this kernel has no MADV_POPULATE_WRITE")
	}
	base := uintptr(unsafe.Pointer(&b[0]))
	start := (base + pageSize - 1) &^ (pageSize - 1)
	end := (base + size) &^ (pageSize - 1)
	vec := make([]byte, (end-start)/pageSize)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Add(unsafe.Pointer(&b[0]), start-base)), end-start, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Skipf("mincore: %v", errno)
	}
	missing := 0
	for _, v := range vec {
		if v&1 == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d pages are not resident after Slice", missing, len(vec))
	}
}
