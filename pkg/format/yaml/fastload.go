package yaml

import (
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/kura-secrets/kura/internal/arena"
	"github.com/kura-secrets/kura/internal/ascii8"
	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// fastLoad parses the plain subset of YAML that sops writes (and that most
// hand-written secrets files use) straight into tree documents, without
// building yaml.v3 nodes. It gives exactly the documents that the yaml.v3
// path of LoadPlain gives, or ok=false when the input leaves the subset or
// might: the caller then takes the yaml.v3 path, which also reports errors.
//
// The subset: block mappings and sequences (compact "- key: value" too),
// plain scalars on one line, single- and double-quoted scalars on one line,
// literal and folded block scalars, the empty flow collections {} and [],
// "---" document separators, and comments where yaml.v3's attachment is
// known: trailing comments on scalar entries and on keys of nested blocks,
// and full-line comments at the column of the block they end up in.
// Anchors, aliases, tags, directives, complex keys, merge keys, duplicate
// keys, tabs, carriage returns, byte order marks and everything else fall
// back.
func fastLoad(data []byte) (docs []tree.Document, ok bool) {
	return fastLoadData(data, false)
}

// fastLoadData is fastLoad; shared leaves the tree's strings pointing into
// data (format.SharedLoader).
func fastLoadData(data []byte, shared bool) (docs []tree.Document, ok bool) {
	if len(data) == 0 {
		return nil, false
	}
	// The parser reads data in place: a string copy of a large file costs
	// a page fault for every page of fresh memory it touches. Unless
	// shared, the strings the tree keeps are cloned at the end, so it
	// never shares memory with data.
	p := fastParser{src: unsafe.String(unsafe.SliceData(data), len(data))} // #nosec G103 -- read only; kept strings are cloned unless the caller shares data (format.SharedLoader)
	if !p.scanLines() {
		return nil, false
	}
	docs, ok = p.documents()
	if !ok || p.fail || len(docs) == 0 {
		return nil, false
	}
	if !shared {
		for _, d := range docs {
			cloneItemStrings(d)
		}
	}
	return docs, true
}

// cloneItemStrings gives every string of a tree its own memory.
func cloneItemStrings(items []tree.Item) {
	for i := range items {
		cloneValueStrings(&items[i].Key)
		cloneValueStrings(&items[i].Value)
	}
}

func cloneValueStrings(v *tree.Value) {
	switch v.Kind {
	case tree.Map:
		cloneItemStrings(v.Items())
	case tree.List:
		for i := range v.Elems() {
			cloneValueStrings(&v.Elems()[i])
		}
	default:
		v.Str = strings.Clone(v.Str)
	}
}

// Line kinds.
const (
	flBlank   = iota // empty or only spaces
	flComment        // first non-space is '#'
	flContent
	flDocStart // exactly "---"
)

type fastLine struct {
	start, end int32 // the line's bytes, without its line break
	indent     int32 // leading spaces
	kind       uint8
	tab        bool // the line holds a tab
}

type fastParser struct {
	src   string
	lines []fastLine
	// i is the next line to read; limit is the end of the current
	// document's lines.
	i, limit int
	// pend holds the full-line comments read past but not yet placed.
	pend []int
	// Scratch stacks that collections build their contents on.
	items []tree.Item
	elems []tree.Value
	keys  []string
	depth int
	fail  bool
	// closedAt is the line that last closed a block, by dedenting.
	closedAt int
	// noFinalBreak: the last line has no line break after it.
	noFinalBreak bool

	// withNodes also builds the yaml.v3 nodes of the text, with the
	// positions and styles the layout writer reads (fastLayout): node is
	// the node of the value parsed last, nodes the scratch stack of the
	// collections being built, docNodes the documents' nodes, slab where
	// nodes are allocated.
	// The entries of nested collections are carved from arenas: one
	// allocation for many small maps and lists.
	itemArena arena.Arena[tree.Item]
	elemArena arena.Arena[tree.Value]

	withNodes bool
	node      *yaml.Node
	nodes     []*yaml.Node
	docNodes  []*yaml.Node
	slab      []yaml.Node
}

const fastMaxDepth = 200

// scanLines splits the input into lines and refuses input whose bytes
// leave the subset: tabs, carriage returns, control characters, invalid
// UTF-8 and the non-ASCII characters yaml.v3 treats specially, and long
// runs of spaces (yaml.v3 looks only 512 bytes ahead for comments).
func (p *fastParser) scanLines() bool {
	s := p.src
	if len(s) > 1<<30 {
		return false
	}
	n := strings.Count(s, "\n") + 1
	p.lines = prefault.Make[fastLine](0, n)
	start := 0
	for start < len(s) {
		indent := 0
		for start+indent < len(s) && s[start+indent] == ' ' {
			indent++
		}
		j := start + indent
		spaces := 0
		tab := false
		for ; j < len(s); j++ {
			// Eight bytes at a time where all are printable ASCII
			// other than a space: most of a line's text, and all of
			// an ENC value's. The byte loop was a twelfth of
			// decrypting a large YAML file.
			for j+8 <= len(s) {
				if w := ascii8.Load(s, j); !ascii8.Printable(w) || ascii8.Has(w, ' ') {
					break
				}
				spaces = 0
				j += 8
			}
			if j == len(s) {
				break
			}
			c := s[j]
			if c == '\n' {
				break
			}
			if c == ' ' {
				spaces++
				if spaces > 256 {
					return false
				}
				continue
			}
			spaces = 0
			if c == '\t' {
				tab = true
				continue
			}
			if c < 0x20 || c == 0x7f {
				return false
			}
			if c >= 0x80 {
				r, size := utf8.DecodeRuneInString(s[j:])
				if r == utf8.RuneError || r < 0xa0 || r == 0x2028 || r == 0x2029 || r >= 0xfeff && r <= 0xffff && (r == 0xfeff || r >= 0xfffe) {
					return false
				}
				j += size - 1
			}
		}
		if indent > 256 {
			return false
		}
		ln := fastLine{start: int32(start), end: int32(j), indent: int32(indent), tab: tab}
		text := s[start:j]
		switch {
		case indent == len(text):
			ln.kind = flBlank
		case text[indent] == '#':
			ln.kind = flComment
		case text == "---":
			ln.kind = flDocStart
		case strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || text[0] == '%':
			return false
		default:
			ln.kind = flContent
		}
		p.lines = append(p.lines, ln)
		if j == len(s) {
			p.noFinalBreak = true
		}
		start = j + 1
	}
	return true
}

// documents splits the stream at "---" lines and parses each document.
func (p *fastParser) documents() ([]tree.Document, bool) {
	var docs []tree.Document
	from := 0
	for k := 0; k <= len(p.lines); k++ {
		if k < len(p.lines) && p.lines[k].kind != flDocStart {
			continue
		}
		marker := k < len(p.lines)
		// The lines before the first marker are a document only when
		// they hold content.
		blank, comment := true, false
		for _, ln := range p.lines[from:k] {
			if ln.kind != flBlank {
				blank = false
				comment = ln.kind == flComment
			}
		}
		if !marker && from == 0 && blank {
			return nil, false
		}
		if marker && comment {
			// Comments just before a "---" follow rules of their own.
			return nil, false
		}
		if from > 0 || !blank || !marker {
			p.node = nil
			doc, ok := p.document(from, k)
			if !ok {
				return nil, false
			}
			if p.withNodes {
				if p.node == nil {
					// An empty document: yaml.v3 places its null by
					// rules the layout writer leaves to it.
					return nil, false
				}
				p.docNodes = append(p.docNodes, &yaml.Node{Kind: yaml.DocumentNode, Line: p.node.Line, Column: p.node.Column, Content: []*yaml.Node{p.node}})
			}
			docs = append(docs, doc)
		}
		from = k + 1
	}
	return docs, true
}

// document parses the lines [from, to).
func (p *fastParser) document(from, to int) (tree.Document, bool) {
	p.i, p.limit = from, to
	p.pend = p.pend[:0]
	n := p.nextContent()
	if n < 0 {
		// An empty document; comments in it fall back.
		if len(p.pend) > 0 {
			return nil, false
		}
		return tree.Document{}, true
	}
	if from > 0 && len(p.pend) > 0 {
		// Comments just after a "---" and set apart by a blank line follow
		// rules of their own.
		for k := p.pend[0]; k < n; k++ {
			if p.lines[k].kind == flBlank {
				return nil, false
			}
		}
	}
	ln := p.lines[n]
	col := int(ln.indent)
	off := int(ln.start) + col
	if !p.isKey(off, int(ln.end)) {
		return nil, false
	}
	v := p.mapping(col, off, true, false)
	if p.fail {
		return nil, false
	}
	if p.nextContent() >= 0 || len(p.pend) > 0 {
		// Content after the top-level mapping, or comments it did not
		// take.
		return nil, false
	}
	return tree.Document(v.Items()), true
}

// nextContent moves past blank and comment lines, noting the comments as
// pending, and returns the index of the next content line, or -1 at the
// end of the document.
func (p *fastParser) nextContent() int {
	for p.i < p.limit {
		if p.lines[p.i].tab {
			// Tabs are taken only inside block scalars.
			p.bail()
			return -1
		}
		switch p.lines[p.i].kind {
		case flBlank:
		case flComment:
			p.pend = append(p.pend, p.i)
		default:
			return p.i
		}
		p.i++
	}
	return -1
}

// commentText is a comment line's text after its '#'.
func (p *fastParser) commentText(i int) string {
	ln := p.lines[i]
	return p.src[int(ln.start)+int(ln.indent)+1 : ln.end]
}

// takeItems moves the pending comments at column col, from the front, into
// the items stack; all says every pending comment must be taken.
func (p *fastParser) takeItems(col int, all bool) {
	k := 0
	for ; k < len(p.pend); k++ {
		i := p.pend[k]
		if int(p.lines[i].indent) != col {
			break
		}
		p.items = append(p.items, tree.CommentItem(p.commentText(i), false))
	}
	p.pend = p.pend[:copy(p.pend, p.pend[k:])]
	if all && len(p.pend) > 0 {
		p.bail()
	}
}

func (p *fastParser) takeElems(col int, all bool) {
	k := 0
	for ; k < len(p.pend); k++ {
		i := p.pend[k]
		if int(p.lines[i].indent) != col {
			break
		}
		p.elems = append(p.elems, tree.CommentV(p.commentText(i), false))
	}
	p.pend = p.pend[:copy(p.pend, p.pend[k:])]
	if all && len(p.pend) > 0 {
		p.bail()
	}
}

// takeClosing gives a block that line n closes the pending comments at its
// column. When a deeper block closed at the same line, yaml.v3 gives them
// to the deepest block: fall back.
func (p *fastParser) takeClosing(n, col int, seq bool) {
	if p.closedAt == n+1 && len(p.pend) > 0 && int(p.lines[p.pend[0]].indent) == col {
		p.bail()
		return
	}
	p.closedAt = n + 1
	if len(p.pend) > 0 && int(p.lines[p.pend[0]].indent) == col {
		// Blank lines split comments between the closing block and what
		// follows it.
		for k := p.pend[0]; k < n; k++ {
			if p.lines[k].kind == flBlank {
				p.bail()
				return
			}
		}
	}
	if seq {
		p.takeElems(col, false)
	} else {
		p.takeItems(col, false)
	}
}

// lineEnd returns the end of the current line.
func (p *fastParser) lineEnd() int { return int(p.lines[p.i].end) }

// isKey reports whether a mapping key starts at off on the current line.
func (p *fastParser) isKey(off, end int) bool {
	_, _, after, ok := p.scanKey(off, end)
	return ok && after >= 0
}

// scanKey reads a key at off: its raw text, whether it was quoted, and the
// offset after its ':' (-1 when there is no key there).
func (p *fastParser) scanKey(off, end int) (raw string, quoted bool, after int, ok bool) {
	s := p.src
	c := s[off]
	if c == '"' || c == '\'' {
		v, next, ok := p.quoted(off, end)
		if !ok {
			return "", false, -1, false
		}
		for next < end && s[next] == ' ' {
			next++
		}
		if next < end && s[next] == ':' && (next+1 == end || s[next+1] == ' ') {
			return v, true, next + 1, true
		}
		return "", false, -1, true
	}
	if !plainStart(s, off, end) {
		return "", false, -1, true
	}
	for j := off; j < end; j++ {
		switch s[j] {
		case ':':
			if j+1 == end || s[j+1] == ' ' {
				k := j
				for k > off && s[k-1] == ' ' {
					k--
				}
				if k-off > 1000 {
					return "", false, -1, false
				}
				return s[off:k], false, j + 1, true
			}
		case '#':
			if s[j-1] == ' ' {
				return "", false, -1, true
			}
		}
	}
	return "", false, -1, true
}

// plainStart reports whether a plain scalar may start at off.
func plainStart(s string, off, end int) bool {
	switch s[off] {
	case '-', '?', ':':
		// "-x" is a plain scalar; "- " is a sequence entry. '?' and ':'
		// fall back.
		return s[off] == '-' && off+1 < end && s[off+1] != ' '
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	}
	return true
}

// isDash reports whether a sequence entry starts at off.
func isDash(s string, off, end int) bool {
	return s[off] == '-' && (off+1 == end || s[off+1] == ' ')
}

// mapping parses a block mapping whose first key starts at offset off of
// the current line, at column col.
func (p *fastParser) mapping(col, off int, top, compact bool) tree.Value {
	p.depth++
	if p.depth > fastMaxDepth {
		p.bail()
		return tree.Value{}
	}
	base := len(p.items)
	kbase := len(p.keys)
	nbase, first, firstOff := len(p.nodes), p.i, off
	var seen map[string]struct{}
	p.takeItems(col, true)
	for !p.fail {
		end := p.lineEnd()
		raw, quoted, after, ok := p.scanKey(off, end)
		if !ok || after < 0 {
			p.bail()
			break
		}
		// Duplicate keys are errors in the first document and kept in
		// others; either way the yaml.v3 path decides.
		if seen != nil {
			if _, dup := seen[raw]; dup {
				p.bail()
				break
			}
			seen[raw] = struct{}{}
		} else {
			for _, k := range p.keys[kbase:] {
				if k == raw {
					p.bail()
					break
				}
			}
			p.keys = append(p.keys, raw)
			if len(p.keys)-kbase > 16 {
				seen = make(map[string]struct{}, 64)
				for _, k := range p.keys[kbase:] {
					seen[k] = struct{}{}
				}
				p.keys = p.keys[:kbase]
			}
		}
		var key tree.Value
		if quoted {
			key = tree.Str(raw)
		} else {
			if raw == "<<" || raw == "" {
				p.bail()
				break
			}
			key = p.resolve(raw)
		}
		line := p.i
		var keyNode *yaml.Node
		if p.withNodes {
			style := yaml.Style(0)
			switch {
			case quoted && p.src[off] == '"':
				style = yaml.DoubleQuotedStyle
			case quoted:
				style = yaml.SingleQuotedStyle
			}
			keyNode = p.scalarNode(line, off, style, raw)
		}
		p.i++
		v := p.entryValue(col, after, end, line, false)
		if p.fail {
			break
		}
		p.items = append(p.items, tree.Item{Key: key, Value: v})
		if p.withNodes {
			p.nodes = append(p.nodes, keyNode, p.node)
		}
		// The next entry, or the end of the mapping.
		n := p.nextContent()
		if v.Kind == tree.Null && len(p.pend) > 0 {
			// Comments after a null value: yaml.v3 places them by rules
			// of their own.
			p.bail()
			break
		}
		if n < 0 {
			// At the end of the document yaml.v3 moves the comments of
			// nested blocks around by blank lines: only the top level
			// takes its comments here.
			if top {
				p.takeItems(col, true)
			} else if len(p.pend) > 0 {
				p.bail()
			}
			break
		}
		ln := p.lines[n]
		ind := int(ln.indent)
		if ind < col {
			if compact && len(p.pend) > 0 {
				// yaml.v3 places comments after a "- key: value"
				// mapping by rules of its own.
				p.bail()
				break
			}
			p.takeClosing(n, col, false)
			break
		}
		if ind > col {
			p.bail()
			break
		}
		p.takeItems(col, true)
		off = int(ln.start) + col
	}
	p.keys = p.keys[:kbase]
	p.depth--
	if p.fail {
		p.items = p.items[:base]
		p.nodes = p.nodes[:nbase]
		return tree.Value{}
	}
	if p.withNodes {
		p.collectionNode(yaml.MappingNode, first, firstOff, nbase)
	}
	if top {
		// The document's mapping keeps the scratch stack itself.
		items := p.items[base:len(p.items):len(p.items)]
		p.items = nil
		return tree.MapV(items)
	}
	items := p.itemArena.Take(len(p.items) - base)
	copy(items, p.items[base:])
	p.items = p.items[:base]
	return tree.MapV(items)
}

// sequence parses a block sequence whose first "-" is at offset off of the
// current line, at column col. inMap says it is the value of a key at the
// same column.
func (p *fastParser) sequence(col, off int, inMap, compact bool) tree.Value {
	p.depth++
	if p.depth > fastMaxDepth {
		p.bail()
		return tree.Value{}
	}
	base := len(p.elems)
	nbase, first, firstOff := len(p.nodes), p.i, off
	p.takeElems(col, true)
	for !p.fail {
		end := p.lineEnd()
		line := p.i
		p.i++
		afterComment := len(p.elems) > base && p.elems[len(p.elems)-1].Kind == tree.Comment
		v := p.entryValue(col, off+1, end, line, true)
		if p.fail {
			break
		}
		p.elems = append(p.elems, v)
		if p.withNodes {
			p.nodes = append(p.nodes, p.node)
		}
		n := p.nextContent()
		if v.Kind == tree.Null && (afterComment || len(p.pend) > 0) {
			// yaml.v3 drops or moves the comments around a null entry.
			p.bail()
			break
		}
		if n < 0 {
			if len(p.pend) > 0 {
				p.bail()
			}
			break
		}
		ln := p.lines[n]
		ind := int(ln.indent)
		if ind < col {
			if compact && len(p.pend) > 0 {
				p.bail()
				break
			}
			p.takeClosing(n, col, true)
			break
		}
		if ind > col {
			p.bail()
			break
		}
		off = int(ln.start) + col
		if !isDash(p.src, off, int(ln.end)) {
			if !inMap {
				p.bail()
				break
			}
			// Comments before the next key of the mapping go to it or to
			// the sequence, by blank lines: fall back.
			if len(p.pend) > 0 && int(p.lines[p.pend[0]].indent) == col {
				p.bail()
			}
			break
		}
		p.takeElems(col, true)
	}
	p.depth--
	if p.fail {
		p.elems = p.elems[:base]
		p.nodes = p.nodes[:nbase]
		return tree.Value{}
	}
	if p.withNodes {
		p.collectionNode(yaml.SequenceNode, first, firstOff, nbase)
	}
	elems := p.elemArena.Take(len(p.elems) - base)
	copy(elems, p.elems[base:])
	p.elems = p.elems[:base]
	return tree.ListV(elems)
}

// appendLead places a comment that goes before an entry: into the mapping
// or the sequence being built.
func (p *fastParser) appendLead(inSeq bool, text string, inline bool) {
	if inSeq {
		p.elems = append(p.elems, tree.CommentV(text, inline))
	} else {
		p.items = append(p.items, tree.CommentItem(text, inline))
	}
}

// entryValue parses the value of a mapping entry (after its ':') or of a
// sequence entry (after its '-'), starting at offset off of line, which
// ends at end; p.i is already past line. col is the column of the
// collection the entry belongs to.
func (p *fastParser) entryValue(col, off, end, line int, inSeq bool) tree.Value {
	s := p.src
	for off < end && s[off] == ' ' {
		off++
	}
	if off == end || s[off] == '#' {
		// The value is on the following lines, or null.
		var comment string
		hasComment := off < end
		if hasComment {
			if inSeq {
				// yaml.v3 moves a comment after a lone "-" around.
				p.bail()
				return tree.Value{}
			}
			comment = s[off+1 : end]
		}
		n := p.nextContent()
		if n >= 0 {
			ln := p.lines[n]
			ind := int(ln.indent)
			noff := int(ln.start) + ind
			nend := int(ln.end)
			if ind > col || ind == col && !inSeq && isDash(s, noff, nend) {
				if hasComment {
					p.appendLead(inSeq, comment, false)
				}
				if isDash(s, noff, nend) {
					return p.sequence(ind, noff, ind == col, false)
				}
				if !p.isKey(noff, nend) {
					p.bail()
					return tree.Value{}
				}
				return p.mapping(ind, noff, false, false)
			}
		}
		if hasComment {
			p.appendLead(inSeq, comment, false)
		}
		if p.withNodes {
			// (yaml.v3 places an empty node at the next token; the
			// layout writer does not read its position)
			p.node = p.scalarNode(line, off, 0, "")
			p.node.Tag = "!!null"
		}
		return tree.Value{}
	}
	var v tree.Value
	var next int
	switch c := s[off]; {
	case c == '"' || c == '\'':
		str, nx, ok := p.quoted(off, end)
		if !ok {
			p.bail()
			return tree.Value{}
		}
		v, next = tree.Str(str), nx
		if p.withNodes {
			style := yaml.DoubleQuotedStyle
			if c == '\'' {
				style = yaml.SingleQuotedStyle
			}
			p.node = p.scalarNode(line, off, style, str)
		}
	case c == '|' || c == '>':
		v := p.blockScalar(col, off, end)
		if p.withNodes && !p.fail {
			style := yaml.LiteralStyle
			if c == '>' {
				style = yaml.FoldedStyle
			}
			p.node = p.scalarNode(line, off, style, v.Str)
		}
		return v
	case c == '{' || c == '[':
		if off+1 >= end || s[off+1] != c+2 {
			p.bail()
			return tree.Value{}
		}
		if c == '{' {
			v = tree.MapV([]tree.Item{})
		} else {
			v = tree.ListV([]tree.Value{})
		}
		if p.withNodes {
			p.node = p.scalarNode(line, off, yaml.FlowStyle, "")
			p.node.Kind = yaml.MappingNode
			if c == '[' {
				p.node.Kind = yaml.SequenceNode
			}
		}
		next = off + 2
		// A comment after a flow collection lands inside it.
		for k := next; k < end; k++ {
			if s[k] != ' ' {
				p.bail()
				return tree.Value{}
			}
		}
	case inSeq && isDash(s, off, end):
		p.i = line
		return p.sequence(off-p.lineStart(line), off, false, true)
	default:
		if inSeq {
			if _, _, after, ok := p.scanKey(off, end); !ok {
				p.bail()
				return tree.Value{}
			} else if after >= 0 {
				// A compact mapping: "- key: value".
				p.i = line
				return p.mapping(off-p.lineStart(line), off, false, true)
			}
		}
		if !plainStart(s, off, end) {
			p.bail()
			return tree.Value{}
		}
		j := off
		for ; j < end; j++ {
			if s[j] == ':' && (j+1 == end || s[j+1] == ' ') {
				p.bail()
				return tree.Value{}
			}
			if s[j] == '#' && s[j-1] == ' ' {
				break
			}
		}
		k := j
		for s[k-1] == ' ' {
			k--
		}
		v, next = p.resolve(s[off:k]), j
		if p.withNodes {
			p.node = p.scalarNode(line, off, 0, s[off:k])
		}
	}
	for next < end && s[next] == ' ' {
		next++
	}
	if next < end {
		if s[next] != '#' || s[next-1] != ' ' {
			p.bail()
			return tree.Value{}
		}
		p.appendLead(inSeq, s[next+1:end], true)
	}
	// A scalar ends on its line: a more indented line after it would
	// continue it.
	if n := p.nextContent(); n >= 0 && int(p.lines[n].indent) > col {
		p.bail()
	}
	return v
}

func (p *fastParser) lineStart(i int) int { return int(p.lines[i].start) }

// quoted reads a single- or double-quoted scalar that ends on its line.
func (p *fastParser) quoted(off, end int) (string, int, bool) {
	s := p.src
	if s[off] == '\'' {
		j := off + 1
		esc := false
		for {
			k := strings.IndexByte(s[j:end], '\'')
			if k < 0 {
				return "", 0, false
			}
			j += k
			if j+1 < end && s[j+1] == '\'' {
				esc = true
				j += 2
				continue
			}
			break
		}
		v := s[off+1 : j]
		if esc {
			v = strings.ReplaceAll(v, "''", "'")
		}
		return v, j + 1, true
	}
	j := off + 1
	for j < end && s[j] != '"' && s[j] != '\\' {
		j++
	}
	if j < end && s[j] == '"' {
		return s[off+1 : j], j + 1, true
	}
	b := []byte(s[off+1 : j])
	for j < end {
		c := s[j]
		switch c {
		case '"':
			return string(b), j + 1, true
		case '\\':
			if j+1 >= end {
				return "", 0, false
			}
			e := s[j+1]
			j += 2
			switch e {
			case '0':
				b = append(b, 0)
			case 'a':
				b = append(b, '\a')
			case 'b':
				b = append(b, '\b')
			case 't':
				b = append(b, '\t')
			case 'n':
				b = append(b, '\n')
			case 'v':
				b = append(b, '\v')
			case 'f':
				b = append(b, '\f')
			case 'r':
				b = append(b, '\r')
			case 'e':
				b = append(b, 0x1b)
			case ' ', '"', '\\':
				b = append(b, e)
			case 'N':
				b = utf8.AppendRune(b, 0x85)
			case '_':
				b = utf8.AppendRune(b, 0xa0)
			case 'L':
				b = utf8.AppendRune(b, 0x2028)
			case 'P':
				b = utf8.AppendRune(b, 0x2029)
			case 'x', 'u', 'U':
				n := 2
				if e == 'u' {
					n = 4
				} else if e == 'U' {
					n = 8
				}
				if j+n > end {
					return "", 0, false
				}
				r, err := strconv.ParseUint(s[j:j+n], 16, 32)
				if err != nil || r >= 0xd800 && r <= 0xdfff || r > 0x10ffff || strings.ContainsAny(s[j:j+n], "+-_") {
					return "", 0, false
				}
				b = utf8.AppendRune(b, rune(r))
				j += n
			default:
				return "", 0, false
			}
		default:
			b = append(b, c)
			j++
		}
	}
	return "", 0, false
}

// blockScalar reads a literal or folded scalar whose header starts at off
// of the previous line (p.i is past it). col is the column of the
// collection holding the entry.
func (p *fastParser) blockScalar(col, off, end int) tree.Value {
	s := p.src
	literal := s[off] == '|'
	chomp := 0
	increment := 0
	j := off + 1
	for ; j < end; j++ {
		c := s[j]
		switch {
		case (c == '+' || c == '-') && chomp == 0:
			if c == '+' {
				chomp = 1
			} else {
				chomp = -1
			}
		case c >= '1' && c <= '9' && increment == 0:
			increment = int(c - '0')
		default:
			goto header
		}
	}
header:
	for ; j < end; j++ {
		if s[j] != ' ' {
			// Comments after the header, or anything else, fall back.
			p.bail()
			return tree.Value{}
		}
	}
	indent := 0
	if increment > 0 {
		indent = col + increment
	}
	// Leading empty lines, and the indentation when it is not given.
	i := p.i
	maxBlank := 0
	if indent == 0 {
		k := i
		for ; k < p.limit; k++ {
			ln := p.lines[k]
			if ln.kind != flBlank {
				break
			}
			maxBlank = max(maxBlank, int(ln.end-ln.start))
		}
		indent = maxBlank
		if k < p.limit {
			ind := int(p.lines[k].indent)
			if maxBlank > ind || p.src[int(p.lines[k].start)+ind] == '\t' {
				p.bail()
				return tree.Value{}
			}
			indent = ind
		}
		if indent < col+1 {
			indent = col + 1
		}
	}
	// The text is at most the block's lines with their breaks: sized
	// once, a long block (a PEM certificate) is not copied at every
	// doubling, which cost eight times its size in allocations.
	size := 0
	for k := i; k < p.limit; k++ {
		ln := p.lines[k]
		n := int(ln.end - ln.start)
		if int(ln.indent) < indent && int(ln.indent) < n {
			break
		}
		size += n + 1
	}
	b := make([]byte, 0, size)
	var leadingBreak, trailingBreaks int
	leadingBlank := false
	started := false
	for ; i < p.limit; i++ {
		ln := p.lines[i]
		text := s[ln.start:ln.end]
		sp := int(ln.indent)
		if sp < indent && sp < len(text) {
			if text[sp] == '\t' {
				p.bail()
				return tree.Value{}
			}
			break // a less indented line ends the scalar
		}
		last := i == len(p.lines)-1 && p.noFinalBreak
		if len(text) <= indent {
			// An empty line.
			if !last {
				trailingBreaks++
			}
			continue
		}
		content := text[indent:]
		trailingBlank := content[0] == ' ' || content[0] == '\t'
		if started {
			if !literal && leadingBreak == 1 && !leadingBlank && !trailingBlank {
				if trailingBreaks == 0 {
					b = append(b, ' ')
				}
			} else {
				for range leadingBreak {
					b = append(b, '\n')
				}
			}
		}
		for range trailingBreaks {
			b = append(b, '\n')
		}
		trailingBreaks = 0
		leadingBreak = 0
		leadingBlank = trailingBlank
		b = append(b, content...)
		started = true
		if !last {
			leadingBreak = 1
		}
	}
	p.i = i
	if chomp != -1 {
		for range leadingBreak {
			b = append(b, '\n')
		}
		if chomp == 1 {
			for range trailingBreaks {
				b = append(b, '\n')
			}
		}
	}
	if n := p.nextContent(); n >= 0 && int(p.lines[n].indent) > col {
		p.bail()
	}
	if len(b) == 0 {
		return tree.Str("")
	}
	// b is not used after this: the string takes its memory rather than
	// a copy, as strings.Builder does.
	return tree.Str(unsafe.String(&b[0], len(b))) // #nosec G103 -- b is never written again
}

// resolve types a plain scalar as yaml.v3 does when it decodes into an
// interface{}. The common forms are done here; the rest go through the
// same code the yaml.v3 path uses.
func (p *fastParser) resolve(s string) tree.Value {
	switch c := s[0]; {
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		if v, ok := fastNumber(s); ok {
			return v
		}
	case strings.IndexByte("yYnNtTfFoO~<", c) >= 0:
		switch s {
		case "true", "True", "TRUE":
			return tree.BoolV(true)
		case "false", "False", "FALSE":
			return tree.BoolV(false)
		case "~", "null", "Null", "NULL":
			return tree.Value{}
		case "<<":
			p.bail()
			return tree.Value{}
		}
		return tree.Str(s)
	default:
		return tree.Str(s)
	}
	n := yaml.Node{Kind: yaml.ScalarNode, Value: s}
	n.Tag = n.ShortTag()
	if n.Tag == "!!merge" {
		p.bail()
		return tree.Value{}
	}
	v, err := scalar(&n)
	if err != nil {
		p.bail()
		return tree.Value{}
	}
	return v
}

// fastNumber types the common numbers: decimal integers without leading
// zeros and decimals like 1.5.
func fastNumber(s string) (tree.Value, bool) {
	i := 0
	if s[0] == '-' {
		i = 1
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if digits == 0 {
		return tree.Value{}, false
	}
	if i == len(s) {
		if digits > 18 || digits > 1 && s[len(s)-digits] == '0' {
			return tree.Value{}, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return tree.IntV(n), err == nil
	}
	if s[i] != '.' || i+1 == len(s) {
		return tree.Value{}, false
	}
	for i++; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return tree.Value{}, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return tree.FloatV(f), err == nil
}

// fastBailHook, when set (by tests), is told where fastLoad gave up.
var fastBailHook func()

func (p *fastParser) bail() {
	p.fail = true
	if fastBailHook != nil {
		fastBailHook()
	}
}

// fastLayout is fastLoadData (in place) that also builds the yaml.v3
// document nodes of data, with the kinds, styles, values, lines and
// columns yaml.v3's parser gives: what the layout writer reads to find
// where each value is, for a fraction of the cost of the library's parse.
// (TestFastLayoutMatchesYAML and FuzzFastLayout compare the two.)
func fastLayout(data []byte) (nodes []*yaml.Node, docs []tree.Document, ok bool) {
	if len(data) == 0 {
		return nil, nil, false
	}
	p := fastParser{src: unsafe.String(unsafe.SliceData(data), len(data)), withNodes: true} // #nosec G103 -- read only; the caller keeps data unchanged while it uses the tree
	if !p.scanLines() {
		return nil, nil, false
	}
	docs, ok = p.documents()
	if !ok || p.fail || len(docs) == 0 || len(p.docNodes) != len(docs) {
		return nil, nil, false
	}
	return p.docNodes, docs, true
}

// newNode returns a node from a slab: one allocation for many nodes.
func (p *fastParser) newNode() *yaml.Node {
	if len(p.slab) == cap(p.slab) {
		p.slab = prefault.Make[yaml.Node](0, min(max(2*cap(p.slab), 64), 2048))
	}
	p.slab = p.slab[:len(p.slab)+1]
	return &p.slab[len(p.slab)-1]
}

// scalarNode returns a scalar node at offset off of line.
func (p *fastParser) scalarNode(line, off int, style yaml.Style, value string) *yaml.Node {
	n := p.newNode()
	n.Kind, n.Style, n.Value = yaml.ScalarNode, style, value
	n.Line, n.Column = line+1, p.column(line, off)
	return n
}

// column is yaml.v3's column of offset off of line: characters from 1.
func (p *fastParser) column(line, off int) int {
	return utf8.RuneCountInString(p.src[p.lineStart(line):off]) + 1
}

// collectionNode makes p.node a block mapping or sequence starting at
// offset off of line, holding the nodes stacked from nbase.
func (p *fastParser) collectionNode(kind yaml.Kind, line, off, nbase int) {
	n := p.newNode()
	n.Kind = kind
	n.Line, n.Column = line+1, p.column(line, off)
	n.Content = make([]*yaml.Node, len(p.nodes)-nbase)
	copy(n.Content, p.nodes[nbase:])
	p.nodes = p.nodes[:nbase]
	p.node = n
}
