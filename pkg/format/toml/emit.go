package toml

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kura-secrets/kura/pkg/tree"
)

// The layout EmitPlain writes is described in the package comment
// ("Layout"); splitTail, sectionable and keyValue decide it.

// emitError is a tree that cannot be written as TOML. Its message names
// the key path and never quotes a value.
type emitError struct {
	path string
	msg  string
}

func (e *emitError) Error() string {
	if e.path == "" {
		return "cannot write TOML: " + e.msg
	}
	return fmt.Sprintf("cannot write TOML: %s: %s", e.path, e.msg)
}

type emitter struct {
	b []byte
	// at is where the emitter is in the tree, for error messages.
	at []segment
}

// segment is a key (as written) or, when key is "", a list index.
type segment struct {
	key   string
	index int
}

func (e *emitter) push(key string) { e.at = append(e.at, segment{key: key}) }
func (e *emitter) pushIndex(i int) { e.at = append(e.at, segment{index: i}) }
func (e *emitter) pop()            { e.at = e.at[:len(e.at)-1] }

// fail returns an error about the value at the current path.
func (e *emitter) fail(msg string) error {
	var b strings.Builder
	for _, s := range e.at {
		switch {
		case s.key == "":
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case b.Len() > 0:
			b.WriteString("." + s.key)
		default:
			b.WriteString(s.key)
		}
	}
	return &emitError{b.String(), msg}
}

// sectionKind says what header a table's section has.
type sectionKind int

const (
	rootSection sectionKind = iota
	tableSection
	arraySection
)

// section writes a table: its header if it needs one (before it the
// comments in pend, which precede it in its parent), its key/value lines,
// then its sub-tables. hp is the header path (quoted keys joined with
// '.'). With reorder set, every sub-table is written as a section after
// all key/values whatever the order of the items (for the metadata, whose
// order does not matter).
func (e *emitter) section(items []tree.Item, hp string, kind sectionKind, pend []tree.Item, reorder bool) error {
	if err := e.checkKeys(items); err != nil {
		return err
	}
	var head, tail []tree.Item
	if reorder {
		for i, it := range items {
			if !it.IsComment() && sectionable(items, i) {
				tail = append(tail, it)
			} else {
				head = append(head, it)
			}
		}
	} else {
		split := splitTail(items)
		head, tail = items[:split], items[split:]
	}
	if kind == arraySection || (kind == tableSection && (len(pend) > 0 || len(items) == 0 || len(head) > 0)) {
		e.blankLine()
		suffix, err := e.ownLineComments(pend, "")
		if err != nil {
			return err
		}
		if kind == arraySection {
			e.b = append(e.b, "[["...)
			e.b = append(e.b, hp...)
			e.b = append(e.b, "]]"...)
		} else {
			e.b = append(e.b, '[')
			e.b = append(e.b, hp...)
			e.b = append(e.b, ']')
		}
		e.b = append(e.b, suffix...)
		e.b = append(e.b, '\n')
	}

	// The key/value part.
	var comments []tree.Item
	for _, it := range head {
		if it.IsComment() {
			comments = append(comments, it)
			continue
		}
		suffix, err := e.ownLineComments(comments, "")
		if err != nil {
			return err
		}
		dottedOK := len(comments) == 0
		comments = nil
		if err := e.keyValue(it, "", suffix, dottedOK); err != nil {
			return err
		}
	}
	// Comments after the last key/value stay on lines of their own.
	if err := e.commentLines(comments, ""); err != nil {
		return err
	}
	comments = nil

	// The sub-tables.
	for _, it := range tail {
		if it.IsComment() {
			comments = append(comments, it)
			continue
		}
		key := quoteKey(it.Key.Str)
		php := join(hp, key)
		e.push(key)
		if it.Value.Kind == tree.Map {
			if err := e.section(it.Value.Items(), php, tableSection, comments, reorder); err != nil {
				return err
			}
			e.pop()
			comments = nil
			continue
		}
		// An array of tables; sectionable made sure no comment precedes it.
		var ec []tree.Item
		n := 0
		for _, el := range it.Value.Elems() {
			if el.Kind == tree.Comment {
				ec = append(ec, tree.Item{Key: el})
				continue
			}
			e.pushIndex(n)
			if err := e.section(el.Items(), php, arraySection, ec, reorder); err != nil {
				return err
			}
			e.pop()
			ec = nil
			n++
		}
		e.pop()
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (e *emitter) blankLine() {
	if len(e.b) > 0 {
		e.b = append(e.b, '\n')
	}
}

// splitTail returns where the sub-tables written as sections start: the
// longest run of items at the end made of sectionable items and the
// comments between them, ending with a sectionable item.
func splitTail(items []tree.Item) int {
	n := len(items)
	if n == 0 || items[n-1].IsComment() {
		return n
	}
	for i := n - 1; i >= 0; i-- {
		if !items[i].IsComment() && !sectionable(items, i) {
			return i + 1
		}
	}
	return 0
}

// sectionable reports whether items[i] can be written as a [section] or
// as [[sections]] and read back the same.
func sectionable(items []tree.Item, i int) bool {
	v := items[i].Value
	switch v.Kind {
	case tree.Map:
		return true
	case tree.List:
		return isTableArray(v.Elems()) && (i == 0 || !items[i-1].IsComment())
	}
	return false
}

// isTableArray reports whether a list holds tables and comments only, at
// least one table, and does not end with a comment.
func isTableArray(elems []tree.Value) bool {
	if len(elems) == 0 || elems[len(elems)-1].Kind != tree.Map {
		return false
	}
	for _, el := range elems {
		if el.Kind != tree.Map && el.Kind != tree.Comment {
			return false
		}
	}
	return true
}

// checkKeys checks that every key of a table is a string TOML can hold,
// and that no key appears twice.
func (e *emitter) checkKeys(items []tree.Item) error {
	var seen map[string]struct{}
	if len(items) > 8 {
		seen = make(map[string]struct{}, len(items))
	}
	for i, it := range items {
		if it.IsComment() {
			continue
		}
		if it.Key.Kind != tree.String {
			name, _ := it.Key.Canonical()
			e.push(quoteKey(name))
			return e.fail(fmt.Sprintf("the key is of type %s, and TOML keys are strings", it.Key.Kind))
		}
		k := it.Key.Str
		if !utf8.ValidString(k) {
			return e.fail("a key is not valid UTF-8")
		}
		if seen != nil {
			if _, dup := seen[k]; dup {
				e.push(quoteKey(k))
				return e.fail("the key appears twice in its table")
			}
			seen[k] = struct{}{}
			continue
		}
		for _, p := range items[:i] {
			if !p.IsComment() && p.Key.Kind == tree.String && p.Key.Str == k {
				e.push(quoteKey(k))
				return e.fail("the key appears twice in its table")
			}
		}
	}
	return nil
}

// ownLineComments writes comments on lines of their own, indented by
// indent, except a last inline one, whose " #text" it returns to end the
// line of what follows.
func (e *emitter) ownLineComments(cs []tree.Item, indent string) (string, error) {
	suffix := ""
	if n := len(cs); n > 0 && cs[n-1].Key.Inline {
		if err := e.checkComment(cs[n-1].Key.Str); err != nil {
			return "", err
		}
		suffix = " #" + cs[n-1].Key.Str
		cs = cs[:n-1]
	}
	return suffix, e.commentLines(cs, indent)
}

// commentLines writes comments on lines of their own, inline ones too:
// those that end a table or an array have no line to trail.
func (e *emitter) commentLines(cs []tree.Item, indent string) error {
	for _, c := range cs {
		if err := e.checkComment(c.Key.Str); err != nil {
			return err
		}
		e.b = append(e.b, indent...)
		e.b = append(e.b, '#')
		e.b = append(e.b, c.Key.Str...)
		e.b = append(e.b, '\n')
	}
	return nil
}

// checkComment checks that a comment's text fits on one TOML comment
// line.
func (e *emitter) checkComment(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return e.fail("a comment holds a line break or a control character, which TOML comments cannot")
		}
	}
	if !utf8.ValidString(s) {
		return e.fail("a comment is not valid UTF-8")
	}
	return nil
}

func commentsOf(elems []tree.Value) []tree.Item {
	cs := make([]tree.Item, len(elems))
	for i, el := range elems {
		cs[i] = tree.Item{Key: el}
	}
	return cs
}

// keyValue writes one "key = value" line (or, for a table that holds
// comments, the dotted-key lines that keep them in place) with prefix
// before the key. dottedOK says that no comment precedes the item.
func (e *emitter) keyValue(it tree.Item, prefix, suffix string, dottedOK bool) error {
	key := quoteKey(it.Key.Str)
	e.push(key)
	v := it.Value
	if v.Kind == tree.Map && len(v.Items()) > 0 && dottedOK && hasMapComments(v.Items()) && dottedFits(v.Items()) {
		if err := e.checkKeys(v.Items()); err != nil {
			return err
		}
		var comments []tree.Item
		for _, sub := range v.Items() {
			if sub.IsComment() {
				comments = append(comments, sub)
				continue
			}
			sfx, err := e.ownLineComments(comments, "")
			if err != nil {
				return err
			}
			if err := e.keyValue(sub, prefix+key+".", sfx, len(comments) == 0); err != nil {
				return err
			}
			comments = nil
		}
		e.pop()
		return nil
	}
	e.b = append(e.b, prefix...)
	e.b = append(e.b, key...)
	e.b = append(e.b, " = "...)
	if err := e.value(v, ""); err != nil {
		return err
	}
	e.pop()
	e.b = append(e.b, suffix...)
	e.b = append(e.b, '\n')
	return nil
}

// hasMapComments reports whether a table, or a table in it, holds
// comments (arrays excluded: they can hold comments in any TOML).
func hasMapComments(items []tree.Item) bool {
	for _, it := range items {
		if it.IsComment() || (it.Value.Kind == tree.Map && hasMapComments(it.Value.Items())) {
			return true
		}
	}
	return false
}

// dottedFits reports whether dotted keys read back as the same table:
// comments can only precede leaf values, and no table may end with a
// comment.
func dottedFits(items []tree.Item) bool {
	if len(items) == 0 || items[len(items)-1].IsComment() {
		return false
	}
	for i, it := range items {
		if it.Value.Kind == tree.Map && len(it.Value.Items()) > 0 {
			if i > 0 && items[i-1].IsComment() || !dottedFits(it.Value.Items()) {
				return false
			}
		}
	}
	return true
}

const indentUnit = "    "

// value writes a value in inline form. indent is the indentation of the
// line it starts on, for the lines of multi-line arrays and tables.
func (e *emitter) value(v tree.Value, indent string) error {
	switch v.Kind {
	case tree.String:
		if !utf8.ValidString(v.Str) {
			return e.fail("the string is not valid UTF-8, which TOML strings must be")
		}
		e.b = appendString(e.b, v.Str)
	case tree.Int:
		e.b = strconv.AppendInt(e.b, v.Int(), 10)
	case tree.Uint:
		if v.Uint() > math.MaxInt64 {
			return e.fail("the integer does not fit in TOML's 64-bit signed integers")
		}
		e.b = strconv.AppendUint(e.b, v.Uint(), 10)
	case tree.Float:
		e.b = appendFloat(e.b, v.Float())
	case tree.Bool:
		e.b = strconv.AppendBool(e.b, v.Bool())
	case tree.Time:
		b, err := appendTime(e.b, v.Time())
		if err != nil {
			return e.fail(err.Error())
		}
		e.b = b
	case tree.List:
		return e.array(v.Elems(), indent)
	case tree.Map:
		return e.inlineTable(v.Items(), indent)
	case tree.Null:
		return e.fail("TOML has no null value")
	default:
		return e.fail(fmt.Sprintf("a %s cannot be written as a TOML value", v.Kind))
	}
	return nil
}

func (e *emitter) array(elems []tree.Value, indent string) error {
	multiline := false
	for _, el := range elems {
		if el.Kind == tree.Comment {
			multiline = true
			break
		}
	}
	if !multiline {
		e.b = append(e.b, '[')
		for i, el := range elems {
			if i > 0 {
				e.b = append(e.b, ", "...)
			}
			e.pushIndex(i)
			if err := e.value(el, indent); err != nil {
				return err
			}
			e.pop()
		}
		e.b = append(e.b, ']')
		return nil
	}
	inner := indent + indentUnit
	e.b = append(e.b, "[\n"...)
	var comments []tree.Value
	n := 0
	for _, el := range elems {
		if el.Kind == tree.Comment {
			comments = append(comments, el)
			continue
		}
		suffix, err := e.ownLineComments(commentsOf(comments), inner)
		if err != nil {
			return err
		}
		comments = nil
		e.b = append(e.b, inner...)
		e.pushIndex(n)
		if err := e.value(el, inner); err != nil {
			return err
		}
		e.pop()
		n++
		e.b = append(e.b, ',')
		e.b = append(e.b, suffix...)
		e.b = append(e.b, '\n')
	}
	if err := e.commentLines(commentsOf(comments), inner); err != nil {
		return err
	}
	e.b = append(e.b, indent...)
	e.b = append(e.b, ']')
	return nil
}

func (e *emitter) inlineTable(items []tree.Item, indent string) error {
	if err := e.checkKeys(items); err != nil {
		return err
	}
	multiline := false
	for _, it := range items {
		if it.IsComment() {
			multiline = true
			break
		}
	}
	if !multiline {
		if len(items) == 0 {
			e.b = append(e.b, "{}"...)
			return nil
		}
		e.b = append(e.b, "{ "...)
		for i, it := range items {
			if i > 0 {
				e.b = append(e.b, ", "...)
			}
			key := quoteKey(it.Key.Str)
			e.b = append(e.b, key...)
			e.b = append(e.b, " = "...)
			e.push(key)
			if err := e.value(it.Value, indent); err != nil {
				return err
			}
			e.pop()
		}
		e.b = append(e.b, " }"...)
		return nil
	}
	// TOML 1.1: an inline table over several lines, with comments.
	inner := indent + indentUnit
	e.b = append(e.b, "{\n"...)
	var comments []tree.Item
	for _, it := range items {
		if it.IsComment() {
			comments = append(comments, it)
			continue
		}
		suffix, err := e.ownLineComments(comments, inner)
		if err != nil {
			return err
		}
		comments = nil
		key := quoteKey(it.Key.Str)
		e.b = append(e.b, inner...)
		e.b = append(e.b, key...)
		e.b = append(e.b, " = "...)
		e.push(key)
		if err := e.value(it.Value, inner); err != nil {
			return err
		}
		e.pop()
		e.b = append(e.b, ',')
		e.b = append(e.b, suffix...)
		e.b = append(e.b, '\n')
	}
	if err := e.commentLines(comments, inner); err != nil {
		return err
	}
	e.b = append(e.b, indent...)
	e.b = append(e.b, '}')
	return nil
}

// quoteKey returns a key as written: bare when TOML allows it, otherwise
// as a basic string.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return string(appendBasic(nil, k, false))
		}
	}
	return k
}

// appendString writes a string as a basic string, or as a multi-line basic
// string when it holds a line break.
func appendString(b []byte, s string) []byte {
	if strings.IndexByte(s, '\n') < 0 {
		return appendBasic(b, s, false)
	}
	return appendBasic(b, s, true)
}

const hexDigits = "0123456789ABCDEF"

// appendBasic writes s as a TOML basic string (multi-line if asked), with
// every character TOML requires escaped and nothing else. Newlines stay
// literal in a multi-line string, right after a line break that TOML
// trims.
func appendBasic(b []byte, s string, multiline bool) []byte {
	if multiline {
		b = append(b, `"""`+"\n"...)
	} else {
		b = append(b, '"')
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			if multiline {
				continue
			}
			esc = `\n`
		case c == '\t':
			esc = `\t`
		case c == '\r':
			esc = `\r`
		case c == '\b':
			esc = `\b`
		case c == '\f':
			esc = `\f`
		case c < 0x20 || c == 0x7f:
			esc = `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	b = append(b, s[start:]...)
	if multiline {
		return append(b, `"""`...)
	}
	return append(b, '"')
}

// appendFloat writes a float so that it reads back as a float: with a
// fraction or an exponent, inf and nan in TOML's spelling.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendTime writes a time as a TOML local date, local time or local
// date-time when its location says it was one, and as an offset date-time
// otherwise.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	loc := t.Location()
	if loc == LocalTime {
		return t.AppendFormat(b, "15:04:05.999999999"), nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("the year of a date is outside TOML's 0000 to 9999")
	}
	switch loc {
	case LocalDate:
		return t.AppendFormat(b, "2006-01-02"), nil
	case LocalDateTime:
		return t.AppendFormat(b, "2006-01-02T15:04:05.999999999"), nil
	}
	if _, off := t.Zone(); off%60 != 0 {
		// RFC 3339 offsets have no seconds: keep the instant.
		t = t.UTC()
	}
	return t.AppendFormat(b, time.RFC3339Nano), nil
}
