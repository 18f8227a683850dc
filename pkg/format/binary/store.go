// Package binary handles files that kura does not parse: the whole file is
// one secret.
//
// The plaintext, whatever its bytes, is held as a single string entry
// named "data", so that it is encrypted, authenticated and stored like any
// other value. The encrypted file is a JSON envelope, exactly the JSON
// store's layout: {"data": "ENC[...]", "sops": {...}}.
package binary

import (
	"errors"
	"fmt"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/tree"
)

// DataKey is the name of the one entry that holds the file's bytes.
const DataKey = "data"

// ErrEmitPlain is wrapped by every EmitPlain error, so that a command can
// add a hint: usually the data was not a binary file and another output
// type was meant.
var ErrEmitPlain = errors.New("error emitting binary store")

// Store reads and writes binary files and their JSON envelope.
type Store struct {
	// Indent is the indentation of the JSON envelope, as in json.Store:
	// -1 (json.TabIndent) for a TAB, N >= 0 for N spaces. Below -1 is an
	// error when emitting the envelope.
	//
	// The zero Store indents with no spaces, which is not the default;
	// use New.
	Indent int
}

var _ format.Store = (*Store)(nil)

// New returns a Store whose envelope has the given indentation; -1
// (json.TabIndent), a TAB, is the default.
func New(indent int) *Store {
	return &Store{Indent: indent}
}

func (s *Store) envelope() *json.Store { return json.New(s.Indent) }

// LoadPlain returns one document whose only entry, "data", holds the input
// bytes as they are, valid UTF-8 or not. Empty input gives an empty
// string.
func (s *Store) LoadPlain(data []byte) ([]tree.Document, error) {
	return []tree.Document{{tree.KeyItem(DataKey, tree.Str(string(data)))}}, nil
}

// EmitPlain returns the bytes of the "data" string, with nothing added.
// Like SOPS it needs exactly one document, and looks only at the first
// top-level "data" entry.
func (s *Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	if len(docs) != 1 {
		return nil, fmt.Errorf("%w: there must be exactly one document, not %d", ErrEmitPlain, len(docs))
	}
	for _, it := range docs[0] {
		if it.Key.Kind != tree.String || it.Key.Str != DataKey {
			continue
		}
		if it.Value.Kind != tree.String {
			return nil, fmt.Errorf("%w: the %q entry is a %s, not a string", ErrEmitPlain, DataKey, it.Value.Kind)
		}
		return []byte(it.Value.Str), nil
	}
	return nil, fmt.Errorf("%w: no binary data found in tree", ErrEmitPlain)
}

// LoadEncrypted parses the JSON envelope.
func (s *Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	return s.envelope().LoadEncrypted(data)
}

// EmitEncrypted writes the JSON envelope.
func (s *Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	return s.envelope().EmitEncrypted(docs, meta)
}

// EmitValue always fails: a binary file has no structure to extract from.
func (s *Store) EmitValue(tree.Value) ([]byte, error) {
	return nil, errors.New("binary files are not structured and extracting a single value is not possible")
}

// HasMetadataKey reports whether doc has a top-level "sops" entry.
func (s *Store) HasMetadataKey(doc tree.Document) bool {
	return format.HasTopLevelKey(doc, format.MetadataKey)
}
