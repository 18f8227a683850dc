package json

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/kura-secrets/kura/internal/ascii8"
	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/tree"
)

// SOPS builds a compact document with encoding/json.Marshal for every key
// and scalar and then re-indents it with json.Indent. The encoder below
// produces the same bytes in one pass into one buffer: scalars are written
// the way Marshal writes them and the layout is the one Indent gives (a
// line per element, ": " after keys, "{}" and "[]" for empty containers).
//
// The buffer is passed along and returned rather than kept in the encoder,
// so that it lives in registers and on the stack.
//
// Like json.Indent, the encoder refuses more than maxDepth nested objects
// and arrays, so that SOPS and kura fail on the same trees (ones from YAML
// can be that deep).

type encoder struct {
	indent string // one level of indentation
	// sink, when set, takes the text in chunks: see spill.
	sink *chunkSink
}

// chunkSize is how much text a streaming encoder gathers before handing
// it to its writer.
const chunkSize = 64 << 10

// chunkSink is the writer of a streaming encoder and its first error.
type chunkSink struct {
	w   io.Writer
	err error
}

// spill hands b to the sink once it holds a chunk, and returns the buffer
// to go on with. The text written is final: nothing looks back at it.
// After a write error the text is dropped and the error kept.
func (e encoder) spill(b []byte) []byte {
	if e.sink == nil || len(b) < chunkSize {
		return b
	}
	if e.sink.err == nil {
		_, e.sink.err = e.sink.w.Write(b)
	}
	return b[:0]
}

// indentUnit returns the text of one indentation level: a TAB for -1, the
// default, or that many spaces.
func indentUnit(n int) (string, error) {
	switch {
	case n == -1:
		return "\t", nil
	case n < -1:
		return "", errors.New("JSON indentation smaller than -1 is not accepted")
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	return string(b), nil
}

// reserve makes room for n more bytes, doubling the buffer when it grows.
// append alone grows large slices by only a quarter, which for a
// multi-megabyte document means dozens of copies and fresh pages.
// estimate is about the size of the JSON text of items at depth: it
// sizes the output buffer once.
func (e encoder) estimate(items []tree.Item, depth int) int {
	n := 0
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		n += (depth+1)*len(e.indent) + len(it.Key.Str) + 6
		n += e.estimateValue(it.Value, depth+1)
	}
	return n
}

func (e encoder) estimateValue(v tree.Value, depth int) int {
	switch v.Kind {
	case tree.String:
		return len(v.Str) + 2
	case tree.Map:
		return e.estimate(v.Items(), depth) + depth*len(e.indent) + 4
	case tree.List:
		n := depth*len(e.indent) + 4
		for _, el := range v.Elems() {
			n += (depth+1)*len(e.indent) + 2 + e.estimateValue(el, depth+1)
		}
		return n
	}
	return 24
}

func reserve(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := prefault.Make[byte](len(b), 2*cap(b)+n)
	copy(nb, b)
	return nb
}

func (e encoder) newline(b []byte, depth int) []byte {
	b = reserve(b, 1+depth*len(e.indent))
	b = append(b, '\n')
	for range depth {
		b = append(b, e.indent...)
	}
	return b
}

// object writes a map made of items followed by extra. Comments are
// skipped, and an object with nothing else is written as "{}".
func (e encoder) object(b []byte, items, extra []tree.Item, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return b, errDepth
	}
	b = append(b, '{')
	n := 0
	for _, part := range [2][]tree.Item{items, extra} {
		for i := range part {
			it := &part[i] // an Item is large; do not copy it
			switch it.Key.Kind {
			case tree.Comment:
				continue
			case tree.String:
			default:
				return b, fmt.Errorf("a map key of type %s cannot be written in JSON", it.Key.Kind)
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = e.spill(b)
			b = e.newline(b, depth+1)
			b = appendString(b, it.Key.Str)
			b = append(b, ':', ' ')
			var err error
			if b, err = e.value(b, &it.Value, it.Key.Str, depth+1); err != nil {
				return b, err
			}
		}
	}
	if n > 0 {
		b = e.newline(b, depth)
	}
	return append(b, '}'), nil
}

// array writes a list. Comment elements are skipped.
func (e encoder) array(b []byte, elems []tree.Value, key string, depth int) ([]byte, error) {
	if depth >= maxDepth {
		return b, errDepth
	}
	b = append(b, '[')
	n := 0
	for i := range elems {
		v := &elems[i]
		if v.Kind == tree.Comment {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = e.spill(b)
		b = e.newline(b, depth+1)
		var err error
		if b, err = e.value(b, v, key, depth+1); err != nil {
			return b, err
		}
	}
	if n > 0 {
		b = e.newline(b, depth)
	}
	return append(b, ']'), nil
}

// value writes any value. key is the innermost map key, for errors.
func (e encoder) value(b []byte, v *tree.Value, key string, depth int) ([]byte, error) {
	switch v.Kind {
	case tree.Map:
		return e.object(b, v.Items(), nil, depth)
	case tree.List:
		return e.array(b, v.Elems(), key, depth)
	case tree.String:
		b = appendString(b, v.Str)
	case tree.Int:
		b = strconv.AppendInt(b, v.Int(), 10)
	case tree.Uint:
		b = strconv.AppendUint(b, v.Uint(), 10)
	case tree.Float:
		var ok bool
		if b, ok = appendFloat(b, v.Float()); !ok {
			return b, valueError(key, "is NaN or infinite, which JSON cannot represent")
		}
	case tree.Bool:
		b = strconv.AppendBool(b, v.Bool())
	case tree.Null:
		b = append(b, "null"...)
	case tree.Time:
		t, err := v.Time().MarshalJSON()
		if err != nil {
			// The error names the broken rule (a year outside
			// 0..9999, say), not the value.
			return b, valueError(key, "is a time that JSON cannot represent: "+err.Error())
		}
		b = append(b, t...)
	case tree.Comment:
		return b, valueError(key, "is a comment, which is only allowed as a map entry or a list element")
	default:
		return b, valueError(key, "has unknown type "+v.Kind.String())
	}
	return b, nil
}

// check returns the error object would return for items, without
// writing anything: a stream proves the whole tree can be written before
// it writes its first byte, and a walk that formats nothing costs a
// fraction of a first formatting pass. TestCheckMatchesObject keeps the
// two in step.
func (e encoder) check(items []tree.Item, depth int) error {
	if depth >= maxDepth {
		return errDepth
	}
	for i := range items {
		it := &items[i]
		switch it.Key.Kind {
		case tree.Comment:
			continue
		case tree.String:
		default:
			return fmt.Errorf("a map key of type %s cannot be written in JSON", it.Key.Kind)
		}
		if err := e.checkValue(&it.Value, it.Key.Str, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (e encoder) checkValue(v *tree.Value, key string, depth int) error {
	switch v.Kind {
	case tree.Map:
		return e.check(v.Items(), depth)
	case tree.List:
		if depth >= maxDepth {
			return errDepth
		}
		for i := range v.Elems() {
			if v.Elems()[i].Kind == tree.Comment {
				continue
			}
			if err := e.checkValue(&v.Elems()[i], key, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tree.String, tree.Int, tree.Uint, tree.Bool, tree.Null:
		return nil
	case tree.Float:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return valueError(key, "is NaN or infinite, which JSON cannot represent")
		}
		return nil
	case tree.Time:
		if _, err := v.Time().MarshalJSON(); err != nil {
			return valueError(key, "is a time that JSON cannot represent: "+err.Error())
		}
		return nil
	case tree.Comment:
		return valueError(key, "is a comment, which is only allowed as a map entry or a list element")
	}
	return valueError(key, "has unknown type "+v.Kind.String())
}

func valueError(key, problem string) error {
	if key == "" {
		return errors.New("the value " + problem)
	}
	return fmt.Errorf("the value of key %q %s", key, problem)
}

// appendString writes s as a JSON string exactly as encoding/json.Marshal
// does: '<', '>' and '&' and U+2028 and U+2029 are escaped so that the
// output is safe to embed in HTML and JavaScript, control characters use
// the short escapes where JSON has them and \u00XX otherwise, and every
// byte that is not part of valid UTF-8 becomes \ufffd.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = reserve(b, len(s)+2) // enough unless there is something to escape
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs escaping: most values
		// (ENC texts, names, numbers) are plain ASCII, and the byte loop
		// below took a tenth of encrypting a JSON file.
		for i+8 <= len(s) && safe8(ascii8.Load(s, i)) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if htmlSafe(c) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// safe8 reports whether each of the eight bytes in w is htmlSafe ASCII:
// none has its high bit set, none is below 0x20, and none is '"', '\\',
// '<', '>' or '&'.
func safe8(w uint64) bool {
	return !ascii8.HasHigh(w) && !ascii8.HasBelow(w, 0x20) && !ascii8.Has(w, '"') && !ascii8.Has(w, '\\') &&
		!ascii8.Has(w, '<') && !ascii8.Has(w, '>') && !ascii8.Has(w, '&')
}

// htmlSafe reports whether the ASCII byte c is written as it is: every
// printable character but '"', '\\', '<', '>' and '&'. The set is a
// 128-bit constant so that the test is a shift and a mask.
func htmlSafe(c byte) bool {
	const (
		lo uint64 = 0xffffffff_00000000 &^ (1<<'"' | 1<<'&' | 1<<'<' | 1<<'>')
		hi uint64 = 0xffffffff_ffffffff &^ (1 << ('\\' - 64))
	)
	if c < 64 {
		return lo>>c&1 != 0
	}
	return hi>>(c-64)&1 != 0
}

// appendFloat writes f as encoding/json.Marshal writes a float64: the
// shortest text that reads back as f, with an exponent only below 1e-6 or
// from 1e21 on, and no leading zero in a negative two-digit exponent. It
// reports false for NaN and infinities, which JSON lacks.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// "1e-07" becomes "1e-7".
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
