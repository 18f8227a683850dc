package toml

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/kura-secrets/kura/pkg/tree"
)

// Loading reads a file twice with go-toml: once with its decoder, which
// checks everything TOML forbids (duplicate keys, redefined tables, bad
// numbers and dates) and gives each value its Go type, and once with its
// parser, which gives the expressions in file order with their comments.
// The tree takes its order and comments from the second pass and its
// values from the first; the two are walked side by side.

// table is a TOML table being built.
type table struct {
	entries []entry
	slots   map[string]slot
	// dec is what the decoder made of the same table.
	dec map[string]any
}

// entry is a comment or a keyed entry of a table, in file order.
type entry struct {
	comment bool
	inline  bool
	text    string // a comment's text

	key string
	tbl *table       // a table: [header], dotted key or implicit
	aot *arrayTables // an array of tables: [[header]]
	val tree.Value   // any value written after "key ="
}

// slot says what a key of a table holds, to navigate headers and dotted
// keys.
type slot struct {
	tbl *table
	aot *arrayTables
}

// arrayTables is an array of tables: its elements are tables and the
// comments that preceded their [[header]].
type arrayTables struct {
	elems []entry
	dec   []any
	count int // tables created so far
}

func newTable(dec map[string]any) *table {
	// The decoder knows how many keys the table has.
	return &table{dec: dec, slots: make(map[string]slot, len(dec)), entries: make([]entry, 0, len(dec))}
}

func (t *table) addComments(cs []pendingComment) {
	for _, c := range cs {
		t.entries = append(t.entries, entry{comment: true, text: c.text})
	}
}

// insertBefore inserts comment entries just before the entry named key.
func (t *table) insertBefore(key string, cs []entry) {
	if len(cs) == 0 {
		return
	}
	for i, e := range t.entries {
		if !e.comment && e.key == key {
			t.entries = append(t.entries[:i], append(cs, t.entries[i:]...)...)
			return
		}
	}
}

func (t *table) build() []tree.Item {
	items := make([]tree.Item, 0, len(t.entries))
	for _, e := range t.entries {
		switch {
		case e.comment:
			items = append(items, tree.CommentItem(e.text, e.inline))
		case e.tbl != nil:
			items = append(items, tree.KeyItem(e.key, tree.MapV(e.tbl.build())))
		case e.aot != nil:
			elems := make([]tree.Value, 0, len(e.aot.elems))
			for _, el := range e.aot.elems {
				if el.comment {
					elems = append(elems, tree.CommentV(el.text, el.inline))
				} else {
					elems = append(elems, tree.MapV(el.tbl.build()))
				}
			}
			items = append(items, tree.KeyItem(e.key, tree.ListV(elems)))
		default:
			items = append(items, tree.KeyItem(e.key, e.val))
		}
	}
	return items
}

// pendingComment is a comment line not yet attached to anything.
type pendingComment struct {
	text string
	// blankAfter says a blank line follows the comment.
	blankAfter bool
}

type loader struct {
	data    []byte
	p       unstable.Parser
	root    *table
	current *table
	pending []pendingComment
}

// errMismatch means the parser and the decoder disagree on the shape of
// the document; it would be a bug in go-toml.
var errMismatch = errors.New("internal error: go-toml's parser and decoder disagree on this document")

func load(data []byte) (tree.Document, error) {
	if bytes.HasPrefix(data, []byte("\ufeff")) {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: "the file starts with a byte order mark, which TOML does not allow"}
	}
	var dec map[string]any
	if err := gotoml.Unmarshal(data, &dec); err != nil {
		return nil, decodeError(err)
	}
	l := &loader{data: data, p: unstable.Parser{KeepComments: true}}
	l.p.Reset(data)
	l.root = newTable(dec)
	l.current = l.root
	for l.p.NextExpression() {
		expr := l.p.Expression()
		var err error
		switch expr.Kind {
		case unstable.Comment:
			l.pending = append(l.pending, pendingComment{commentText(expr), l.blankAfter(expr)})
		case unstable.KeyValue:
			_, err = l.keyValue(l.current, expr, l.pending, trailingComment(expr))
			l.pending = nil
		case unstable.Table, unstable.ArrayTable:
			err = l.header(expr)
		default:
			err = errMismatch
		}
		if err != nil {
			return nil, l.located(expr, err)
		}
	}
	if err := l.p.Error(); err != nil {
		return nil, l.parserError(err)
	}
	l.current.addComments(l.pending)
	return l.root.build(), nil
}

func commentText(n *unstable.Node) string {
	return string(n.Data[1:]) // the text after '#'
}

// trailingComment returns the comment that ends the line of a top-level
// expression, or nil.
func trailingComment(expr *unstable.Node) *unstable.Node {
	if n := expr.Next(); n != nil && n.Kind == unstable.Comment {
		return n
	}
	return nil
}

// blankAfter reports whether a blank line follows a comment line.
func (l *loader) blankAfter(n *unstable.Node) bool {
	i := int(n.Raw.Offset + n.Raw.Length)
	for i < len(l.data) && l.data[i] != '\n' {
		i++
	}
	i++
	for i < len(l.data) && (l.data[i] == ' ' || l.data[i] == '\t' || l.data[i] == '\r') {
		i++
	}
	return i >= len(l.data) || l.data[i] == '\n'
}

// startsLine reports whether only whitespace precedes a comment on its
// line: it is a comment line of its own, not one that trails a value.
func (l *loader) startsLine(n *unstable.Node) bool {
	i := int(n.Raw.Offset) - 1
	for i >= 0 && (l.data[i] == ' ' || l.data[i] == '\t') {
		i--
	}
	return i < 0 || l.data[i] == '\n'
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// descend walks the dotted key parts from t, creating the tables that do
// not exist yet, and returns the last one. A part naming an array of
// tables means its last table, as in headers.
func descend(t *table, parts []string) (*table, error) {
	for _, k := range parts {
		s, ok := t.slots[k]
		switch {
		case !ok:
			d, isMap := t.dec[k].(map[string]any)
			if !isMap {
				return nil, errMismatch
			}
			nt := newTable(d)
			t.entries = append(t.entries, entry{key: k, tbl: nt})
			t.slots[k] = slot{tbl: nt}
			t = nt
		case s.tbl != nil:
			t = s.tbl
		case s.aot != nil && s.aot.count > 0:
			t = s.aot.elems[len(s.aot.elems)-1].tbl
		default:
			return nil, errMismatch
		}
	}
	return t, nil
}

// keyValue adds "key = value" to t, after the comments that preceded it
// and the comment that trails it, in the table that holds the key (the
// innermost one for a dotted key). It returns that table.
func (l *loader) keyValue(t *table, expr *unstable.Node, before []pendingComment, trailing *unstable.Node) (*table, error) {
	parts := keyParts(expr.Key())
	if len(parts) == 0 {
		return nil, errMismatch
	}
	inner, err := descend(t, parts[:len(parts)-1])
	if err != nil {
		return nil, err
	}
	k := parts[len(parts)-1]
	if _, dup := inner.slots[k]; dup {
		return nil, errMismatch
	}
	d, ok := inner.dec[k]
	if !ok {
		return nil, errMismatch
	}
	v, err := l.value(expr.Value(), d)
	if err != nil {
		return nil, err
	}
	inner.addComments(before)
	if trailing != nil {
		inner.entries = append(inner.entries, entry{comment: true, inline: true, text: commentText(trailing)})
	}
	inner.entries = append(inner.entries, entry{key: k, val: v})
	inner.slots[k] = slot{}
	return inner, nil
}

// header starts a [table] or [[array of tables]]. The comments right above
// it (after the last blank line) go before the table it defines; those
// above a blank line stay at the end of the table before.
func (l *loader) header(expr *unstable.Node) error {
	cut := 0
	for i, c := range l.pending {
		if c.blankAfter {
			cut = i + 1
		}
	}
	l.current.addComments(l.pending[:cut])
	var before []entry
	for _, c := range l.pending[cut:] {
		before = append(before, entry{comment: true, text: c.text})
	}
	l.pending = nil
	if tc := trailingComment(expr); tc != nil {
		before = append(before, entry{comment: true, inline: true, text: commentText(tc)})
	}

	parts := keyParts(expr.Key())
	if len(parts) == 0 {
		return errMismatch
	}
	parent, err := descend(l.root, parts[:len(parts)-1])
	if err != nil {
		return err
	}
	k := parts[len(parts)-1]
	s, exists := parent.slots[k]

	if expr.Kind == unstable.Table {
		if exists {
			// A table that an earlier header created implicitly.
			if s.tbl == nil {
				return errMismatch
			}
			parent.insertBefore(k, before)
			l.current = s.tbl
			return nil
		}
		d, ok := parent.dec[k].(map[string]any)
		if !ok {
			return errMismatch
		}
		nt := newTable(d)
		parent.entries = append(parent.entries, before...)
		parent.entries = append(parent.entries, entry{key: k, tbl: nt})
		parent.slots[k] = slot{tbl: nt}
		l.current = nt
		return nil
	}

	a := s.aot
	if !exists {
		d, ok := parent.dec[k].([]any)
		if !ok {
			return errMismatch
		}
		a = &arrayTables{dec: d}
		parent.entries = append(parent.entries, entry{key: k, aot: a})
		parent.slots[k] = slot{aot: a}
	} else if a == nil {
		return errMismatch
	}
	if a.count >= len(a.dec) {
		return errMismatch
	}
	d, ok := a.dec[a.count].(map[string]any)
	if !ok {
		return errMismatch
	}
	a.count++
	nt := newTable(d)
	a.elems = append(a.elems, before...)
	a.elems = append(a.elems, entry{tbl: nt})
	l.current = nt
	return nil
}

// commentRun calls f for a comment node inside an array or inline table
// and for the comments that follow it with no value in between, which
// the parser hangs below the first one.
func commentRun(n *unstable.Node, f func(*unstable.Node)) {
	f(n)
	for c := n.Child(); c != nil; c = c.Next() {
		f(c)
	}
}

// value converts a value node, with d the decoder's value for it.
func (l *loader) value(n *unstable.Node, d any) (tree.Value, error) {
	switch n.Kind {
	case unstable.Array:
		arr, ok := d.([]any)
		if !ok {
			return tree.Value{}, errMismatch
		}
		elems := make([]tree.Value, 0, len(arr))
		last, lastHasComment := -1, false
		i := 0
		var err error
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				commentRun(c, func(c *unstable.Node) {
					if last >= 0 && !lastHasComment && !l.startsLine(c) {
						// It trails the previous element: it goes before it.
						elems = append(elems, tree.Value{})
						copy(elems[last+1:], elems[last:])
						elems[last] = tree.CommentV(commentText(c), true)
						last++
						lastHasComment = true
						return
					}
					elems = append(elems, tree.CommentV(commentText(c), false))
				})
				continue
			}
			if i >= len(arr) {
				return tree.Value{}, errMismatch
			}
			var v tree.Value
			if v, err = l.value(c, arr[i]); err != nil {
				return tree.Value{}, err
			}
			i++
			elems = append(elems, v)
			last, lastHasComment = len(elems)-1, false
		}
		if i != len(arr) {
			return tree.Value{}, errMismatch
		}
		return tree.ListV(elems), nil
	case unstable.InlineTable:
		m, ok := d.(map[string]any)
		if !ok {
			return tree.Value{}, errMismatch
		}
		t := newTable(m)
		var pend []pendingComment
		var last *table
		lastHasComment := false
		it := n.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind == unstable.Comment {
				commentRun(c, func(c *unstable.Node) {
					if last != nil && !lastHasComment && !l.startsLine(c) {
						// It trails the previous key/value: it goes before it.
						e := entry{comment: true, inline: true, text: commentText(c)}
						at := len(last.entries) - 1
						last.entries = append(last.entries[:at], e, last.entries[at])
						lastHasComment = true
						return
					}
					pend = append(pend, pendingComment{text: commentText(c)})
				})
				continue
			}
			if c.Kind != unstable.KeyValue {
				return tree.Value{}, errMismatch
			}
			inner, err := l.keyValue(t, c, pend, nil)
			if err != nil {
				return tree.Value{}, err
			}
			pend, last, lastHasComment = nil, inner, false
		}
		if len(t.slots) != len(m) {
			return tree.Value{}, errMismatch
		}
		t.addComments(pend)
		return tree.MapV(t.build()), nil
	}
	return scalar(d)
}

// scalar converts a value of the decoder. Local dates and times become
// times in the LocalDate, LocalTime and LocalDateTime locations.
func scalar(d any) (tree.Value, error) {
	switch v := d.(type) {
	case string:
		return tree.Str(v), nil
	case int64:
		return tree.IntV(v), nil
	case float64:
		return tree.FloatV(v), nil
	case bool:
		return tree.BoolV(v), nil
	case time.Time:
		if _, off := v.Zone(); off == 0 {
			v = v.UTC()
		}
		return tree.TimeV(v), nil
	case gotoml.LocalDate:
		return tree.TimeV(time.Date(v.Year, time.Month(v.Month), v.Day, 0, 0, 0, 0, LocalDate)), nil
	case gotoml.LocalTime:
		return tree.TimeV(time.Date(0, 1, 1, v.Hour, v.Minute, v.Second, v.Nanosecond, LocalTime)), nil
	case gotoml.LocalDateTime:
		return tree.TimeV(time.Date(v.Year, time.Month(v.Month), v.Day, v.Hour, v.Minute, v.Second, v.Nanosecond, LocalDateTime)), nil
	}
	return tree.Value{}, errMismatch
}

// SyntaxError is a TOML file that does not parse. Its message names the
// line and column and never quotes the file's text (which may be a
// secret); key names may appear in it.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

func decodeError(err error) error {
	var de *gotoml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		return &SyntaxError{Line: line, Column: col, Msg: cleanMessage(de.Error())}
	}
	return &SyntaxError{Msg: cleanMessage(err.Error())}
}

func (l *loader) parserError(err error) error {
	var pe *unstable.ParserError
	if errors.As(err, &pe) && pe.Highlight != nil {
		sh := l.p.Shape(l.p.Range(pe.Highlight))
		return &SyntaxError{Line: sh.Start.Line, Column: sh.Start.Column, Msg: cleanMessage(pe.Message)}
	}
	return &SyntaxError{Msg: cleanMessage(err.Error())}
}

// located adds the line of an expression to an error from the second
// pass.
func (l *loader) located(expr *unstable.Node, err error) error {
	r := expr.Raw
	if expr.Kind != unstable.KeyValue {
		if k := expr.Child(); k != nil {
			r = k.Raw
		}
	}
	sh := l.p.Shape(r)
	return &SyntaxError{Line: sh.Start.Line, Column: sh.Start.Column, Msg: err.Error()}
}

// quotedChar matches the "U+0041 'A'" that go-toml writes for the
// character it stopped at, which may belong to a value.
// quotedChar is compiled on first use: kura links this package.
var quotedChar = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(` ?U\+[0-9A-F]{4,6}( '.+?')?`) })

// cleanMessage keeps go-toml's description of a syntax error and drops
// what could quote the file's text: the character it stopped at and the
// text of a number that did not convert.
func cleanMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "toml: ")
	if i := strings.Index(msg, ": strconv."); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.ReplaceAll(msg, "but got U+", "but found U+")
	msg = quotedChar().ReplaceAllString(msg, "")
	msg = strings.TrimSuffix(msg, ":")
	if strings.HasSuffix(msg, "but found") {
		msg += " another character"
	}
	return msg
}
