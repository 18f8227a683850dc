package dotenv

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// LoadPlain parses a dotenv file into one document whose values are all
// strings. A line that is neither empty, a comment nor a key=value pair is
// an error naming the line by number only: the line may hold a secret.
func (Store) LoadPlain(data []byte) ([]tree.Document, error) {
	return load(data, false)
}

// load is LoadPlain; shared leaves the tree's strings pointing into data
// (format.SharedLoader).
func load(data []byte, shared bool) ([]tree.Document, error) {
	// The file is read in place, not converted to one string: allocating
	// a copy of a large file at once makes the garbage collector charge
	// this goroutine for a large share of its marking. Unless shared, what
	// the tree keeps is cloned, so it never shares memory with data.
	s := unsafe.String(unsafe.SliceData(data), len(data)) // #nosec G103 -- read only; kept strings are cloned unless the caller shares data (format.SharedLoader)
	clone := strings.Clone
	if shared {
		clone = func(s string) string { return s }
	}
	doc := prefault.Make[tree.Item](0, strings.Count(s, "\n")+1)
	for n := 1; len(s) > 0; n++ {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			doc = append(doc, tree.CommentItem(clone(line[1:]), false))
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: invalid dotenv input line: no \"=\" found", n)
		}
		// A quoted value may go on over the following lines until its
		// closing quote, as dotenv files commonly write certificates.
		if more, rest, lines, ok := continued(value, s); ok {
			value, s = more, rest
			n += lines
		}
		if strings.Contains(value, `\n`) {
			value = strings.ReplaceAll(value, `\n`, "\n")
		} else {
			value = clone(value)
		}
		doc = append(doc, tree.KeyItem(clone(key), tree.Str(value)))
	}
	return []tree.Document{doc}, nil
}

// LoadEncrypted parses an encrypted dotenv file: the "sops_" entries,
// wherever they are, make up the metadata, and the rest is the data.
func (s Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	return loadEncrypted(data, false)
}

// LoadEncryptedShared is LoadEncrypted with the tree's strings pointing
// into data (format.SharedLoader).
func (s Store) LoadEncryptedShared(data []byte) ([]tree.Document, []tree.Item, error) {
	return loadEncrypted(data, true)
}

// LoadPlainShared is LoadPlain with the tree's strings pointing into data
// (format.SharedLoader).
func (s Store) LoadPlainShared(data []byte) ([]tree.Document, error) {
	return load(data, true)
}

var _ format.SharedLoader = Store{}

func loadEncrypted(data []byte, shared bool) ([]tree.Document, []tree.Item, error) {
	docs, err := load(data, shared)
	if err != nil {
		return nil, nil, err
	}
	doc := docs[0]
	kept := doc[:0]
	var flat []tree.Item
	for _, it := range doc {
		if isMetaKey(it.Key) {
			flat = append(flat, tree.KeyItem(it.Key.Str[len(metaPrefix):], it.Value))
			continue
		}
		kept = append(kept, it)
	}
	if len(flat) == 0 {
		return nil, nil, format.ErrNoMetadata
	}
	meta, err := format.Unflatten(flat)
	if err != nil {
		return nil, nil, err
	}
	docs[0] = kept
	return docs, meta, nil
}

// continued extends a value that opens a quote it does not close on its
// line with the lines that follow, up to the one holding the closing
// quote. It returns the whole value (quotes and line breaks included, as
// written), the input after it and the number of lines taken. A quote
// that never closes is not a multi-line value: ok is false and the line
// stands on its own, as sops reads it.
func continued(value, rest string) (string, string, int, bool) {
	if !opensQuote(value) {
		return "", "", 0, false
	}
	q := value[0]
	var b strings.Builder
	b.WriteString(value)
	lines := 0
	for len(rest) > 0 {
		line, after, _ := strings.Cut(rest, "\n")
		b.WriteString("\n")
		b.WriteString(line)
		rest = after
		lines++
		if closes(line, q) {
			return b.String(), rest, lines, true
		}
	}
	return "", "", 0, false
}

// opensQuote reports whether a value starts with a quote that its own
// line does not close.
func opensQuote(value string) bool {
	return len(value) > 0 && (value[0] == '"' || value[0] == '\'') && !closes(value[1:], value[0])
}

// closes reports whether s holds the quote q that ends a quoted value: in
// double quotes a backslash escapes the next character.
func closes(s string, q byte) bool {
	for i := 0; i < len(s); i++ {
		switch {
		case q == '"' && s[i] == '\\':
			i++
		case s[i] == q:
			return true
		}
	}
	return false
}
