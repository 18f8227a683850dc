// Package toml reads and writes SOPS files in TOML.
//
// sops 3.13.2 has no TOML store; later sops releases added one, and this
// package follows its layout where that is sensible: a file holds one
// document, and the metadata is a top-level [sops] table, its values
// first and then [[sops.age]], [[sops.pgp]], [[sops.key_groups]]...
// arrays of tables for the key entries, in the alphabetical order kura
// uses for YAML and JSON. Unlike that store, this one keeps the file's key
// order and its comments, because the MAC covers the order of the values
// and comments are encrypted like values (see "Interoperability").
//
// # Library
//
// Parsing uses github.com/pelletier/go-toml/v2 (the library the later
// sops store uses). Its decoder checks the whole TOML grammar and its
// rules (duplicate keys, redefined tables, number and date forms) and
// types every value; its unstable parser, with KeepComments, gives the
// expressions in file order with their comments and positions. LoadPlain
// runs both and walks them side by side, taking order and comments from
// the parser and values from the decoder, so no TOML is parsed here.
// github.com/BurntSushi/toml keeps key order (MetaData.Keys) but drops
// comments and has no public lower-level parser, so it could not carry
// them. Writing is done here: no library writes an ordered tree with
// comments.
//
// # The tree
//
// A TOML document is one tree.Document. Tables ([a.b] headers, dotted
// keys, inline tables, and the tables they imply) are maps, arrays are
// lists, arrays of tables ([[x]]) are lists of maps. Keys keep the order
// in which the file first names them.
//
// Comments become comment items holding the text after '#'. A comment
// line goes before the key/value that follows it, in the table that holds
// that key (the innermost table of a dotted key). Comment lines right
// above a [header] or [[header]], with no blank line between, go before
// the table it defines: in its parent table, or in the array for
// [[header]]. Comment lines with a blank line between them and the next
// header, and those at the end of the file, stay at the end of the table
// they are written in. A comment that ends a line (after a key/value, a
// header, or an element of an array or inline table) is an inline comment
// placed just before the item it trails, as the YAML store does. Comments
// inside arrays are list elements.
//
// Strings are strings, integers Int, floats Float (inf and nan included),
// booleans Bool. Offset date-times are Time values with their offset (a
// zero offset is UTC). TOML's local date-times, local dates and local
// times have no offset: they load as Time values in the LocalDateTime,
// LocalDate and LocalTime locations (a local date at midnight, a local
// time on 0000-01-01), which the Emit methods write back in their own
// syntax.
//
// # Layout
//
// EmitPlain writes a table's key/value lines first, then its sub-tables as
// [a.b] sections and its arrays of tables as [[a.b]] sections, each after
// a blank line, with the comments that precede it right above its header.
// A table whose section would be empty is written only through its
// sub-tables' headers ([a.b] without [a]) unless it has comments or is
// empty. Keys are bare when TOML allows it and basic strings otherwise;
// strings are basic strings, or multi-line basic strings when they hold a
// line break; arrays and inline tables are written on one line unless
// they hold comments.
//
// Item order is kept exactly, since the MAC covers it. Where TOML's
// "key/values before sub-tables" rule would reorder items (a table that
// has a key/value or a closing comment after a sub-table, as an edit can
// leave it), the sub-tables before that point are written among the
// key/values: as inline tables, as dotted keys when comments inside must
// stay in place, and arrays of tables as arrays of inline tables. So are
// an array of tables that has comments right before it in its parent
// (they would move into the array) and one that ends with a comment. The
// output is TOML 1.0 except in one case: a comment that has to be written
// inside an inline table needs TOML 1.1's multi-line inline tables, which
// go-toml reads.
//
// # What round-trips
//
// EmitPlain(LoadPlain(x)) loads back to a tree equal to LoadPlain(x): the
// same keys, values, types, order and comments, in the same maps and
// lists, with the same inline flags; writing that tree again gives the
// same text. The text is normalised, though: integers are written in
// decimal (hex, octal, binary and underscores are lost); floats in the
// shortest form that reads back the same, with ".0" or an exponent (-0.0,
// inf and nan kept, the sign of nan lost); literal strings become basic
// strings and line-ending backslashes are resolved; dotted keys and inline
// tables become [sections] where the order allows, and a [section] can
// become an inline table where it does not; date-times get "T", "Z" for a
// zero offset and no trailing zeros in fractional seconds; blank lines go
// and comments lose their indentation.
//
// The local date and time kinds do not survive encryption: an encrypted
// value holds the RFC 3339 text of the time (a local date 1979-05-27 is
// encrypted as 1979-05-27T00:00:00Z) and decrypts to an offset date-time
// in UTC. Values left unencrypted keep their kind. As with every format,
// decryption turns inline comments into comment lines of their own.
//
// # What cannot be written
//
// TOML has no null, so a null value is an error naming its key path (as in
// "cannot write TOML: db.port: TOML has no null value"), as are keys that
// are not strings, a key twice in a table, strings, keys or comments that
// are not UTF-8, comments holding a line break or a control character,
// integers beyond int64 and years outside 0000 to 9999. Error messages
// never quote a value. Arrays may mix types (TOML 1.0 allows it): tables
// in them are written as inline tables.
//
// # Interoperability
//
// sops 3.13.2 cannot read TOML files at all. Later sops releases read the
// [sops] table written here, but their TOML store reorders every table on
// load (values first, then tables, each sorted by key) and drops
// comments, so they compute the MAC over another order unless the file's
// keys already are in that order.
package toml

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// Store is the TOML format.
type Store struct{}

var _ format.Store = Store{}

// Times in these locations are TOML's local kinds: LoadPlain gives them to
// local dates, local times and local date-times, and the Emit methods
// write a time in one of them in that kind's syntax (only the date of a
// LocalDate time, only the clock of a LocalTime time). A time in any
// other location is written as an offset date-time.
var (
	LocalDate     = time.FixedZone("TOML local date", 0)
	LocalTime     = time.FixedZone("TOML local time", 0)
	LocalDateTime = time.FixedZone("TOML local date-time", 0)
)

var errOneDocument = errors.New("cannot write TOML: a TOML file holds exactly one document")

// LoadPlain parses a TOML file into one document. An empty file is an
// empty document. Errors name the line and column and never quote the
// file's text.
func (s Store) LoadPlain(data []byte) ([]tree.Document, error) {
	doc, err := load(data)
	if err != nil {
		return nil, fmt.Errorf("could not parse TOML: %w", err)
	}
	return []tree.Document{doc}, nil
}

// EmitPlain writes a document as a TOML file.
func (s Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	if len(docs) != 1 {
		return nil, errOneDocument
	}
	var e emitter
	if err := e.section(docs[0], "", rootSection, nil, false); err != nil {
		return nil, err
	}
	return e.b, nil
}

// LoadEncrypted parses an encrypted TOML file and takes the top-level
// "sops" table out as the metadata. It returns format.ErrNoMetadata when
// there is none.
//
// The metadata comes back with the keys of every table in byte order, the
// order metadata.ToTree gives (TOML makes EmitEncrypted write values
// before tables), and without comments.
func (s Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, err := s.LoadPlain(data)
	if err != nil {
		return nil, nil, err
	}
	if len(docs) == 1 {
		unhookMetadataComment(docs[0])
	}
	docs, meta, err := format.SplitMetadata(docs)
	if err != nil {
		return nil, nil, err
	}
	return docs, sortMetadata(meta), nil
}

// unhookMetadataComment makes the comment that trails a "[sops]" header
// line a comment of its own line. The loader places a header's comment
// before its table as an inline comment; the metadata table is not in the
// tree, so written back that comment would have no line to trail and
// would read back differently (found by FuzzLoadEncrypted).
func unhookMetadataComment(doc tree.Document) {
	for i, it := range doc {
		if !it.IsComment() && it.Key.Kind == tree.String && it.Key.Str == format.MetadataKey {
			if i > 0 && doc[i-1].IsComment() {
				doc[i-1].Key.Inline = false
			}
			return
		}
	}
}

// EmitEncrypted writes the document, then the metadata as a last [sops]
// table: its values first, then its arrays of tables, each group in the
// order given.
func (s Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	if len(docs) != 1 {
		return nil, errOneDocument
	}
	if s.HasMetadataKey(docs[0]) {
		return nil, errors.New("cannot write TOML: the document already has a top-level sops entry")
	}
	var e emitter
	if err := e.section(docs[0], "", rootSection, nil, false); err != nil {
		return nil, err
	}
	if meta == nil {
		meta = []tree.Item{}
	}
	e.push(format.MetadataKey)
	if err := e.section(meta, format.MetadataKey, tableSection, nil, true); err != nil {
		return nil, err
	}
	return e.b, nil
}

// EmitValue writes one value as --extract prints it. TOML has no bare
// values: a map is written as a TOML document (a table's content, like
// EmitPlain), anything else as it would be written after "key = ", on one
// line unless it holds comments or multi-line strings, followed by a
// newline: 42, 1.5, true, "text", 1979-05-27, [1, 2], { a = 1 }. A null
// is an error.
func (s Store) EmitValue(v tree.Value) ([]byte, error) {
	if v.Kind == tree.Map {
		return s.EmitPlain([]tree.Document{v.Items()})
	}
	var e emitter
	if err := e.value(v, ""); err != nil {
		return nil, err
	}
	return append(e.b, '\n'), nil
}

// HasMetadataKey reports whether doc has a top-level "sops" entry.
func (s Store) HasMetadataKey(doc tree.Document) bool {
	return format.HasTopLevelKey(doc, format.MetadataKey)
}

// sortMetadata drops comments from the metadata and sorts every table's
// keys in byte order, in place.
func sortMetadata(items []tree.Item) []tree.Item {
	out := items[:0]
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		it.Value = sortMetadataValue(it.Value)
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key.Str < out[j].Key.Str })
	return out
}

func sortMetadataValue(v tree.Value) tree.Value {
	switch v.Kind {
	case tree.Map:
		v.SetItems(sortMetadata(v.Items()))
	case tree.List:
		out := v.Elems()[:0]
		for _, el := range v.Elems() {
			if el.Kind != tree.Comment {
				out = append(out, sortMetadataValue(el))
			}
		}
		v.SetElems(out)
	}
	return v
}
