package prefault

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unsupported is set once the kernel refuses MADV_POPULATE_WRITE as
// unknown, so that later calls cost nothing.
var unsupported atomic.Bool

// noHugePages is set when the kernel refused MADV_HUGEPAGE, or by tests.
var noHugePages atomic.Bool

// thpDisabled reports whether GODEBUG has disablethp=1, the runtime's own
// switch, which kura honours too. It is read on the first large
// allocation, not at start-up, which small files never reach.
var thpDisabled = sync.OnceValue(func() bool { return disablesTHP(os.Getenv("GODEBUG")) })

var pageSize = uintptr(os.Getpagesize())

// heapArenaBytes is the size and alignment of the Go runtime's heap arenas
// on Linux (runtime.heapArenaBytes): 64 MiB on 64-bit systems, 4 MiB on
// 32-bit ones. Every heap object lies in one, and the runtime maps the
// arena's memory as the heap grows.
const heapArenaBytes = 4 << 20 << (unsafe.Sizeof(uintptr(0)) / 8 * 4)

// disablesTHP reports whether a GODEBUG value turns transparent huge pages
// off for the heap: its last disablethp setting is not 0.
func disablesTHP(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "disablethp="); ok {
			off = v != "0"
		}
	}
	return off
}

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
	adviseHugePages(start, end)
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start) // #nosec G103 -- inside the caller's allocation
	if err := unix.Madvise(b, unix.MADV_POPULATE_WRITE); err == unix.EINVAL {
		unsupported.Store(true)
	}
}

// adviseHugePages marks the heap arenas holding [start, end) with
// MADV_HUGEPAGE, so that their memory not yet touched (this allocation,
// and whatever the heap grew by since the last call) is backed with 2 MiB
// pages where the kernel's setting is "madvise", as it is by default on
// most distributions. The Go runtime no longer asks for huge pages itself.
//
// On the VM kura's benchmarks run on, a 2 MiB page costs what 4 or 5 small
// pages do: writing 8 MiB of fresh memory takes 0.5 ms in huge pages
// recently freed, 19 ms in huge pages the host must back again, and 30 ms
// in 4 KiB pages. Pages already present stay small, and the
// advice changes nothing the memory holds. A large allocation is where
// the heap grows, so that is where the advice is renewed: the runtime maps
// each growth as a new mapping, without the advice.
func adviseHugePages(start, end uintptr) {
	if noHugePages.Load() || thpDisabled() {
		return
	}
	lo := start &^ (heapArenaBytes - 1)
	hi := (end + heapArenaBytes - 1) &^ (heapArenaBytes - 1)
	// The arena is reserved address space, not all mapped yet: madvise
	// marks what is mapped and returns ENOMEM for the rest, which is
	// expected. Passing addresses as integers keeps them from being
	// taken for Go pointers to memory outside the allocation.
	_, _, errno := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_HUGEPAGE)
	if errno == unix.EINVAL {
		noHugePages.Store(true) // a kernel built without transparent huge pages
	}
}
