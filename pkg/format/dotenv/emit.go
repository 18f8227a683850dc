package dotenv

import (
	"fmt"
	"strings"

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
	return appendItems(make([]byte, 0, emitSize(docs[0])), docs[0])
}

func appendItems(out []byte, items []tree.Item) ([]byte, error) {
	for _, it := range items {
		if it.Value.Kind == tree.Map || it.Value.Kind == tree.List {
			key, _ := format.FlatText(it.Key)
			return nil, fmt.Errorf("cannot use complex value in dotenv file; offending key %s", key)
		}
		if it.IsComment() {
			out = append(out, '#')
			out = append(out, it.Key.Str...)
			out = append(out, '\n')
			continue
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
		out = append(out, '\n')
	}
	return out, nil
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
	out, err := appendItems(make([]byte, 0, emitSize(data)+emitSize(flat)), data)
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
