// Package arena hands out slices of exact length carved from larger
// chunks, so that the many small maps and lists of a large parsed file
// cost a few allocations instead of one each (the loaders of
// pkg/format/yaml and pkg/format/json build their trees with it).
package arena

import "github.com/kura-secrets/kura/internal/prefault"

// Chunks start at firstChunkLen elements, so that a small file's tree
// costs no more than it did, and double up to maxChunkLen (180 KB of map
// entries, 90 KB of values), each populated at once (prefault). A slice of
// more than bigLen elements gets an allocation of its own.
const (
	firstChunkLen = 16
	maxChunkLen   = 1024
	bigLen        = 64
)

// Arena hands out slices of T. The zero Arena is ready to use; it must
// not be shared between goroutines. A chunk stays in memory as long as
// any slice carved from it does.
type Arena[T any] struct{ chunk []T }

// Take returns a zeroed slice of length n whose capacity is its length:
// appending to it copies it out instead of overwriting its neighbour.
func (a *Arena[T]) Take(n int) []T {
	if n <= 0 {
		return []T{}
	}
	if cap(a.chunk)-len(a.chunk) < n {
		if n > bigLen {
			s := make([]T, n)
			prefault.Slice(s)
			return s
		}
		a.chunk = make([]T, 0, min(max(firstChunkLen, 2*cap(a.chunk), n), maxChunkLen))
		prefault.Slice(a.chunk)
	}
	start := len(a.chunk)
	a.chunk = a.chunk[:start+n]
	return a.chunk[start : start+n : start+n]
}
