// Package format turns file bytes into tree documents and back, for every
// file format kura handles, and knows where each format keeps the SOPS
// metadata block.
//
// Each format lives in its own subpackage; this package holds what they
// share: the Store interface, format detection from file names, and the
// flattening of the metadata tree that dotenv and INI need.
package format

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/kura-secrets/kura/pkg/tree"
)

// Format names a file format.
type Format int

// The formats. The zero value is Binary, as in SOPS: anything not
// recognised is treated as opaque bytes.
const (
	Binary Format = iota
	Dotenv
	INI
	JSON
	YAML
	// TOML is kura's own: sops 3.13.2 treats .toml files as binary.
	TOML
)

var names = map[Format]string{Binary: "binary", Dotenv: "dotenv", INI: "ini", JSON: "json", YAML: "yaml", TOML: "toml"}

func (f Format) String() string { return names[f] }

// Parse returns the format with the given name ("yaml", "json", "dotenv",
// "ini", "toml" or "binary"). The second result is false for any other name:
// SOPS ignores unknown type names and falls back to the file name.
func Parse(name string) (Format, bool) {
	for f, n := range names {
		if n == name {
			return f, true
		}
	}
	return Binary, false
}

// FromPath detects the format from a file name the way SOPS does: a
// case-sensitive suffix test where anything unknown is binary.
func FromPath(path string) Format {
	switch {
	case strings.HasSuffix(path, ".yaml"), strings.HasSuffix(path, ".yml"):
		return YAML
	case strings.HasSuffix(path, ".json"):
		return JSON
	case strings.HasSuffix(path, ".env"):
		return Dotenv
	case strings.HasSuffix(path, ".ini"):
		return INI
	case strings.HasSuffix(path, ".toml"):
		return TOML
	}
	return Binary
}

// OfEncrypted corrects the format a file name gives for an encrypted
// file's content: sops 3.13.2 has no TOML store, so a .toml file it
// encrypted is a binary envelope, a JSON object, which no TOML document
// can start with.
func OfEncrypted(f Format, data []byte) Format {
	if f == TOML {
		if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			return Binary
		}
	}
	return f
}

// Store reads and writes one file format.
//
// Plain files are the user's own data. Encrypted files are the same data
// with encrypted values plus the SOPS metadata, which the store hands over
// as a tree map (metadata.FromTree and metadata.ToTree give it meaning).
// The metadata tree's items are in the order they must be written.
type Store interface {
	// LoadPlain parses a plaintext file.
	LoadPlain(data []byte) ([]tree.Document, error)
	// EmitPlain writes documents as a plaintext file.
	EmitPlain(docs []tree.Document) ([]byte, error)
	// LoadEncrypted parses an encrypted file and separates the metadata
	// from the documents. It returns ErrNoMetadata when there is none.
	LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error)
	// EmitEncrypted writes documents with the metadata attached where the
	// format keeps it.
	EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error)
	// EmitValue writes one value on its own, as --extract prints a
	// non-string leaf or a list.
	EmitValue(v tree.Value) ([]byte, error)
	// HasMetadataKey reports whether plaintext input already holds what
	// looks like SOPS metadata in this format (a top-level "sops" key, a
	// "sops_" dotenv key or an INI "[sops]" section).
	HasMetadataKey(doc tree.Document) bool
}

// LayoutKeeper is a Store that can write a file in the layout of a text it
// was loaded from, instead of the layout its emitter chooses: a reviewer
// then sees in a diff only the values that changed. Both methods report
// ok=false when they cannot keep the layout (the tree's structure differs
// from the text's, or the text uses something they do not follow); the
// caller then uses EmitEncrypted or EmitPlain.
type LayoutKeeper interface {
	// EmitEncryptedLike writes docs, encrypted, with meta attached, in
	// the layout of original: a plaintext or an encrypted file whose
	// metadata it replaces.
	EmitEncryptedLike(original []byte, docs []tree.Document, meta []tree.Item) (out []byte, ok bool)
	// EmitPlainLike writes the decrypted docs of the encrypted file
	// encrypted in its layout, without the metadata.
	EmitPlainLike(encrypted []byte, docs []tree.Document) (out []byte, ok bool)
}

// SharedLoader is a Store that can load an encrypted file in place: the
// strings of the tree point into data instead of into copies of it. Each
// store copies what it keeps by default, so that a caller may reuse or
// clear its buffer; a read-only decrypt of a large file does not need the
// copies, which cost as much memory again as the file and a page fault
// for every fresh page.
type SharedLoader interface {
	// LoadEncryptedShared is LoadEncrypted, but the tree may share memory
	// with data: data must not change while the tree is in use.
	LoadEncryptedShared(data []byte) ([]tree.Document, []tree.Item, error)
	// LoadPlainShared is LoadPlain, but the tree may share memory with
	// data: data must not change while the tree is in use.
	LoadPlainShared(data []byte) ([]tree.Document, error)
}

// StreamEmitter is a Store that writes a plaintext file to a writer in
// pieces, so that decrypting a large file never holds its whole text.
type StreamEmitter interface {
	// EmitPlainTo writes what EmitPlain returns to w. Nothing is written
	// when it fails for another reason than w's own error.
	EmitPlainTo(w io.Writer, docs []tree.Document) error
}

// ErrNoMetadata is returned by LoadEncrypted when a file has no SOPS
// metadata block.
var ErrNoMetadata = errors.New("sops metadata not found")

// MetadataKey is the top-level key that holds the metadata in YAML and JSON.
const MetadataKey = "sops"

// SplitMetadata removes the top-level "sops" entry from every document and
// returns the first document's copy, as SOPS reads YAML and JSON: only the
// first document's block counts, the others are identical copies. A
// non-map "sops" value is an error.
func SplitMetadata(docs []tree.Document) ([]tree.Document, []tree.Item, error) {
	var meta []tree.Item
	found := false
	for d, doc := range docs {
		out := doc[:0:0]
		for _, it := range doc {
			if it.Key.Kind == tree.String && it.Key.Str == MetadataKey {
				if d == 0 {
					if found {
						return nil, nil, errors.New("found a second sops entry in the first document")
					}
					if it.Value.Kind != tree.Map {
						return nil, nil, errors.New("the sops metadata is not a map")
					}
					meta = it.Value.Items()
					found = true
				}
				continue
			}
			out = append(out, it)
		}
		docs[d] = out
	}
	if !found {
		return nil, nil, ErrNoMetadata
	}
	return docs, meta, nil
}

// HasTopLevelKey reports whether doc has an entry named key.
func HasTopLevelKey(doc tree.Document, key string) bool {
	_, ok := tree.Get(doc, key)
	return ok
}
