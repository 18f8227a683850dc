package publish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	kjson "github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/tree"
)

// Document returns the JSON document published for a decrypted file: its
// one document as `kura decrypt --output-type json` prints it, compact,
// keys in the file's order. Comments are dropped. A YAML file of several
// documents cannot be published as one secret.
func Document(docs []tree.Document) ([]byte, error) {
	switch len(docs) {
	case 0:
		return nil, errors.New("the file holds no document to publish")
	case 1:
	default:
		return nil, fmt.Errorf("the file holds %d YAML documents; a secret is one: split the file", len(docs))
	}
	doc := tree.Document(append([]tree.Item(nil), docs[0]...))
	b, err := kjson.New(0).EmitPlain([]tree.Document{stripComments(doc)})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("the JSON of the file is malformed: %v", err)
	}
	return out.Bytes(), nil
}

// stripComments returns a copy of the items without comments, at every
// depth.
func stripComments(items []tree.Item) []tree.Item {
	out := make([]tree.Item, 0, len(items))
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		it.Value = stripValue(it.Value)
		out = append(out, it)
	}
	return out
}

func stripValue(v tree.Value) tree.Value {
	switch v.Kind {
	case tree.Map:
		v.SetItems(stripComments(v.Items()))
	case tree.List:
		elems := make([]tree.Value, 0, len(v.Elems()))
		for _, e := range v.Elems() {
			if e.Kind != tree.Comment {
				elems = append(elems, stripValue(e))
			}
		}
		v.SetElems(elems)
	}
	return v
}

// KVData turns a document into the data of a Vault KV secret: each
// top-level key is a data key, and its value is kept as JSON: strings,
// numbers (exactly as written), booleans and null as they are, nested
// maps and lists as JSON objects and arrays, as sops's vault destination
// writes them and as Vault KV stores any JSON value.
func KVData(doc []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("the document is not JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("the document holds more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	return m, nil
}

// Field describes one top-level key of a document without its value.
type Field struct {
	Key  string
	Type string // string, number, boolean, null, timestamp, object, array
	Size int    // bytes of a string, keys of an object, elements of an array
}

func (f Field) String() string {
	key := f.Key
	if key == "" || strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) || r == ',' || r == '(' }) >= 0 {
		key = strconv.Quote(key)
	}
	switch f.Type {
	case "string":
		return fmt.Sprintf("%s (string, %d %s)", key, f.Size, plural(f.Size, "byte"))
	case "object":
		return fmt.Sprintf("%s (object, %d %s)", key, f.Size, plural(f.Size, "key"))
	case "array":
		return fmt.Sprintf("%s (array, %d %s)", key, f.Size, plural(f.Size, "item"))
	}
	return fmt.Sprintf("%s (%s)", key, f.Type)
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// Describe lists the top-level keys of a decrypted document with their
// types and sizes, never their values: what --dry-run shows.
func Describe(doc tree.Document) []Field {
	var out []Field
	for _, it := range doc {
		if it.IsComment() {
			continue
		}
		key, _ := it.Key.Canonical()
		if it.Key.Kind == tree.String {
			key = it.Key.Str
		}
		f := Field{Key: key}
		v := it.Value
		switch v.Kind {
		case tree.String:
			f.Type, f.Size = "string", len(v.Str)
		case tree.Int, tree.Uint, tree.Float:
			f.Type = "number"
		case tree.Bool:
			f.Type = "boolean"
		case tree.Null:
			f.Type = "null"
		case tree.Time:
			f.Type = "timestamp"
		case tree.Map:
			f.Type, f.Size = "object", len(stripComments(v.Items()))
		case tree.List:
			f.Type, f.Size = "array", len(stripValue(v).Elems())
		default:
			f.Type = v.Kind.String()
		}
		out = append(out, f)
	}
	return out
}
