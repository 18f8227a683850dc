// Package arena hands out slices of exact length carved from larger
// chunks, so that the many small maps and lists of a large parsed file
// cost a few allocations instead of one each (the loaders of
// pkg/format/yaml and pkg/format/json build their trees with it).
package arena

// chunkLen is how many elements an Arena allocates at a time: 45 KB of
// map entries, 22 KB of values.
const chunkLen = 256

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
		if n > chunkLen/4 {
			// A large slice gets its own allocation.
			return make([]T, n)
		}
		a.chunk = make([]T, 0, chunkLen)
	}
	start := len(a.chunk)
	a.chunk = a.chunk[:start+n]
	return a.chunk[start : start+n : start+n]
}
