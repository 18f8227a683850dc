package dotenv

import (
	"fmt"
	"io"
	"strings"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// EmitPlain writes the first document as dotenv; a dotenv file holds only
// one, so SOPS drops the others and so do we. Newlines in string values
// become \n, nothing else is escaped, and non-string scalars are written as
// format.FlatText prints them. Nested maps and lists cannot be written.
func (Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	if len(docs) == 0 {
		return []byte{}, nil
	}
	return appendItems(prefault.Make[byte](0, emitSize(docs[0])), docs[0])
}

// EmitPlainTo is EmitPlain writing to w about chunkSize bytes at a time
// (format.StreamEmitter), so that a large file's text is never held
// whole. What EmitPlain would refuse is refused before the first byte.
func (Store) EmitPlainTo(w io.Writer, docs []tree.Document) error {
	if len(docs) == 0 {
		return nil
	}
	items := docs[0]
	for _, it := range items {
		if err := checkItem(it); err != nil {
			return err
		}
	}
	out := prefault.Make[byte](0, tree.TextSizeUpTo(items, chunkSize)+4096)
	for _, it := range items {
		out = appendItem(out, it)
		if len(out) >= chunkSize {
			if _, err := w.Write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	if len(out) > 0 {
		_, err := w.Write(out)
		return err
	}
	return nil
}

var _ format.StreamEmitter = Store{}

// chunkSize is about how much EmitPlainTo hands its writer at a time.
const chunkSize = 64 << 10

func appendItems(out []byte, items []tree.Item) ([]byte, error) {
	for _, it := range items {
		if err := checkItem(it); err != nil {
			return nil, err
		}
		out = appendItem(out, it)
	}
	return out, nil
}

// checkItem refuses what a dotenv file cannot hold: nested maps and lists.
func checkItem(it tree.Item) error {
	if it.Value.Kind == tree.Map || it.Value.Kind == tree.List {
		key, _ := format.FlatText(it.Key)
		return fmt.Errorf("cannot use complex value in dotenv file; offending key %s", key)
	}
	return nil
}

// appendItem appends one line: a comment or a key=value pair.
func appendItem(out []byte, it tree.Item) []byte {
	if it.IsComment() {
		out = append(out, '#')
		out = append(out, it.Key.Str...)
		return append(out, '\n')
	}
	key, _ := format.FlatText(it.Key)
	out = append(out, key...)
	out = append(out, '=')
	if it.Value.Kind == tree.String {
		out = appendEscaped(out, it.Value.Str)
	} else {
		text, _ := format.FlatText(it.Value)
		out = append(out, text...)
	}
	return append(out, '\n')
}

// emitSize is the size of items written out, exactly when all values are
// strings, so that the output is allocated once.
func emitSize(items []tree.Item) int {
	n := 0
	for _, it := range items {
		n += len(it.Key.Str) + len(it.Value.Str) + 2
		if it.Value.Kind == tree.String {
			n += strings.Count(it.Value.Str, "\n")
		}
	}
	return n
}

// appendEscaped appends s with every LF written as the two characters \n.
func appendEscaped(out []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return append(out, s...)
		}
		out = append(out, s[:i]...)
		out = append(out, `\n`...)
		s = s[i+1:]
	}
}

// EmitEncrypted writes the first document followed by the flattened
// metadata. Data keys starting with "sops_" would be read back as
// metadata, so they are refused, in every document as SOPS does.
func (Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	for _, doc := range docs {
		for _, it := range doc {
			if isMetaKey(it.Key) {
				return nil, fmt.Errorf("found key %q in the data, which starts with the prefix %q reserved for the sops metadata", it.Key.Str, metaPrefix)
			}
		}
	}
	flat, err := format.Flatten(meta, metaPrefix)
	if err != nil {
		return nil, err
	}
	var data tree.Document
	if len(docs) > 0 {
		data = docs[0]
	}
	out, err := appendItems(prefault.Make[byte](0, emitSize(data)+emitSize(flat)), data)
	if err != nil {
		return nil, err
	}
	return appendItems(out, flat)
}

// EmitValue writes a single extracted value. dotenv has no syntax for a
// lone value, so as in SOPS only a string can be written, as it is.
func (Store) EmitValue(v tree.Value) ([]byte, error) {
	if v.Kind != tree.String {
		return nil, fmt.Errorf("the dotenv store only supports emitting strings, got a %s", v.Kind)
	}
	return []byte(v.Str), nil
}
