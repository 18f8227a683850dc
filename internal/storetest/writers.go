package storetest

import (
	"bytes"
	"runtime"
)

// ChunkRecorder is a writer that keeps what it is given and counts the
// writes, for tests of streaming emitters.
type ChunkRecorder struct {
	Buf             bytes.Buffer
	Writes, Largest int
}

func (c *ChunkRecorder) Write(p []byte) (int, error) {
	c.Writes++
	c.Largest = max(c.Largest, len(p))
	return c.Buf.Write(p)
}

// FailingWriter is a writer whose every write fails with Err.
type FailingWriter struct{ Err error }

func (f FailingWriter) Write(p []byte) (int, error) { return 0, f.Err }

// AllocatedBytes returns how many bytes of memory one call of f
// allocates, averaged over runs calls, for tests that keep a small file's
// writing from taking a large buffer.
func AllocatedBytes(runs int, f func()) uint64 {
	f() // once first, so that lazily built tables are not counted
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs) // #nosec G115 -- runs is a small positive count
}
