package json

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/kura-secrets/kura/internal/arena"
	"github.com/kura-secrets/kura/internal/ascii8"
	"github.com/kura-secrets/kura/pkg/tree"
)

// The loader is a small hand-written recursive-descent scanner rather
// than encoding/json's Decoder.Token, which is what SOPS uses, for three
// reasons. Token boxes every token in an interface and copies every
// string, several allocations per value, which makes it three to five
// times slower on large files (see the benchmarks). encoding/json's
// errors quote the offending input, which may be part of a secret, while
// these give a line and column. And a grammar this small is easy to check
// by eye. It accepts exactly what SOPS's Token loop accepts (strict RFC
// 8259 syntax up to the end of the top-level object, anything at all after
// it) and decodes strings exactly as encoding/json does. The tests hold it
// to that by comparing it with encoding/json on the corpus, on random
// fragments and under fuzzing.
//
// The input is converted to a string once and keys and strings without
// escapes are substrings of it, so loading allocates per container, not
// per value. The price is that the tree keeps the whole input alive.
//
// Work is linear in the input: every byte is looked at a bounded number of
// times, escaped strings are rebuilt in one reused buffer, and container
// contents are gathered on a shared stack and copied out once, exactly
// sized, when the container closes.

// maxDepth bounds the nesting of objects and arrays, the top-level object
// included, so that hostile input cannot exhaust the stack. It is the
// limit of encoding/json's scanner: SOPS itself reads deeper files but
// cannot write them, because json.Indent stops there.
const maxDepth = 10000

// errDepth is returned for input nested deeper than maxDepth.
var errDepth = errors.New("objects and arrays are nested too deeply")

type decoder struct {
	src   string
	pos   int
	depth int
	// key is the innermost object key being read, for error messages.
	key string
	// items and elems are the shared stacks on which the contents of the
	// open objects and arrays are gathered.
	items []tree.Item
	elems []tree.Value
	// The finished objects' and arrays' entries are carved from arenas:
	// one allocation for many small ones.
	itemArena arena.Arena[tree.Item]
	elemArena arena.Arena[tree.Value]
	// buf is reused to rebuild strings that contain escapes.
	buf []byte
	// shared: strings without escapes point into src.
	shared bool
}

// decode parses a document whose top level must be an object.
func decode(data []byte) (tree.Document, error) {
	return decodeData(data, false)
}

// decodeData is decode; shared leaves the tree's strings pointing into
// data (format.SharedLoader).
func decodeData(data []byte, shared bool) (tree.Document, error) {
	// The decoder reads the input in place, without copying it into a
	// string (a copy of a whole large file is one long uninterruptible
	// move that stalls the garbage collector); unless shared, every string
	// it keeps is cloned, so the tree never shares memory with data.
	d := &decoder{src: unsafe.String(unsafe.SliceData(data), len(data)), shared: shared} // #nosec G103 -- read only; kept strings are cloned unless the caller shares data (format.SharedLoader)
	d.skipSpace()
	if d.pos == len(d.src) {
		return nil, errors.New("the input is empty")
	}
	if strings.HasPrefix(d.src[d.pos:], "\uFEFF") {
		return nil, d.errorf("a byte order mark is not allowed")
	}
	switch c := d.src[d.pos]; {
	case c == '{':
	case c == '[' || c == '"' || c == '-' || '0' <= c && c <= '9' || c == 't' || c == 'f' || c == 'n':
		return nil, errors.New("SOPS only supports JSON files with a top-level object (starting with '{'), not arrays or other types; to encrypt this file, wrap it in an object, e.g. {\"data\": [...]}")
	default:
		return nil, d.errorf("invalid character, expecting '{'")
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	// Anything after the closing brace is ignored, as SOPS does.
	return tree.Document(v.Items()), nil
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value parses any JSON value starting at d.pos, which is not a space.
func (d *decoder) value() (tree.Value, error) {
	if d.pos == len(d.src) {
		return tree.Value{}, d.errorf("unexpected end of input, expecting a value")
	}
	switch c := d.src[d.pos]; c {
	case '{':
		return d.object()
	case '[':
		return d.array()
	case '"':
		s, err := d.string()
		return tree.Str(s), err
	case 't':
		return tree.BoolV(true), d.literal("true")
	case 'f':
		return tree.BoolV(false), d.literal("false")
	case 'n':
		return tree.Value{}, d.literal("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return d.number()
		}
		return tree.Value{}, d.errorf("invalid character, expecting a value")
	}
}

func (d *decoder) literal(word string) error {
	if !strings.HasPrefix(d.src[d.pos:], word) {
		return d.errorf("invalid literal, expecting %s", word)
	}
	d.pos += len(word)
	return nil
}

// push enters an object or array, enforcing maxDepth.
func (d *decoder) push() error {
	d.depth++
	if d.depth > maxDepth {
		return d.errorf("%w", errDepth)
	}
	return nil
}

func (d *decoder) object() (tree.Value, error) {
	if err := d.push(); err != nil {
		return tree.Value{}, err
	}
	d.pos++ // '{'
	base := len(d.items)
	parentKey := d.key
	d.skipSpace()
	if d.pos < len(d.src) && d.src[d.pos] == '}' {
		d.pos++
		d.depth--
		return tree.MapV(nil), nil
	}
	for {
		if d.pos == len(d.src) {
			return tree.Value{}, d.errorf("unexpected end of input, expecting an object key")
		}
		if d.src[d.pos] != '"' {
			return tree.Value{}, d.errorf("invalid character, expecting an object key string")
		}
		k, err := d.string()
		if err != nil {
			return tree.Value{}, err
		}
		d.skipSpace()
		if d.pos == len(d.src) || d.src[d.pos] != ':' {
			return tree.Value{}, d.errorf("expecting ':' after object key %q", k)
		}
		d.pos++
		d.skipSpace()
		d.key = k
		v, err := d.value()
		if err != nil {
			return tree.Value{}, err
		}
		d.items = append(d.items, tree.Item{Key: tree.Str(k), Value: v})
		d.skipSpace()
		if d.pos == len(d.src) {
			return tree.Value{}, d.errorf("unexpected end of input, expecting ',' or '}'")
		}
		c := d.src[d.pos]
		d.pos++
		if c == ',' {
			d.skipSpace()
			continue
		}
		if c != '}' {
			d.pos--
			return tree.Value{}, d.errorf("invalid character after the value of key %q, expecting ',' or '}'", k)
		}
		break
	}
	items := d.itemArena.Take(len(d.items) - base)
	copy(items, d.items[base:])
	// The stale entries above base are not cleared: they are copies of
	// what the finished tree holds anyway, and the stack dies with d.
	d.items = d.items[:base]
	d.key = parentKey
	d.depth--
	return tree.MapV(items), nil
}

func (d *decoder) array() (tree.Value, error) {
	if err := d.push(); err != nil {
		return tree.Value{}, err
	}
	d.pos++ // '['
	base := len(d.elems)
	d.skipSpace()
	if d.pos < len(d.src) && d.src[d.pos] == ']' {
		d.pos++
		d.depth--
		return tree.ListV(nil), nil
	}
	for {
		v, err := d.value()
		if err != nil {
			return tree.Value{}, err
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.pos == len(d.src) {
			return tree.Value{}, d.errorf("unexpected end of input, expecting ',' or ']'")
		}
		c := d.src[d.pos]
		d.pos++
		if c == ',' {
			d.skipSpace()
			continue
		}
		if c != ']' {
			d.pos--
			return tree.Value{}, d.errorf("invalid character after an array element, expecting ',' or ']'")
		}
		break
	}
	elems := d.elemArena.Take(len(d.elems) - base)
	copy(elems, d.elems[base:])
	d.elems = d.elems[:base]
	d.depth--
	return tree.ListV(elems), nil
}

// number parses a number with the RFC 8259 grammar. Like SOPS, an integer
// literal that fits in an int64 is an Int and everything else a Float.
func (d *decoder) number() (tree.Value, error) {
	start := d.pos
	isInt := true
	if d.src[d.pos] == '-' {
		d.pos++
	}
	switch {
	case d.pos < len(d.src) && d.src[d.pos] == '0':
		d.pos++
	case d.digits() == 0:
		return tree.Value{}, d.errorf("invalid number: expecting a digit")
	}
	if d.pos < len(d.src) && d.src[d.pos] == '.' {
		isInt = false
		d.pos++
		if d.digits() == 0 {
			return tree.Value{}, d.errorf("invalid number: expecting a digit after the decimal point")
		}
	}
	if d.pos < len(d.src) && (d.src[d.pos] == 'e' || d.src[d.pos] == 'E') {
		isInt = false
		d.pos++
		if d.pos < len(d.src) && (d.src[d.pos] == '+' || d.src[d.pos] == '-') {
			d.pos++
		}
		if d.digits() == 0 {
			return tree.Value{}, d.errorf("invalid number: expecting a digit in the exponent")
		}
	}
	text := d.src[start:d.pos]
	if isInt {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return tree.IntV(i), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// The only possible failure is a value beyond float64's range.
		// The number itself may be a secret, so the message names its key.
		return tree.Value{}, fmt.Errorf("the number in the value of key %q is out of the float64 range", d.key)
	}
	return tree.FloatV(f), nil
}

// digits consumes a run of decimal digits and returns its length.
func (d *decoder) digits() int {
	start := d.pos
	for d.pos < len(d.src) && '0' <= d.src[d.pos] && d.src[d.pos] <= '9' {
		d.pos++
	}
	return d.pos - start
}

// string parses a quoted string at d.pos. A string without escapes or
// invalid UTF-8 is returned as a substring of the input.
func (d *decoder) string() (string, error) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.src) {
		// Eight bytes at a time while none ends the string or needs a
		// closer look: the byte loop below took a twelfth of decrypting
		// a JSON file, most strings being ENC texts of plain ASCII.
		for d.pos+8 <= len(d.src) {
			if !plain8(ascii8.Load(d.src, d.pos)) {
				break
			}
			d.pos += 8
		}
		if d.pos == len(d.src) {
			break
		}
		c := d.src[d.pos]
		switch {
		case c == '"':
			d.pos++
			if d.shared {
				return d.src[start : d.pos-1], nil
			}
			return strings.Clone(d.src[start : d.pos-1]), nil
		case c == '\\':
			return d.slowString(start)
		case c < ' ':
			return "", d.errorf("invalid control character in string")
		case c < utf8.RuneSelf:
			d.pos++
		default:
			r, size := utf8.DecodeRuneInString(d.src[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return d.slowString(start)
			}
			d.pos += size
		}
	}
	return "", d.errorf("unexpected end of input in string")
}

// plain8 reports whether none of the eight bytes in w is a quote, a
// backslash, a control character or part of a multi-byte character.
func plain8(w uint64) bool {
	return !ascii8.HasHigh(w) && !ascii8.HasBelow(w, 0x20) && !ascii8.Has(w, '"') && !ascii8.Has(w, '\\')
}

// slowString finishes a string that needs rebuilding: escapes are
// resolved and invalid UTF-8 becomes U+FFFD, byte by byte, as
// encoding/json does. start is the offset just after the opening quote and
// d.pos the first byte that needs attention.
func (d *decoder) slowString(start int) (string, error) {
	b := append(d.buf[:0], d.src[start:d.pos]...)
	defer func() { d.buf = b[:0] }()
	for d.pos < len(d.src) {
		c := d.src[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(b), nil
		case c == '\\':
			if d.pos+1 == len(d.src) {
				return "", d.errorf("unexpected end of input in string")
			}
			e := d.src[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d.src[d.pos:])
				if !ok {
					d.pos -= 2
					return "", d.errorf("invalid \\u escape in string")
				}
				d.pos += 4
				if utf16.IsSurrogate(r) {
					// A surrogate counts only as the first half of a
					// pair; anything else becomes U+FFFD, and a following
					// escape is then read on its own.
					r2 := rune(-1)
					if strings.HasPrefix(d.src[d.pos:], `\u`) {
						r2, ok = hex4(d.src[d.pos+2:])
						if !ok {
							return "", d.errorf("invalid \\u escape in string")
						}
					}
					if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
						r = p
						d.pos += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos -= 2
				return "", d.errorf("invalid escape in string")
			}
		case c < ' ':
			return "", d.errorf("invalid control character in string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			d.pos++
		default:
			r, size := utf8.DecodeRuneInString(d.src[d.pos:])
			b = utf8.AppendRune(b, r) // U+FFFD for an invalid byte
			d.pos += size
		}
	}
	return "", d.errorf("unexpected end of input in string")
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// errorf reports a syntax error at d.pos by line and column. The message
// never quotes the input, which may be a secret.
func (d *decoder) errorf(format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < d.pos && i < len(d.src); i++ {
		if d.src[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, fmt.Errorf(format, args...))
}
