package yaml

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// This file finds where things are in a YAML text: the exact byte span of
// every scalar, every comment and every document marker. yaml.v3 gives the
// line and column where a node starts and nothing else; the end of each
// scalar is found by scanning from its start as the library's scanner does
// for its style. Everything between scalars must then be indentation,
// indicators, comments or document markers: anything else means the text
// uses something this code does not follow (anchors, tags on collections,
// directives...) and the caller falls back to writing the file anew.

// unsupported is the error of a text the preserving writer does not handle.
// The writers report it as ok=false.
type unsupported struct{ reason string }

func (e *unsupported) Error() string { return e.reason }

func refuse(format string, args ...any) error {
	return &unsupported{fmt.Sprintf(format, args...)}
}

// source is a YAML text with the offsets of its lines, counted as yaml.v3
// counts them.
type source struct {
	b []byte
	// lines holds the offset where each line starts; line 1 starts after
	// a byte order mark, which yaml.v3 does not count.
	lines []int
	// nl is the line break the text uses, for the lines written into it.
	nl string
}

var bom = []byte("\ufeff")

func newSource(b []byte) (*source, error) {
	if !utf8.Valid(b) {
		return nil, refuse("the text is not UTF-8")
	}
	s := &source{b: b, nl: "\n"}
	start := 0
	if bytes.HasPrefix(b, bom) {
		start = len(bom)
	}
	s.lines = make([]int, 1, 64)
	s.lines[0] = start
	crlf := 0
	for i := start; i < len(b); i++ {
		switch b[i] {
		case '\n':
			s.lines = append(s.lines, i+1)
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				crlf++
				continue
			}
			return nil, refuse("a carriage return that does not end a line")
		case 0xC2:
			if i+1 < len(b) && b[i+1] == 0x85 {
				return nil, refuse("a NEL line break")
			}
		case 0xE2:
			if i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9) {
				return nil, refuse("a Unicode line or paragraph separator")
			}
		case 0xEF:
			if i > start && i+2 < len(b) && b[i+1] == 0xBB && b[i+2] == 0xBF {
				return nil, refuse("a byte order mark inside the text")
			}
		}
	}
	if crlf > 0 {
		s.nl = "\r\n"
	}
	return s, nil
}

// offset converts a yaml.v3 position (line and column from 1, the column
// counted in characters) to a byte offset.
func (s *source) offset(line, col int) (int, error) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, refuse("position %d:%d is outside the text", line, col)
	}
	o := s.lines[line-1]
	for c := 1; c < col; c++ {
		if o >= len(s.b) || s.b[o] == '\n' || s.b[o] == '\r' {
			return 0, refuse("position %d:%d is outside its line", line, col)
		}
		_, w := utf8.DecodeRune(s.b[o:])
		o += w
	}
	return o, nil
}

// lineOf returns the line number (from 1) of an offset.
func (s *source) lineOf(o int) int {
	return sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > o })
}

// lineStart returns the offset of the start of the line holding o.
func (s *source) lineStart(o int) int { return s.lines[s.lineOf(o)-1] }

// lineEnd returns the offset of the line break that ends the line holding
// o, or the end of the text.
func (s *source) lineEnd(o int) int {
	for o < len(s.b) && s.b[o] != '\n' && s.b[o] != '\r' {
		o++
	}
	return o
}

// breakLen is the length of the line break at o (0 if there is none).
func (s *source) breakLen(o int) int {
	switch {
	case o >= len(s.b):
		return 0
	case s.b[o] == '\n':
		return 1
	case s.b[o] == '\r':
		return 2
	}
	return 0
}

// nextLine returns the start of the line after the one holding o, or the
// end of the text.
func (s *source) nextLine(o int) int {
	e := s.lineEnd(o)
	return e + s.breakLen(e)
}

// blankLine reports whether the line starting at o holds only spaces and
// tabs.
func (s *source) blankLine(o int) bool {
	for e := s.lineEnd(o); o < e; o++ {
		if s.b[o] != ' ' && s.b[o] != '\t' {
			return false
		}
	}
	return true
}

func (s *source) isBreak(o int) bool {
	return o < len(s.b) && (s.b[o] == '\n' || s.b[o] == '\r')
}

func (s *source) isBlank(o int) bool {
	return o < len(s.b) && (s.b[o] == ' ' || s.b[o] == '\t')
}

// isBlankz is yaml.v3's is_blankz: a space, a tab, a line break or the end.
func (s *source) isBlankz(o int) bool {
	return o >= len(s.b) || s.isBlank(o) || s.isBreak(o)
}

// docIndicator reports whether a "---" or "..." marker starts at o, which
// must be the start of a line.
func (s *source) docIndicator(o int) bool {
	if o+3 > len(s.b) {
		return false
	}
	m := s.b[o : o+3]
	return (string(m) == "---" || string(m) == "...") && s.isBlankz(o+3)
}

// scalar is where one scalar node is in the text.
type span struct {
	node *yaml.Node
	// from is where the node starts: its tag, or the scalar itself.
	from int
	// [start, end) is the scalar token; for a block scalar, its indicator
	// with the chomping and indentation indicators.
	start, end int
	// [bodyFrom, bodyTo) are a block scalar's content lines: from the end
	// of the header line to the end of the last content line.
	bodyFrom, bodyTo int
	block            bool
	// indent is the block indentation the scalar sits in (the column of
	// the keys of its mapping or of the dashes of its sequence; -1 at the
	// top), flow whether it is inside a flow collection.
	indent int
	flow   bool
	// empty marks a plain empty scalar (null), which has no text.
	empty bool
}

// comment is a comment in the text: '#' at hash, text up to end.
type comment struct{ hash, end int }

// marker is a "---" (start) or "..." (end) document marker.
type marker struct {
	at    int
	start bool
}

// layout is everything found in a text.
type layout struct {
	src      *source
	nodes    []*yaml.Node    // document nodes
	docs     []tree.Document // as LoadPlain gives them
	scalars  spanIndex
	ordered  []*span
	comments []comment
	markers  []marker
	slab     []span // where spans are allocated (newSpan)
}

// scan parses the text as LoadPlain does and finds where everything is.
func scan(b []byte) (*layout, error) {
	src, err := newSource(b)
	if err != nil {
		return nil, err
	}
	// Sized for the text at once: a line rarely holds more than a key
	// and its value, and a growing map rehashes every entry again.
	l := &layout{src: src, scalars: newSpanIndex(2 * len(src.lines))}
	if nodes, docs, ok := fastLayout(b); ok {
		// The common subset, without the library's parse: the same
		// nodes, where the layout writer looks (FuzzFastLayout).
		l.nodes, l.docs = nodes, docs
	} else if err := l.parse(b); err != nil {
		return nil, err
	}
	if len(l.docs) == 0 {
		return nil, refuse("the text holds no YAML document")
	}
	for _, n := range l.nodes {
		if err := l.walk(n, -1, false); err != nil {
			return nil, err
		}
	}
	if err := l.lex(); err != nil {
		return nil, err
	}
	return l, nil
}

// parse fills l's nodes and documents with yaml.v3.
func (l *layout) parse(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", i+1, cleanErr(err))
		}
		c := converter{strict: i == 0}
		doc, err := c.document(n)
		if err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		l.nodes = append(l.nodes, n)
		l.docs = append(l.docs, doc)
	}
}

// newSpan returns a span from a slab: one allocation for many scalars.
func (l *layout) newSpan() *span {
	if len(l.slab) == cap(l.slab) {
		l.slab = prefault.Make[span](0, min(max(2*cap(l.slab), 64), 4096))
	}
	l.slab = l.slab[:len(l.slab)+1]
	return &l.slab[len(l.slab)-1]
}

// walk finds the span of every scalar below n. indent is the block
// indentation n sits in, flow whether it is inside a flow collection.
func (l *layout) walk(n *yaml.Node, indent int, flow bool) error {
	if n.Anchor != "" {
		return refuse("line %d: anchors are not preserved", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := l.walk(c, -1, false); err != nil {
				return err
			}
		}
		return nil
	case yaml.AliasNode:
		return refuse("line %d: aliases are not preserved", n.Line)
	case yaml.ScalarNode:
		return l.scalar(n, indent, flow)
	}
	off, err := l.src.offset(n.Line, n.Column)
	if err != nil {
		return err
	}
	if off >= len(l.src.b) {
		return refuse("line %d: a collection at the end of the text", n.Line)
	}
	f := flow || n.Style&yaml.FlowStyle != 0
	// A block mapping starts at its first key, which may have a tag of
	// its own; a "!" tag on a collection is in no scalar, and lex refuses
	// it.
	switch c := l.src.b[off]; {
	case n.Style&yaml.TaggedStyle != 0:
		return refuse("line %d: tags on collections are not preserved", n.Line)
	case f && c != '{' && c != '[':
		return refuse("line %d: a flow collection does not start where expected", n.Line)
	case !f && n.Kind == yaml.SequenceNode && c != '-':
		return refuse("line %d: a block sequence does not start with a dash", n.Line)
	}
	if !f {
		// The keys of a block mapping and the dashes of a block sequence
		// are at the collection's column: that is the indentation of
		// everything in it.
		indent = n.Column - 1
	}
	for _, c := range n.Content {
		if err := l.walk(c, indent, f); err != nil {
			return err
		}
	}
	return nil
}

func (l *layout) scalar(n *yaml.Node, indent int, flow bool) error {
	sc := l.newSpan()
	*sc = span{node: n, indent: indent, flow: flow}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if !quoted && n.Value == "" {
		// yaml.v3 places an empty node at the next token: it has no text.
		if n.Style&yaml.TaggedStyle != 0 {
			return refuse("line %d: an empty tagged value is not preserved", n.Line)
		}
		sc.empty = true
		l.scalars.put(n, sc)
		l.ordered = append(l.ordered, sc)
		return nil
	}
	s := l.src
	off, err := s.offset(n.Line, n.Column)
	if err != nil {
		return err
	}
	if off >= len(s.b) {
		return refuse("line %d: a scalar at the end of the text", n.Line)
	}
	sc.from = off
	if s.b[off] == '!' {
		for off < len(s.b) && !s.isBlankz(off) {
			off++
		}
		for s.isBlank(off) {
			off++
		}
		if s.isBlankz(off) || s.b[off] == '#' {
			return refuse("line %d: a tag on a line of its own is not preserved", n.Line)
		}
	}
	sc.start = off
	c := s.b[off]
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if c != '"' {
			return refuse("line %d: a double-quoted scalar does not start with a quote", n.Line)
		}
		sc.end, err = s.doubleQuoted(off)
	case n.Style&yaml.SingleQuotedStyle != 0:
		if c != '\'' {
			return refuse("line %d: a single-quoted scalar does not start with a quote", n.Line)
		}
		sc.end, err = s.singleQuoted(off)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		if c != '|' && c != '>' {
			return refuse("line %d: a block scalar does not start with | or >", n.Line)
		}
		sc.block = true
		err = s.blockScalar(sc)
	default:
		switch c {
		case '"', '\'', '|', '>', '&', '*', '!', '%', '@', '`', '#':
			return refuse("line %d: a plain scalar starts with %q", n.Line, c)
		}
		// (Comparing the word's bytes with the value copies nothing.)
		if end, ok := s.plainWord(off, flow); ok {
			sc.end = end
			if string(s.b[off:end]) != n.Value {
				return refuse("line %d: scanned plain scalar %q, yaml.v3 read %q", n.Line, s.b[off:end], n.Value)
			}
			break
		}
		var value string
		sc.end, value = s.plainLines(off, indent, flow)
		if value != n.Value {
			return refuse("line %d: scanned plain scalar %q, yaml.v3 read %q", n.Line, value, n.Value)
		}
	}
	if err != nil {
		return err
	}
	l.scalars.put(n, sc)
	l.ordered = append(l.ordered, sc)
	return nil
}

func (s *source) doubleQuoted(o int) (int, error) {
	for o++; o < len(s.b); o++ {
		switch s.b[o] {
		case '\\':
			o++
		case '"':
			return o + 1, nil
		}
	}
	return 0, refuse("unterminated double-quoted scalar")
}

func (s *source) singleQuoted(o int) (int, error) {
	for o++; o < len(s.b); o++ {
		if s.b[o] == '\'' {
			if o+1 < len(s.b) && s.b[o+1] == '\'' {
				o++
				continue
			}
			return o + 1, nil
		}
	}
	return 0, refuse("unterminated single-quoted scalar")
}

// plainWord finds a plain scalar of one word that a ':' and a blank, a
// line break or the end end, as every plain key of a sops-style file is:
// its text is the word. ok=false leaves the scalar to plainLines, which
// builds the value a character at a time (a third of the layout scan's
// time in scalars, most of them such keys). FuzzPlainWord compares the
// two.
func (s *source) plainWord(o int, flow bool) (end int, ok bool) {
	b := s.b
	for k := o; k < len(b); k++ {
		switch c := b[k]; {
		case c == ':' && s.isBlankz(k+1):
			return k, k > o
		case c <= ' ' || c >= 0x7f || c == '#' || c == ':':
			return 0, false
		case flow && (c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}'):
			return 0, false
		}
	}
	return 0, false
}

// plainLines scans a plain scalar as yaml_parser_scan_plain_scalar does
// and returns its end and its value (lines folded), which the caller
// checks against the value yaml.v3 read.
func (s *source) plainLines(o, indent int, flow bool) (int, string) {
	b := s.b
	end := o
	var value, spaces []byte
	leadingBlanks, breaks := false, 0
	for {
		if o < len(b) && b[o] == '#' {
			break
		}
		for !s.isBlankz(o) {
			c := b[o]
			if c == ':' && s.isBlankz(o+1) {
				break
			}
			if flow && (c == ',' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}') {
				break
			}
			if leadingBlanks {
				if breaks == 1 {
					value = append(value, ' ')
				} else {
					for range breaks - 1 {
						value = append(value, '\n')
					}
				}
				leadingBlanks, breaks = false, 0
			} else if len(spaces) > 0 {
				value = append(value, spaces...)
			}
			spaces = spaces[:0]
			_, w := utf8.DecodeRune(b[o:])
			value = append(value, b[o:o+w]...)
			o += w
			end = o
		}
		if !(s.isBlank(o) || s.isBreak(o)) {
			break
		}
		col := -1
		for s.isBlank(o) || s.isBreak(o) {
			if s.isBlank(o) {
				if !leadingBlanks {
					spaces = append(spaces, b[o])
				}
				o++
				if col >= 0 {
					col++
				}
				continue
			}
			if !leadingBlanks {
				spaces = spaces[:0]
				leadingBlanks = true
			}
			breaks++
			o += s.breakLen(o)
			col = 0
		}
		if col == 0 && s.docIndicator(o) {
			break
		}
		if !flow && col >= 0 && col < indent+1 {
			break
		}
	}
	return end, string(value)
}

// blockScalar scans a literal or folded scalar as
// yaml_parser_scan_block_scalar does: its header, then the lines that
// belong to it.
func (s *source) blockScalar(sc *span) error {
	b := s.b
	o := sc.start + 1
	increment := 0
	for range 2 {
		if o >= len(b) {
			break
		}
		switch c := b[o]; {
		case c == '+' || c == '-':
			o++
		case c >= '1' && c <= '9':
			increment = int(c - '0')
			o++
		}
	}
	sc.end = o
	sc.bodyFrom = s.lineEnd(o)
	sc.bodyTo = sc.bodyFrom
	indent := 0
	if increment > 0 {
		if sc.indent >= 0 {
			indent = sc.indent + increment
		} else {
			indent = increment
		}
	}
	o = sc.bodyFrom + s.breakLen(sc.bodyFrom)
	if sc.bodyFrom == len(b) {
		return nil
	}
	o, col := s.blockBreaks(o, &indent, sc.indent)
	for col == indent && o < len(b) {
		e := s.lineEnd(o)
		sc.bodyTo = e
		o = e + s.breakLen(e)
		if e == len(b) {
			break
		}
		o, col = s.blockBreaks(o, &indent, sc.indent)
	}
	return nil
}

// blockBreaks eats indentation and empty lines from o, a line start, and
// settles an undetermined indentation; it returns where the next content
// starts and its column.
func (s *source) blockBreaks(o int, indent *int, parent int) (int, int) {
	b := s.b
	maxIndent, col := 0, 0
	for {
		col = 0
		for (*indent == 0 || col < *indent) && o < len(b) && b[o] == ' ' {
			o++
			col++
		}
		maxIndent = max(maxIndent, col)
		if !s.isBreak(o) {
			break
		}
		o += s.breakLen(o)
	}
	if *indent == 0 {
		*indent = max(maxIndent, parent+1, 1)
	}
	return o, col
}

// lex goes through the text between the scalars. Only indentation,
// indicators, comments and document markers may be there.
func (l *layout) lex() error {
	s := l.src
	b := s.b
	type region struct{ from, to int }
	regions := prefault.Make[region](0, len(l.ordered)+8)
	for _, sc := range l.ordered {
		if sc.empty {
			continue
		}
		regions = append(regions, region{sc.from, sc.end})
		if sc.block && sc.bodyTo > sc.bodyFrom {
			regions = append(regions, region{sc.bodyFrom, sc.bodyTo})
		}
	}
	sort.Slice(regions, func(i, j int) bool { return regions[i].from < regions[j].from })
	o := s.lines[0]
	for _, r := range regions {
		if r.from < o {
			return refuse("line %d: scalars overlap", s.lineOf(r.from))
		}
		if err := l.lexGap(o, r.from); err != nil {
			return err
		}
		o = r.to
	}
	return l.lexGap(o, len(b))
}

func (l *layout) lexGap(o, to int) error {
	s := l.src
	b := s.b
	for o < to {
		c := b[o]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			o++
		case c == '#':
			e := s.lineEnd(o)
			if e > to {
				return refuse("line %d: a comment runs into a scalar", s.lineOf(o))
			}
			l.comments = append(l.comments, comment{o, e})
			o = e
		case (c == '-' || c == '.') && s.lineStart(o) == o && s.docIndicator(o):
			if o+3 > to {
				return refuse("line %d: a document marker runs into a scalar", s.lineOf(o))
			}
			l.markers = append(l.markers, marker{o, c == '-'})
			o += 3
		case c == '-' || c == '?':
			if !s.isBlankz(o + 1) {
				return refuse("line %d: unexpected %q", s.lineOf(o), c)
			}
			o++
		case c == ':' || c == ',' || c == '[' || c == ']' || c == '{' || c == '}':
			o++
		default:
			r, _ := utf8.DecodeRune(b[o:])
			return refuse("line %d: %q is not preserved", s.lineOf(o), r)
		}
	}
	return nil
}

// commentText is the text of a comment as yaml.v3 reads it: everything
// after the '#' to the end of the line.
func (l *layout) commentText(c comment) string { return string(l.src.b[c.hash+1 : c.end]) }
