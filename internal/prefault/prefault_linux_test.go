package prefault

import (
	"os"
	"slices"
	"strconv"
	"strings"
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

// vmFlags returns the VmFlags line of the mapping holding addr, from
// /proc/self/smaps.
func vmFlags(t *testing.T, addr uintptr) []string {
	t.Helper()
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	inside := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if lo, hi, ok := mappingRange(line); ok {
			inside = lo <= addr && addr < hi
			continue
		}
		if rest, ok := strings.CutPrefix(line, "VmFlags:"); ok && inside {
			return strings.Fields(rest)
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return nil
}

// mappingRange parses the address range that starts a mapping's lines in
// smaps ("7f0000-7f1000 rw-p ...").
func mappingRange(line string) (lo, hi uintptr, ok bool) {
	r, _, found := strings.Cut(line, " ")
	a, b, found2 := strings.Cut(r, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	l, err1 := strconv.ParseUint(a, 16, 64)
	h, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(l), uintptr(h), true
}

// TestAdvisesHugePages checks that a populated allocation's mapping is
// marked for huge pages ("hg" in smaps), and is not when GODEBUG turns
// them off.
func TestAdvisesHugePages(t *testing.T) {
	if mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(mode), "[never]") {
		t.Skip("this kernel has no transparent huge pages")
	}
	if thpDisabled() {
		t.Skip("GODEBUG has disablethp=1")
	}
	b := make([]byte, 8<<20)
	Slice(b)
	if unsupported.Load() {
		t.Skip("this kernel has no MADV_POPULATE_WRITE")
	}
	if flags := vmFlags(t, uintptr(unsafe.Pointer(&b[len(b)/2]))); !slices.Contains(flags, "hg") {
		t.Errorf("mapping flags %v, want hg", flags)
	}

	noHugePages.Store(true)
	defer noHugePages.Store(false)
	// A fresh arena, far from the first: allocate until the heap maps
	// memory the earlier advice did not reach.
	c := make([]byte, 2*heapArenaBytes)
	Slice(c)
	if flags := vmFlags(t, uintptr(unsafe.Pointer(&c[len(c)-1]))); slices.Contains(flags, "hg") {
		t.Errorf("with huge pages off, mapping flags %v have hg", flags)
	}
}

func TestDisablesTHP(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"disablethp=1", true},
		{"gctrace=1,disablethp=1", true},
		{"disablethp=1,disablethp=0", false},
		{"disablethp=0", false},
		{" disablethp=1 ", true},
		{"xdisablethp=1", false},
	} {
		if got := disablesTHP(tc.godebug); got != tc.want {
			t.Errorf("disablesTHP(%q) = %v, want %v", tc.godebug, got, tc.want)
		}
	}
}
