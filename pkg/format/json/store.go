// Package json reads and writes SOPS files in JSON, byte for byte as SOPS
// 3.13.2 does.
//
// A JSON file is one object. Its entries keep their order, duplicate keys
// included, because the order decides the MAC. An encrypted file carries
// the SOPS metadata as a last top-level entry named "sops".
//
// Output is what SOPS's JSON store writes: encoding/json's escaping and
// number formatting, json.Indent's layout with a TAB (or a configured
// number of spaces) per level, and a final newline. Comments, which other
// formats can carry, are dropped, and only the first document is written.
package json

import (
	"errors"
	"fmt"
	"io"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TabIndent is the Indent value that indents with one TAB per level. It is
// SOPS's default for JSON and for the JSON envelope of binary files.
const TabIndent = -1

// Store reads and writes JSON files.
type Store struct {
	// Indent is the indentation per nesting level: TabIndent (-1) for a
	// TAB, or N >= 0 for N spaces (0 puts every element on its own line
	// without indenting it). Values below -1 make every Emit method fail,
	// which is where SOPS reports them too.
	//
	// The zero Store indents with no spaces, which is not the default;
	// use New.
	Indent int
}

var _ format.Store = (*Store)(nil)

// New returns a Store with the given indentation: -1 (TabIndent, the
// default) for a TAB, N >= 0 for N spaces. An indent below -1 is an error
// from the Emit methods, not from New, so that a command fails at the same
// point SOPS does.
func New(indent int) *Store {
	return &Store{Indent: indent}
}

// LoadPlain parses a JSON file. The top level must be an object; an empty
// input, a byte order mark or a syntax error anywhere up to the end of
// that object is an error, and anything after it is ignored, as in SOPS.
// Integers that fit in an int64 load as Int and all other numbers as
// Float; a number beyond float64's range is an error.
func (s *Store) LoadPlain(data []byte) ([]tree.Document, error) {
	doc, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("could not unmarshal input data: %w", err)
	}
	return []tree.Document{doc}, nil
}

// EmitPlain writes the first document as a JSON file.
func (s *Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	if len(docs) == 0 {
		return nil, errors.New("error marshaling to JSON: there is no document to write")
	}
	return s.emitDocument(docs[0], nil)
}

// LoadEncrypted parses an encrypted JSON file and takes the top-level
// "sops" entry out as the metadata. It returns format.ErrNoMetadata when
// there is none.
func (s *Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, err := s.LoadPlain(data)
	if err != nil {
		return nil, nil, err
	}
	return format.SplitMetadata(docs)
}

// LoadEncryptedShared is LoadEncrypted with the tree's strings pointing
// into data (format.SharedLoader).
func (s *Store) LoadEncryptedShared(data []byte) ([]tree.Document, []tree.Item, error) {
	doc, err := decodeData(data, true)
	if err != nil {
		return nil, nil, fmt.Errorf("could not unmarshal input data: %w", err)
	}
	return format.SplitMetadata([]tree.Document{doc})
}

// LoadPlainShared is LoadPlain with the tree's strings pointing into data
// (format.SharedLoader).
func (s *Store) LoadPlainShared(data []byte) ([]tree.Document, error) {
	doc, err := decodeData(data, true)
	if err != nil {
		return nil, fmt.Errorf("could not unmarshal input data: %w", err)
	}
	return []tree.Document{doc}, nil
}

var _ format.SharedLoader = (*Store)(nil)

// EmitEncrypted writes the first document with the metadata as its last
// entry, "sops".
func (s *Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	if len(docs) == 0 {
		return nil, errors.New("error marshaling to JSON: there is no document to write")
	}
	if s.HasMetadataKey(docs[0]) {
		// The file would have two "sops" entries and could not be read
		// back.
		return nil, errors.New("error marshaling to JSON: the document already has a top-level sops entry")
	}
	return s.emitDocument(docs[0], []tree.Item{tree.KeyItem(format.MetadataKey, tree.MapV(meta))})
}

// EmitValue writes a single value the way SOPS prints the result of
// --extract with JSON output: a map as a whole file (with the final
// newline), anything else as encoding/json would write it, indented the
// same way and without a final newline. A string is written as a quoted
// JSON string; note that --extract prints a string leaf's raw bytes
// instead, without asking the store.
func (s *Store) EmitValue(v tree.Value) ([]byte, error) {
	if v.Kind == tree.Map {
		return s.emitDocument(v.Items(), nil)
	}
	e, err := s.encoder()
	if err != nil {
		return nil, err
	}
	b, err := e.value(nil, &v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("error marshaling to JSON: %w", err)
	}
	return b, nil
}

// HasMetadataKey reports whether doc has a top-level "sops" entry.
func (s *Store) HasMetadataKey(doc tree.Document) bool {
	return format.HasTopLevelKey(doc, format.MetadataKey)
}

func (s *Store) encoder() (encoder, error) {
	unit, err := indentUnit(s.Indent)
	return encoder{indent: unit}, err
}

// EmitPlainTo is EmitPlain writing to w in chunks (format.StreamEmitter),
// so that a large file's text is never held whole. A walk that formats
// nothing first proves the document can be written (encoder.check):
// nothing reaches w for a tree that cannot.
func (s *Store) EmitPlainTo(w io.Writer, docs []tree.Document) error {
	if len(docs) == 0 {
		return errors.New("error marshaling to JSON: there is no document to write")
	}
	e, err := s.encoder()
	if err != nil {
		return err
	}
	// Nothing reaches w for a tree that cannot be written whole.
	if err := e.check(docs[0], 0); err != nil {
		return fmt.Errorf("error marshaling to JSON: %w", err)
	}
	return e.stream(w, docs[0])
}

var _ format.StreamEmitter = (*Store)(nil)

// stream writes items as one top-level object and a newline to w.
func (e encoder) stream(w io.Writer, items []tree.Item) error {
	e.sink = &chunkSink{w: w}
	b, err := e.object(prefault.Make[byte](0, tree.TextSizeUpTo(items, chunkSize)+4096), items, nil, 0)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if e.sink.err == nil {
		_, e.sink.err = w.Write(b)
	}
	return e.sink.err
}

// emitDocument writes items, then extra, as one top-level object followed
// by a newline. extra lets the metadata be appended without copying the
// caller's document.
func (s *Store) emitDocument(items, extra []tree.Item) ([]byte, error) {
	e, err := s.encoder()
	if err != nil {
		return nil, err
	}
	// One buffer of about the right size: growing a large output by
	// doubling copies it, and touches fresh memory, several times over.
	size := e.estimate(items, 0) + e.estimate(extra, 0) + 64
	b, err := e.object(prefault.Make[byte](0, size+size/8), items, extra, 0)
	if err != nil {
		return nil, fmt.Errorf("error marshaling to JSON: %w", err)
	}
	return append(b, '\n'), nil
}
