// Package prefault asks the kernel to back fresh memory with pages in one
// call, before it is written.
//
// Where kura runs, in virtual machines most of all, the first write to a
// page of fresh memory costs a page fault, and a fault costs far more in a
// guest than on bare metal: 14 to 16 µs a page on the 2-core VM where
// kura's benchmarks run, which made the pages of a large file's tree cost
// more than parsing it. Asking for the pages of a large allocation in one
// madvise(MADV_POPULATE_WRITE) call takes a third of that off each page
// (what remains is the hypervisor's share, on the first touch). On bare
// metal the call costs about what the faults it saves do.
//
// On Linux the heap arena holding the memory is also marked for
// transparent huge pages (MADV_HUGEPAGE), which the Go runtime no longer
// asks for: one 2 MiB page there costs about what four or five 4 KiB ones
// do. GODEBUG=disablethp=1, the runtime's switch, turns that off.
//
// Only memory about to be written in full is worth it: an arena's chunk, a
// slice sized once for a walk. Populating never changes what the memory
// holds. Where the kernel cannot (Linux before 5.14, other systems), the
// functions do nothing.
package prefault

import "unsafe"

// minBytes is the least memory worth a system call: below it, the pages
// fault as they are written.
const minBytes = 16 << 10

// Slice populates the pages that lie wholly inside the backing array of s,
// up to its capacity.
func Slice[T any](s []T) {
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < minBytes {
		return
	}
	populate(unsafe.Pointer(unsafe.SliceData(s)), n) // #nosec G103 -- the address of s's own array, for madvise
}

// Make is make([]T, n, c) with its memory populated, for a slice that is
// about to be filled.
func Make[T any](n, c int) []T {
	s := make([]T, n, c)
	Slice(s)
	return s
}
