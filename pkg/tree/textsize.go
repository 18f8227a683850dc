package tree

// TextSizeUpTo returns about how many bytes of text items take once
// written (their keys, strings and comments, and a few bytes of
// punctuation and indentation for each), counting no further than limit.
//
// Streaming writers size their first buffer with it. A buffer of a whole
// chunk is fresh memory the kernel must back page by page, which cost a
// small file's decryption more than writing its text did; counting stops
// at limit, so a large tree is not walked to the end for it. The figure is
// a guess in both directions: writers still grow their buffer as they go.
func TextSizeUpTo(items []Item, limit int) int {
	return textSize(items, 0, limit)
}

// itemOverhead is the punctuation and indentation guessed for each entry
// or element, and scalarSize the text of a value that is not a string.
const (
	itemOverhead = 8
	scalarSize   = 24
)

func textSize(items []Item, n, limit int) int {
	for _, it := range items {
		if n >= limit {
			return limit
		}
		n += len(it.Key.Str) + itemOverhead
		n = valueSize(it.Value, n, limit)
	}
	return min(n, limit)
}

func valueSize(v Value, n, limit int) int {
	switch v.Kind {
	case Null:
		return n
	case String, Comment:
		return n + len(v.Str)
	case Map:
		return textSize(v.Items(), n, limit)
	case List:
		for _, el := range v.Elems() {
			if n >= limit {
				return limit
			}
			n = valueSize(el, n+itemOverhead, limit)
		}
		return n
	}
	return n + scalarSize
}
