// Package tree is the ordered document model that every file format loads
// into and emits from.
//
// The model follows the SOPS v3 one exactly, because the MAC and the
// additional data of every encrypted value are defined over it: a document
// is an ordered list of items, an item is a key and a value (or a comment),
// and values are typed scalars, maps and lists. Order is significant
// everywhere: it decides the MAC.
package tree

import (
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Kind says what a Value holds.
type Kind uint8

// The kinds of values. Null is the zero Kind so that a zero Value is null.
const (
	Null Kind = iota
	String
	Int
	Float
	Bool
	Time
	Map
	List
	// Comment is a comment line. In a map it appears as the Key of an Item
	// (whose Value is null); in a list it appears as an element.
	Comment
	// Uint is an unsigned integer that does not fit in an int64. YAML can
	// produce one; SOPS refuses to encrypt it, and so do we.
	Uint
)

var kindNames = [...]string{"null", "string", "int", "float", "bool", "time", "map", "list", "comment", "uint64"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is one node of a document. Only the fields for its Kind are set.
//
// A value is small on purpose: every map entry holds two of them, and a
// large file's tree is most of kura's memory, which costs a page fault a
// page when it is fresh. So a value is 40 bytes: the scalars other than
// strings share one word (read them with Int, Uint, Float and Bool), and a
// map's items, a list's elements and a time, which are never held by the
// same value, share one pointer (read them with Items, Elems and Time; a
// map or list is made with MapV and ListV, or changed with SetItems and
// SetElems). With two slices and a time pointer of their own, a value
// took 88 bytes and a map entry 176.
type Value struct {
	Kind Kind
	// Inline marks a Comment that trailed a value on the same line.
	Inline bool
	// n is the length of a Map's items or a List's elements.
	n uint32
	// Str holds a String's bytes (any bytes, not only UTF-8) or a
	// Comment's text without its comment character.
	Str string
	// ptr is a Map's first Item, a List's first Value (nil when they were
	// nil) or a Time's *time.Time.
	ptr unsafe.Pointer
	// bits holds an Int (two's complement), a Uint, a Float (IEEE 754
	// bits) or a Bool (1 for true).
	bits uint64
}

// Items returns a Map's items (nil for other kinds). The slice shares the
// map's memory: an item changed through it changes the map. Its capacity
// is its length, so appending copies it; SetItems stores the result.
func (v Value) Items() []Item {
	if v.Kind != Map {
		return nil
	}
	return unsafe.Slice((*Item)(v.ptr), v.n) // #nosec G103 -- ptr and n were taken from an []Item by MapV or SetItems
}

// Elems returns a List's elements (nil for other kinds), sharing the
// list's memory as Items does.
func (v Value) Elems() []Value {
	if v.Kind != List {
		return nil
	}
	return unsafe.Slice((*Value)(v.ptr), v.n) // #nosec G103 -- ptr and n were taken from a []Value by ListV or SetElems
}

// SetItems makes v the Map holding items.
func (v *Value) SetItems(items []Item) { *v = MapV(items) }

// SetElems makes v the List holding elems.
func (v *Value) SetElems(elems []Value) { *v = ListV(elems) }

// length is the length of a map's items or a list's elements, as n holds
// it: a tree of more than 2³² entries in one map would not fit in memory
// long before.
func length(n int) uint32 {
	if n > math.MaxUint32 {
		panic("tree: more than 2^32 entries in one map or list")
	}
	return uint32(n) // #nosec G115 -- checked above
}

// Int returns an Int's value (0 for other kinds).
func (v Value) Int() int64 {
	if v.Kind != Int {
		return 0
	}
	return int64(v.bits) // #nosec G115 -- the bits were an int64
}

// Uint returns a Uint's value (0 for other kinds).
func (v Value) Uint() uint64 {
	if v.Kind != Uint {
		return 0
	}
	return v.bits
}

// Float returns a Float's value (0 for other kinds).
func (v Value) Float() float64 {
	if v.Kind != Float {
		return 0
	}
	return math.Float64frombits(v.bits)
}

// Bool returns a Bool's value (false for other kinds).
func (v Value) Bool() bool { return v.Kind == Bool && v.bits != 0 }

// Time returns a Time's value (the zero time for other kinds).
func (v Value) Time() time.Time {
	if v.Kind != Time || v.ptr == nil {
		return time.Time{}
	}
	return *(*time.Time)(v.ptr)
}

// Item is one entry of a map: a key and its value. A comment in a map is an
// Item whose Key is a Comment value and whose Value is null.
type Item struct {
	Key   Value
	Value Value
}

// Document is the top-level map of one document. YAML files may hold
// several; every other format holds exactly one.
type Document []Item

// Constructors for the common cases keep call sites short.

// Str returns a String value.
func Str(s string) Value { return Value{Kind: String, Str: s} }

// IntV returns an Int value.
func IntV(i int64) Value { return Value{Kind: Int, bits: uint64(i)} } // #nosec G115 -- kept as bits, read back as int64

// UintV returns a Uint value: an integer above the int64 range.
func UintV(u uint64) Value { return Value{Kind: Uint, bits: u} }

// FloatV returns a Float value.
func FloatV(f float64) Value { return Value{Kind: Float, bits: math.Float64bits(f)} }

// BoolV returns a Bool value.
func BoolV(b bool) Value {
	v := Value{Kind: Bool}
	if b {
		v.bits = 1
	}
	return v
}

// TimeV returns a Time value.
func TimeV(t time.Time) Value { return Value{Kind: Time, ptr: unsafe.Pointer(&t)} } // #nosec G103 -- read back as *time.Time by Time

// MapV returns a Map value.
func MapV(items []Item) Value {
	return Value{Kind: Map, n: length(len(items)), ptr: unsafe.Pointer(unsafe.SliceData(items))} // #nosec G103 -- read back as []Item by Items
}

// ListV returns a List value.
func ListV(elems []Value) Value {
	return Value{Kind: List, n: length(len(elems)), ptr: unsafe.Pointer(unsafe.SliceData(elems))} // #nosec G103 -- read back as []Value by Elems
}

// CommentV returns a Comment value.
func CommentV(text string, inline bool) Value {
	return Value{Kind: Comment, Str: text, Inline: inline}
}

// KeyItem returns a map item with a string key.
func KeyItem(key string, v Value) Item { return Item{Key: Str(key), Value: v} }

// CommentItem returns a map item that is a comment.
func CommentItem(text string, inline bool) Item { return Item{Key: CommentV(text, inline)} }

// IsComment reports whether the item is a comment rather than an entry.
func (it Item) IsComment() bool { return it.Key.Kind == Comment }

// IsScalar reports whether v is a leaf: not a map, list or comment.
func (v Value) IsScalar() bool {
	switch v.Kind {
	case Map, List, Comment:
		return false
	}
	return true
}

// Get returns the value of the first entry named key.
func Get(items []Item, key string) (Value, bool) {
	for _, it := range items {
		if it.Key.Kind == String && it.Key.Str == key {
			return it.Value, true
		}
	}
	return Value{}, false
}

// Canonical returns the text SOPS encrypts and hashes for a scalar: strings
// as they are, integers in base 10, floats in the shortest decimal form
// without an exponent, booleans as True or False, times in RFC 3339 with
// trimmed fractional seconds. The second result is false for values that
// have no scalar text (null, maps, lists).
func (v Value) Canonical() (string, bool) {
	return string(v.AppendCanonical(nil)), v.hasCanonical()
}

func (v Value) hasCanonical() bool {
	switch v.Kind {
	case String, Int, Uint, Float, Bool, Time, Comment:
		return true
	}
	return false
}

// AppendCanonical appends the canonical text of v (see Canonical) to b.
func (v Value) AppendCanonical(b []byte) []byte {
	switch v.Kind {
	case String, Comment:
		return append(b, v.Str...)
	case Int:
		return strconv.AppendInt(b, v.Int(), 10)
	case Uint:
		return strconv.AppendUint(b, v.Uint(), 10)
	case Float:
		return strconv.AppendFloat(b, v.Float(), 'f', -1, 64)
	case Bool:
		if v.Bool() {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case Time:
		t, err := v.Time().MarshalText()
		if err != nil {
			// Years outside 0..9999 have no RFC 3339 form; fall back to
			// Go's layout so that the value still round-trips through us.
			return append(b, v.Time().Format(time.RFC3339Nano)...)
		}
		return append(b, t...)
	}
	return b
}
