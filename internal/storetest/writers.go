package storetest

import "bytes"

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
