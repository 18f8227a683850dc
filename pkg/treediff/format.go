package treediff

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kura-secrets/kura/pkg/tree"
)

// FormatValue returns v as one line of text, the form Write prints values
// in. The form is deterministic and meant for people, not for parsing
// back:
//
//   - null is null; booleans are true and false; integers are in base 10;
//     floats are in Go's shortest form ('g'), with ".0" added when that
//     would read as an integer (1.0, -0.0, 1e+21), and NaN, +Inf, -Inf;
//     times are in RFC 3339 with trimmed fractional seconds.
//   - A string is printed as it is, unless it is empty, holds white space,
//     a control or non-printable character or invalid UTF-8, starts with a
//     double quote, or would read as another kind of scalar (null, true,
//     false, a number, an RFC 3339 time): then it is quoted with
//     strconv.Quote. So "5432" (a string) and 5432 (an integer) differ, and
//     every value stays on one line. ENC[...] strings are never quoted.
//   - Maps and lists are compact JSON-like text, {"a": 1, "b": [true, null]},
//     with every string inside them (keys too) quoted; comments in them are
//     left out.
//   - A comment is "#" and its text.
func FormatValue(v tree.Value) string {
	return string(AppendValue(nil, v))
}

// AppendValue appends FormatValue(v) to b.
func AppendValue(b []byte, v tree.Value) []byte {
	return appendValue(b, v, false)
}

func appendValue(b []byte, v tree.Value, nested bool) []byte {
	switch v.Kind {
	case tree.Null:
		return append(b, "null"...)
	case tree.String:
		if nested || needsQuotes(v.Str) {
			return strconv.AppendQuote(b, v.Str)
		}
		return append(b, v.Str...)
	case tree.Int:
		return strconv.AppendInt(b, v.Int(), 10)
	case tree.Uint:
		return strconv.AppendUint(b, v.Uint(), 10)
	case tree.Float:
		return appendFloat(b, v.Float())
	case tree.Bool:
		return strconv.AppendBool(b, v.Bool())
	case tree.Time:
		return v.AppendCanonical(b)
	case tree.Comment:
		b = append(b, '#')
		if nested || needsQuotes(v.Str) {
			return strconv.AppendQuote(b, v.Str)
		}
		return append(b, v.Str...)
	case tree.Map:
		b = append(b, '{')
		first := true
		for _, it := range v.Items() {
			if it.IsComment() {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = appendValue(b, it.Key, true)
			b = append(b, ": "...)
			b = appendValue(b, it.Value, true)
		}
		return append(b, '}')
	case tree.List:
		b = append(b, '[')
		first := true
		for _, e := range v.Elems() {
			if e.Kind == tree.Comment {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = appendValue(b, e, true)
		}
		return append(b, ']')
	}
	return append(b, v.Kind.String()...)
}

func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if bytes.IndexByte(b[start:], '.') < 0 {
		// 1 and 1e+21 would read as an integer or could be taken for
		// one; mark the float. For an exponent form, before the 'e'.
		if e := bytes.IndexByte(b[start:], 'e'); e >= 0 {
			exp := string(b[start+e:])
			b = append(b[:start+e], ".0"...)
			b = append(b, exp...)
		} else {
			b = append(b, ".0"...)
		}
	}
	return b
}

// needsQuotes reports whether a string printed as it is could be misread:
// see FormatValue.
func needsQuotes(s string) bool {
	if s == "" || s[0] == '"' {
		return true
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return true
			}
		}
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return readsAsOtherKind(s)
}

// readsAsOtherKind reports whether s would be taken for a null, a boolean,
// a number or a time as FormatValue prints those.
func readsAsOtherKind(s string) bool {
	switch s {
	case "null", "true", "false":
		return true
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return true
	}
	if _, err := strconv.ParseInt(s, 0, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseUint(s, 0, 64); err == nil {
		return true
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return true
	}
	return false
}
