package yaml

import (
	"io"
	"unicode/utf8"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// fastEmit writes the documents exactly as emit does through the yaml.v3
// encoder, without building nodes or running the library's event
// machine. It follows the encoder's rules for the block style kura
// writes: its indentation (sequences indented inside mappings, mappings
// inside sequences after the "- "), its scalar styles (plain, quoted,
// literal blocks with their indentation and chomping indicators) and its
// placement of the head, line and foot comments that fillMapping and
// fillSequence attach.
//
// It returns ok=false for what it does not reproduce with certainty, and
// the caller then uses the encoder: keys that are not strings, keys that
// need the "? " form, line comments on collections, comments in empty
// collections, comments after a collection that ends a sequence, line
// breaks other than "\n", strings that start with a byte order mark, and
// an empty list of documents. TestFastEmitMatchesEncoder and
// FuzzFastEmit compare it with the encoder.
func (s Store) fastEmit(docs []tree.Document, meta []tree.Item, indent int) ([]byte, bool) {
	e := newFastEmitter(indent, nil, 0)
	if !e.documents(docs, meta) {
		return nil, false
	}
	return e.out, true
}

// fastEmitTo is fastEmit writing to w in chunks, so that the text of a
// large file is never held whole. Text may have been written when it
// returns ok=false: callers that cannot take it back run it first with
// io.Discard, which costs one more pass but no memory.
func (s Store) fastEmitTo(w io.Writer, docs []tree.Document, meta []tree.Item, indent int) (ok bool, err error) {
	size := tree.TextSizeUpTo(meta, chunkSize)
	for _, d := range docs {
		size += tree.TextSizeUpTo(d, chunkSize-size)
	}
	e := newFastEmitter(indent, w, size)
	if !e.documents(docs, meta) {
		return false, e.err
	}
	e.spill(0)
	return true, e.err
}

// newFastEmitter returns an emitter with room for about size bytes of
// text (a streaming one spills at chunkSize, so it needs no more).
func newFastEmitter(indent int, sink io.Writer, size int) *fastEmitter {
	if indent < minIndent || indent > maxIndent {
		indent = minIndent // what the encoder does with other widths
	}
	e := &fastEmitter{best: indent, sink: sink}
	e.out = prefault.Make[byte](0, min(size, chunkSize)+4096)
	e.reset()
	return e
}

// documents writes docs, each with meta as its last entry "sops".
func (e *fastEmitter) documents(docs []tree.Document, meta []tree.Item) bool {
	if len(docs) == 0 {
		return false
	}
	for i, doc := range docs {
		items := []tree.Item(doc)
		if meta != nil {
			items = append(items[:len(items):len(items)], tree.KeyItem(format.MetadataKey, tree.MapV(meta)))
		}
		if !e.document(items, i == 0) {
			return false
		}
	}
	return !e.bad
}

// chunkSize is how much text a streaming emitter gathers before it hands
// it to its writer.
const chunkSize = 64 << 10

// spill hands the text written so far to the sink once there are at
// least min bytes of it. The text already written is final: nothing looks
// back at it. After a write error the text is dropped and the error kept.
func (e *fastEmitter) spill(min int) {
	if e.sink == nil || len(e.out) < min || len(e.out) == 0 {
		return
	}
	if e.err == nil {
		_, e.err = e.sink.Write(e.out)
	}
	e.out = e.out[:0]
}

// fastEmitter holds the writer state of the yaml.v3 emitter that decides
// where line breaks and spaces go, and the comments it holds between
// events.
type fastEmitter struct {
	out  []byte
	best int // the indentation width
	// sink, when set, takes the text in chunks (spill); err is its first
	// write error.
	sink io.Writer
	err  error

	indent     int // the current indentation; -1 before the root
	column     int
	whitespace bool // the last character written was white space
	indention  bool // only indentation was written on this line
	footIndent int  // a comment at this indentation ended; -1 for none

	// The comments of the events read but not yet written.
	head, line, foot, tail string

	// bad: a comment is not valid UTF-8, which the encoder cannot write.
	bad bool
}

func (e *fastEmitter) reset() {
	e.indent = -1
	e.column = 0
	e.whitespace = true
	e.indention = true
	e.footIndent = -1
}

// The event level: each method is what the emitter does for one event,
// after it took the event's comments (set).

func (e *fastEmitter) set(head, line, foot, tail string) {
	if head != "" {
		e.head = head
	}
	if line != "" {
		e.line = line
	}
	if foot != "" {
		e.foot = foot
	}
	if tail != "" {
		e.tail = tail
	}
}

func (e *fastEmitter) document(items []tree.Item, first bool) bool {
	if !first {
		e.writeIndent()
		e.writeIndicator("---", true, false, false)
		e.writeIndent()
	}
	head, entries := collectionHead(tree.MapV(items))
	if !entries {
		// Comments only: the root's head comment, then {}.
		e.set(head, "", "", "")
		e.processHead()
		e.writeIndicator("{", true, true, false)
		e.writeIndicator("}", false, false, false)
	} else {
		e.set(head, "", "", "")
		e.processHead()
		e.processLine(false)
		e.processFoot()
		if !e.mapping(items, false) {
			return false
		}
	}
	// The document end forces a blank line before a foot comment.
	e.footIndent = 0
	e.processFoot()
	e.footIndent = -1
	e.writeIndent()
	return e.head == "" && e.line == "" && e.foot == "" && e.tail == ""
}

// increase is the indentation of a block collection or scalar below the
// current one: two more inside a sequence item (past the "- "), else the
// next multiple of the width.
func (e *fastEmitter) increase(inSeq bool) int { return increaseIndent(e.indent, e.best, inSeq) }

// increaseIndent is the encoder's indentation of a block below one at
// column indent (-1 for a document's root), with the indent width best.
func increaseIndent(indent, best int, inSeq bool) int {
	switch {
	case indent < 0:
		return 0
	case inSeq:
		return indent + 2
	}
	return best * ((indent + best) / best)
}

// misplacedIndicator reports whether yaml.v3's encoder, and so sops,
// writes a wrong indentation indicator for a literal block that is an
// item of a sequence (inSeq) or a value of a mapping, in a block at
// column parent: it writes the indent width, where the spec wants the
// block's indentation relative to its parent's. The two differ for an
// item of a sequence (indented by the two columns of "- ") and for a
// value of a mapping that is one, unless the width is 2; sops then cannot
// read the text it wrote ("did not find expected '-' indicator").
func misplacedIndicator(parent, best int, inSeq bool) bool {
	return parent >= 0 && increaseIndent(parent, best, inSeq)-parent != best
}

// emptyHead returns the head comment of a map or list without entries:
// all its comments, the inline ones last.
func emptyHead(v tree.Value) string {
	var head, inline []string
	for _, it := range v.Items() {
		if it.Key.Inline {
			inline = append(inline, it.Key.Str)
		} else {
			head = append(head, it.Key.Str)
		}
	}
	for _, el := range v.Elems() {
		if el.Inline {
			inline = append(inline, el.Str)
		} else {
			head = append(head, el.Str)
		}
	}
	return joinOrEmpty(append(head, inline...))
}

// collectionHead returns the head comment of a map or list (its comments
// before the first entry, not inline ones; all of them when it has no
// entries) and whether it has entries.
func collectionHead(v tree.Value) (string, bool) {
	if h, entries := leadingComments(v); entries {
		return h, true
	}
	return emptyHead(v), false
}

func leadingComments(v tree.Value) (string, bool) {
	var head []string
	if v.Kind == tree.Map {
		for _, it := range v.Items() {
			if !it.IsComment() {
				return joinOrEmpty(head), true
			}
			if !it.Key.Inline {
				head = append(head, it.Key.Str)
			}
		}
	} else {
		for _, el := range v.Elems() {
			if el.Kind != tree.Comment {
				return joinOrEmpty(head), true
			}
			if !el.Inline {
				head = append(head, el.Str)
			}
		}
	}
	return "", false
}

func joinOrEmpty(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return joinComments(lines)
}

// mapping writes the entries of a non-empty block mapping whose start
// event was read. inSeq says that it is an item of a sequence.
func (e *fastEmitter) mapping(items []tree.Item, inSeq bool) bool {
	saved := e.indent
	e.indent = e.increase(inSeq)
	var head, inline []string
	first := true
	for _, it := range items {
		e.spill(chunkSize)
		if it.IsComment() {
			if it.Key.Inline {
				inline = append(inline, it.Key.Str)
			} else {
				head = append(head, it.Key.Str)
			}
			continue
		}
		if first {
			// The mapping's head comment, taken by the caller.
			head, first = nil, false
		}
		if it.Key.Kind != tree.String {
			return false
		}
		var line string
		if len(inline) > 0 {
			line = joinComments(inline)
		}
		// The key.
		e.set(joinOrEmpty(head), "", "", "")
		head, inline = nil, nil
		e.processHead()
		e.writeIndent()
		if e.line != "" {
			return false
		}
		v := it.Value
		if len(it.Key.Str) > 128 {
			// Too long for a simple key: "? key", then ": value" on the
			// next line.
			if !v.IsScalar() || !e.longKey(it.Key.Str) {
				return false
			}
			e.set("", line, "", "")
			e.writeIndent()
			e.writeIndicator(":", true, false, true)
			if !e.scalar(v, false) {
				return false
			}
			e.processLine(false)
			e.processFoot()
			continue
		}
		if !e.key(it.Key.Str) {
			return false
		}
		// The value.
		switch v.Kind {
		case tree.Map, tree.List:
			if line != "" {
				return false
			}
			h, entries := collectionHead(v)
			e.set(h, "", "", "")
			e.writeIndicator(":", false, false, false)
			if !e.collection(v, h, entries, false) {
				return false
			}
		default:
			e.set("", line, "", "")
			e.writeIndicator(":", false, false, false)
			if !e.scalar(v, false) {
				return false
			}
			e.processLine(false)
			e.processFoot()
		}
	}
	// The end: comments after the last entry are the last key's foot
	// comment, which the encoder hands to the end event as a tail.
	if rest := append(head, inline...); len(rest) > 0 {
		e.set("", "", "", joinComments(rest))
	}
	e.processHead()
	e.indent = saved
	return true
}

// sequence writes the items of a non-empty block sequence whose start
// event was read.
func (e *fastEmitter) sequence(elems []tree.Value, inSeq bool) bool {
	saved := e.indent
	e.indent = e.increase(inSeq)
	last := len(elems) - 1
	for last >= 0 && elems[last].Kind == tree.Comment {
		last--
	}
	var foot string
	if last < len(elems)-1 {
		var head, inline []string
		for _, c := range elems[last+1:] {
			if c.Inline {
				inline = append(inline, c.Str)
			} else {
				head = append(head, c.Str)
			}
		}
		foot = joinComments(append(head, inline...))
	}
	var head, inline []string
	first := true
	for i, el := range elems[:last+1] {
		e.spill(chunkSize)
		if el.Kind == tree.Comment {
			if el.Inline {
				inline = append(inline, el.Str)
			} else {
				head = append(head, el.Str)
			}
			continue
		}
		if first {
			head, first = nil, false
		}
		h, line := joinOrEmpty(head), joinOrEmpty(inline)
		head, inline = nil, nil
		var f string
		if i == last {
			f = foot
		}
		switch el.Kind {
		case tree.Map, tree.List:
			if line != "" || f != "" {
				return false
			}
			own, entries := collectionHead(el)
			if own != "" {
				if h != "" {
					h += "\n" + own
				} else {
					h = own
				}
			}
			e.set(h, "", "", "")
			e.processHead()
			e.writeIndent()
			e.writeIndicator("-", true, false, true)
			if !e.collection(el, own, entries, true) {
				return false
			}
		default:
			e.set(h, line, f, "")
			e.processHead()
			e.writeIndent()
			e.writeIndicator("-", true, false, true)
			if !e.scalar(el, true) {
				return false
			}
			e.processLine(false)
			e.processFoot()
		}
	}
	e.indent = saved
	return true
}

// collection writes a map or list value after its key or dash.
func (e *fastEmitter) collection(v tree.Value, head string, entries, inSeq bool) bool {
	if !entries {
		// Empty: written in flow style. The comments of an empty map
		// below a key go inside its braces; those of an empty list there
		// are not handled.
		e.processLine(false)
		e.processFoot()
		if v.Kind == tree.Map {
			e.writeIndicator("{", true, true, false)
			saved := e.indent
			e.indent = e.increase(inSeq)
			e.processHead()
			e.indent = saved
			e.writeIndicator("}", false, false, false)
		} else {
			if e.head != "" {
				return false
			}
			e.writeIndicator("[", true, true, false)
			if e.column == 0 {
				e.writeIndent()
			}
			e.writeIndicator("]", false, false, false)
		}
		e.processLine(false)
		e.processFoot()
		return true
	}
	e.processLine(false)
	e.processFoot()
	if v.Kind == tree.Map {
		return e.mapping(v.Items(), inSeq)
	}
	return e.sequence(v.Elems(), inSeq)
}

// The comment level.

func (e *fastEmitter) processHead() {
	if e.tail != "" {
		e.writeIndent()
		e.writeComment(e.tail)
		e.tail = ""
		e.footIndent = max(e.indent, 0)
	}
	if e.head == "" {
		return
	}
	e.writeIndent()
	e.writeComment(e.head)
	e.head = ""
}

func (e *fastEmitter) processLine(linebreak bool) {
	if e.line == "" {
		if linebreak {
			e.putBreak()
		}
		return
	}
	if !e.whitespace {
		e.put(' ')
	}
	e.writeComment(e.line)
	e.line = ""
}

func (e *fastEmitter) processFoot() {
	if e.foot == "" {
		return
	}
	e.writeIndent()
	e.writeComment(e.foot)
	e.foot = ""
	e.footIndent = max(e.indent, 0)
}

func (e *fastEmitter) writeComment(c string) {
	if !utf8.ValidString(c) {
		e.bad = true
	}
	breaks, pound := false, false
	for i := 0; i < len(c); {
		if w := breakWidth(c, i); w > 0 {
			e.writeBreak(c[i : i+w])
			i += w
			breaks, pound = true, false
			continue
		}
		if breaks {
			e.writeIndent()
		}
		if !pound {
			if c[i] != '#' {
				e.put('#')
				e.put(' ')
			}
			pound = true
		}
		w := charWidth(c[i])
		if w == 0 || i+w > len(c) {
			w = 1
		}
		e.out = append(e.out, c[i:i+w]...)
		e.column++
		i += w
		e.indention = false
		breaks = false
	}
	if !breaks {
		e.putBreak()
	}
	e.whitespace = true
}

// The writer level.

func (e *fastEmitter) put(c byte) {
	e.out = append(e.out, c)
	e.column++
}

func (e *fastEmitter) putBreak() {
	e.out = append(e.out, '\n')
	e.column = 0
	e.indention = true
}

// writeBreak copies a line break from a text.
func (e *fastEmitter) writeBreak(b string) {
	if b == "\n" {
		e.putBreak()
		return
	}
	e.out = append(e.out, b...)
	e.column = 0
	e.indention = true
}

func (e *fastEmitter) writeIndent() {
	indent := max(e.indent, 0)
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.putBreak()
	}
	if e.footIndent == indent {
		e.putBreak()
	}
	for e.column < indent {
		e.put(' ')
	}
	e.whitespace = true
	e.footIndent = -1
}

func (e *fastEmitter) writeIndicator(ind string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !e.whitespace {
		e.put(' ')
	}
	e.out = append(e.out, ind...)
	e.column += len(ind)
	e.whitespace = isWhitespace
	e.indention = e.indention && isIndention
}

// writeText writes a scalar's text that holds no line break (plain,
// quoted, or what render gave) after the space that separates it.
func (e *fastEmitter) writeText(text string) {
	if !e.whitespace {
		e.put(' ')
	}
	e.out = append(e.out, text...)
	e.column += utf8.RuneCountInString(text)
	e.whitespace = false
	e.indention = false
}

// breakWidth returns the length of the line break at s[i], 0 if there is
// none: "\r", "\n", NEL, LS and PS are breaks for yaml.v3.
func breakWidth(s string, i int) int {
	switch s[i] {
	case '\n', '\r':
		return 1
	case 0xC2:
		if i+1 < len(s) && s[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

func charWidth(b byte) int {
	switch {
	case b&0x80 == 0:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 0
}
