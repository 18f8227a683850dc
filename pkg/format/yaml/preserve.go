package yaml

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// Preserving writers.
//
// sops writes every YAML file anew: its own indentation, quoting and block
// style. The writers below instead edit the text the tree was loaded from:
// each scalar whose value changed is replaced in its own place, each
// comment whose text changed gets the new text after its '#', and the
// metadata block is appended to (or removed from) every document.
// Everything else - indentation, blank lines, key quoting, flow
// collections, document markers, comments - stays byte for byte.
//
// Every result is parsed back and compared with the tree it must hold,
// comments included: when anything differs, or the text uses something
// these writers do not follow (anchors and aliases, which sops expands
// into copies encrypted per path; tags on collections; directives...),
// they report ok=false and the caller writes the file the sops way.

// EmitEncryptedPreserving writes an encrypted file in the layout of
// original, the text docs were loaded from (plaintext, or an encrypted
// file whose "sops" entries it replaces), with docs now holding the
// encrypted values and comments and meta the metadata to append to every
// document. ok=false means the caller must use EmitEncrypted instead.
func EmitEncryptedPreserving(original []byte, docs []tree.Document, meta []tree.Item) (out []byte, ok bool) {
	out, err := emitEncryptedPreserving(original, docs, meta)
	return out, err == nil
}

// EmitPlainPreserving writes the decrypted documents of an encrypted file
// in the layout of its text: each ENC value becomes the plaintext value
// (written as EmitPlain writes it: plain where it reads back the same,
// quoted otherwise, a literal block for several lines), each encrypted
// comment its text, and the "sops" entries are removed. docs must have
// the structure of the file. ok=false means the caller must use EmitPlain.
func EmitPlainPreserving(encryptedText []byte, docs []tree.Document) ([]byte, bool) {
	out, err := emitPlainPreserving(encryptedText, docs)
	return out, err == nil
}

// EmitEncryptedLike is EmitEncryptedPreserving: Store is a
// format.LayoutKeeper. A Store with an Indent set (stores.yaml.indent,
// --indent) writes with that indentation instead, so it keeps no layout.
func (s Store) EmitEncryptedLike(original []byte, docs []tree.Document, meta []tree.Item) ([]byte, bool) {
	if s.Indent != 0 {
		return nil, false
	}
	return EmitEncryptedPreserving(original, docs, meta)
}

// EmitPlainLike is EmitPlainPreserving, but for a Store with an Indent.
func (s Store) EmitPlainLike(encrypted []byte, docs []tree.Document) ([]byte, bool) {
	if s.Indent != 0 {
		return nil, false
	}
	return EmitPlainPreserving(encrypted, docs)
}

var _ format.LayoutKeeper = Store{}

// errSkip marks a variant of the output that would be the same as one
// already tried.
var errSkip = errors.New("same as another variant")

func emitEncryptedPreserving(original []byte, docs []tree.Document, meta []tree.Item) ([]byte, error) {
	if meta == nil {
		return nil, errors.New("no metadata")
	}
	for _, d := range docs {
		if format.HasTopLevelKey(d, format.MetadataKey) {
			return nil, errors.New("the documents hold a sops entry")
		}
	}
	p, err := prepare(original, docs)
	if err != nil {
		return nil, err
	}
	block, err := metadataBlock(meta, p.width)
	if err != nil {
		return nil, err
	}
	// yaml.v3 attaches a comment at the end of a document to one entry
	// or another depending on what follows it: the metadata goes at the
	// end of each document, or else before its trailing comments, or else
	// after a blank line, whichever loads back to the same tree.
	places := make([]placement, len(p.docs))
	var first error
	for {
		out, edits, err := p.buildEdits(block, places, keepAll)
		if err == nil {
			err = p.verifyEncrypted(out, edits, docs, meta)
		}
		if err == nil {
			return out, nil
		}
		first = cmp.Or(first, err)
		var de *docError
		if !errors.As(err, &de) {
			return nil, first
		}
		k := de.index
		places[k]++
		if places[k] == beforeTrailing && p.docs[k].trailing == p.docs[k].end {
			places[k]++
		}
		if places[k] > afterBlank || len(p.docs[k].removed) > 0 {
			return nil, first
		}
	}
}

// docError is a document that does not load back as it should.
type docError struct{ index int }

func (e *docError) Error() string {
	return fmt.Sprintf("document %d does not load back to its tree", e.index+1)
}

func emitPlainPreserving(text []byte, docs []tree.Document) ([]byte, error) {
	p, err := prepare(text, docs)
	if err != nil {
		return nil, err
	}
	// The inverse of the placements above: the text that was before the
	// metadata may need the line break at the end of the text, or the
	// blank line before the metadata, taken out too.
	places := make([]placement, len(p.docs))
	var first error
	for _, variant := range []removal{keepAll, dropFinalBreak, dropBlankBefore} {
		out, err := p.build("", places, variant)
		if err == nil {
			err = verifyPlain(out, docs)
		}
		if err == nil {
			return out, nil
		}
		if err != errSkip {
			first = cmp.Or(first, err)
		}
	}
	return nil, first
}

// verifyPlain checks that out loads to docs, but for the inline flag of
// comments, and that every comment in the text is one the tree holds.
func verifyPlain(out []byte, docs []tree.Document) error {
	l, err := scan(out)
	if err != nil {
		return err
	}
	if err := checkComments(l, l.docs, false); err != nil {
		return err
	}
	if !equalDocs(l.docs, docs, true) {
		return errors.New("the written text does not load to the documents")
	}
	got, err := Store{}.LoadPlain(out)
	if err != nil || !equalDocs(got, docs, true) {
		return errors.New("the written text does not load to the documents")
	}
	return nil
}

// verifyEncrypted checks out as verifyEncryptedText does, quickly where it
// can. The fast loader reads the text as yaml.v3 does (its differential
// tests), and the comments of the text are those of the original, whose
// layout prepare checked, moved by the edits: a comment is never written
// but by an edit of its own text. So when the fast loader takes the text,
// out is right if it loads to docs and meta and its comments, found
// through the edits, are those of the tree, in order. Anything else goes
// to the full check, which parses the text with yaml.v3 and finds its
// comments by lexing it.
func (p *plan) verifyEncrypted(out []byte, edits []edit, docs []tree.Document, meta []tree.Item) error {
	if decided, err := p.quickVerifyEncrypted(out, edits, docs, meta); decided {
		return err
	}
	return verifyEncryptedText(out, docs, meta)
}

// quickVerifyEncrypted is the quick check of verifyEncrypted; decided=false
// leaves out to the full check.
func (p *plan) quickVerifyEncrypted(out []byte, edits []edit, docs []tree.Document, meta []tree.Item) (decided bool, err error) {
	// (out is not changed while got is in use: no copies of its strings)
	got, ok := fastLoadData(out, true)
	if !ok || len(got) != len(docs) {
		return false, nil
	}
	var want []string
	for i, d := range got {
		found, metaEqual, restEqual := compareWritten(d, docs[i], meta)
		if !metaEqual {
			return false, nil
		}
		if found != 1 || !restEqual {
			return true, &docError{i}
		}
		want = appendComments(want, d, false)
	}
	have, ok := p.movedComments(out, edits)
	if !ok || !slices.Equal(have, want) {
		return false, nil
	}
	return true, nil
}

// movedComments returns the texts of the original's comments in out, the
// text the edits (ordered by offset) made of it, leaving out comments in
// text an edit replaced. ok=false if a comment is not where it should be.
func (p *plan) movedComments(out []byte, edits []edit) (texts []string, ok bool) {
	texts = make([]string, 0, len(p.l.comments))
	delta, k := 0, 0
	for _, c := range p.l.comments {
		for k < len(edits) && edits[k].to <= c.hash {
			delta += len(edits[k].text) - (edits[k].to - edits[k].from)
			k++
		}
		if k < len(edits) && edits[k].from <= c.hash {
			continue // inside replaced text: a "sops" entry taken out
		}
		at := c.hash + delta
		if at >= len(out) || out[at] != '#' {
			return nil, false
		}
		end := bytes.IndexByte(out[at:], '\n')
		if end < 0 {
			end = len(out)
		} else {
			end += at
		}
		texts = append(texts, string(out[at+1:end]))
	}
	return texts, true
}

// verifyEncryptedText checks that out loads to docs and meta exactly, with
// the metadata in every document, and that every comment in the text is
// one the tree holds (yaml.v3 drops some comments: a dropped one would
// stay in clear).
func verifyEncryptedText(out []byte, docs []tree.Document, meta []tree.Item) error {
	l, err := scan(out)
	if err != nil {
		return err
	}
	if err := checkComments(l, l.docs, false); err != nil {
		return err
	}
	if len(l.docs) != len(docs) {
		return errors.New("the written text has another number of documents")
	}
	for i, d := range l.docs {
		found, metaEqual, restEqual := compareWritten(d, docs[i], meta)
		if !metaEqual {
			return errors.New("the written metadata does not load back")
		}
		if found != 1 || !restEqual {
			return &docError{i}
		}
	}
	gotDocs, gotMeta, err := Store{}.LoadEncrypted(out)
	if err != nil || !equalDocs(gotDocs, docs, false) || !equalItems(gotMeta, meta, false) {
		return errors.New("the written text does not load to the documents")
	}
	return nil
}

// compareWritten compares a document read back from written text with
// the document it must hold and the metadata appended to it: found counts
// its "sops" entries, metaEqual says each of them is meta, restEqual that
// the other entries are want's.
func compareWritten(d, want tree.Document, meta []tree.Item) (found int, metaEqual, restEqual bool) {
	rest := make(tree.Document, 0, len(d))
	for _, it := range d {
		if isMetadataKey(it.Key) {
			found++
			if it.Value.Kind != tree.Map || !equalItems(it.Value.Items(), meta, false) {
				return found, false, false
			}
			continue
		}
		rest = append(rest, it)
	}
	return found, true, equalItems(rest, want, false)
}

// edit replaces text[from:to] with text.
type edit struct {
	from, to int
	text     string
}

// plan is the work on one text: the edits of its values and comments,
// and where each document is, for the metadata.
type plan struct {
	l     *layout
	edits []edit
	docs  []docPlan
	width int // indentation width for new block scalars and the metadata
	// removed holds the text of the "sops" entries taken out.
	removed [][2]int
}

type docPlan struct {
	// [start, end) is the document, up to a "..." marker.
	start, end int
	// trailing is where the comments and blank lines that end the
	// document start (end if there are none).
	trailing int
	// removed are the "sops" entries of the document.
	removed [][2]int
	// column is where the keys of the document's mapping are.
	column int
}

type placement int

const (
	atEnd placement = iota
	beforeTrailing
	afterBlank
)

type removal int

const (
	keepAll removal = iota
	dropFinalBreak
	dropBlankBefore
)

// prepare matches a text with the documents it must hold and plans the
// edits of values and comments.
func prepare(text []byte, docs []tree.Document) (*plan, error) {
	l, err := scan(text)
	if err != nil {
		return nil, err
	}
	if len(l.docs) != len(docs) {
		return nil, refuse("the text has %d documents, the tree %d", len(l.docs), len(docs))
	}
	w := detectIndent(l)
	if w == 0 {
		w = DefaultIndent
	}
	// An edit or two a scalar, allocated once.
	p := &plan{l: l, width: w, edits: prefault.Make[edit](0, len(l.ordered)+len(l.ordered)/8+8)}
	if err := checkComments(l, l.docs, true); err != nil {
		return nil, err
	}
	starts, err := l.documentStarts()
	if err != nil {
		return nil, err
	}
	for i, n := range l.nodes {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		for _, m := range l.markers {
			if !m.start && m.at > starts[i] && m.at < end {
				end = m.at
				break
			}
		}
		d := docPlan{start: starts[i], end: end}
		if err := p.document(i, n, docs[i], &d); err != nil {
			return nil, err
		}
		p.docs = append(p.docs, d)
	}
	if err := p.comments(docs); err != nil {
		return nil, err
	}
	p.trailing()
	return p, nil
}

// document matches one document with its tree.
func (p *plan) document(i int, n *yaml.Node, want tree.Document, d *docPlan) error {
	l := p.l
	if len(n.Content) != 1 {
		return refuse("document %d has no content", i+1)
	}
	root := n.Content[0]
	switch {
	case root.Kind == yaml.MappingNode && root.Style&yaml.FlowStyle == 0:
		d.column = root.Column - 1
		removed, err := p.mapping(root, l.docs[i], want, true)
		d.removed = removed
		return err
	case root.Kind == yaml.ScalarNode && l.scalars.get(root).empty:
		for _, it := range want {
			if !it.IsComment() {
				return refuse("an empty document became a mapping")
			}
		}
		return nil
	}
	return refuse("document %d is not a block mapping", i+1)
}

// trailing finds the comments and blank lines at the end of every
// document.
func (p *plan) trailing() {
	s := p.l.src
	hashes := make(map[int]bool, len(p.l.comments))
	for _, c := range p.l.comments {
		hashes[c.hash] = true
	}
	for i := range p.docs {
		d := &p.docs[i]
		o := d.end
		for o > d.start {
			ls := s.lineStart(o - 1)
			if ls < d.start {
				break
			}
			h := ls
			for s.isBlank(h) {
				h++
			}
			if !s.blankLine(ls) && !hashes[h] {
				break
			}
			o = ls
		}
		d.trailing = o
	}
}

// build writes the text with the metadata block (or none) placed as
// asked, and the old "sops" entries removed as asked.
func (p *plan) build(block string, places []placement, rm removal) ([]byte, error) {
	out, _, err := p.buildEdits(block, places, rm)
	return out, err
}

// buildEdits is build, also returning the edits made, ordered by offset.
func (p *plan) buildEdits(block string, places []placement, rm removal) ([]byte, []edit, error) {
	s := p.l.src
	// (room for the metadata and trailing-text edits of every document)
	edits := append(make([]edit, 0, len(p.edits)+2*len(p.docs)+8), p.edits...)
	block = strings.ReplaceAll(block, "\n", s.nl)
	used := false
	for i, d := range p.docs {
		text := block
		if d.column > 0 {
			text = indentLines(text, d.column)
		}
		for j, rg := range d.removed {
			from := rg[0]
			if rm == dropBlankBefore && from > 0 && s.blankLine(s.lineStart(from-1)) {
				from = s.lineStart(from - 1)
				used = true
			}
			e := edit{from, rg[1], ""}
			if j == 0 {
				e.text = text
			}
			edits = append(edits, e)
		}
		if len(d.removed) > 0 || block == "" {
			continue
		}
		at := d.end
		switch places[i] {
		case beforeTrailing:
			at = d.trailing
		case afterBlank:
			text = s.nl + text
		}
		if at == len(s.b) && at > 0 && !s.isBreak(at-1) {
			text = s.nl + text
		}
		edits = append(edits, edit{at, at, text})
	}
	out, err := apply(s.b, edits)
	if err != nil {
		return nil, nil, err
	}
	if rm == dropFinalBreak {
		last := p.docs[len(p.docs)-1].removed
		if len(last) == 0 || last[len(last)-1][1] != len(s.b) || !bytes.HasSuffix(out, []byte(s.nl)) {
			return nil, nil, errSkip
		}
		out = out[:len(out)-len(s.nl)]
		used = true
	}
	if !used && rm != keepAll {
		return nil, nil, errSkip
	}
	return out, edits, nil
}

// documentStarts returns where each document starts: at its "---", or at
// the start of the text for a first document without one.
func (l *layout) documentStarts() ([]int, error) {
	var dashes []int
	for _, m := range l.markers {
		if m.start {
			dashes = append(dashes, m.at)
		}
	}
	var starts []int
	switch len(dashes) {
	case len(l.nodes):
		starts = dashes
	case len(l.nodes) - 1:
		starts = append([]int{l.src.lines[0]}, dashes...)
	default:
		return nil, refuse("the document markers do not match the documents")
	}
	for i, n := range l.nodes {
		if len(n.Content) == 0 {
			continue
		}
		root := n.Content[0]
		if sc := l.scalars.get(root); root.Kind == yaml.ScalarNode && sc != nil && sc.empty {
			continue
		}
		off, err := l.src.offset(root.Line, root.Column)
		if err != nil {
			return nil, err
		}
		if off < starts[i] || (i+1 < len(starts) && off >= starts[i+1]) {
			return nil, refuse("document %d is not between its markers", i+1)
		}
	}
	return starts, nil
}

func indentLines(text string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		if line != "" && line != "\n" {
			lines[i] = pad + line
		}
	}
	return strings.Join(lines, "")
}

// nonComment returns the indices of the entries of a map that are not
// comments.
func nonComment(items []tree.Item) []int {
	idx := make([]int, 0, len(items))
	for i, it := range items {
		if !it.IsComment() {
			idx = append(idx, i)
		}
	}
	return idx
}

func isMetadataKey(v tree.Value) bool {
	return v.Kind == tree.String && v.Str == format.MetadataKey
}

// mapping matches a mapping node with its loaded entries and the wanted
// ones. At the top, "sops" entries are metadata: they are removed, and
// mapping returns where they are.
//
// In a block mapping the tree may have lost entries (unset) and gained
// some at the end (set): a lost entry's lines are taken out, and the new
// entries are written after the last entry the text keeps, at its
// indentation. Any other change of keys, or one in a flow mapping, is
// refused.
func (p *plan) mapping(n *yaml.Node, loaded, want []tree.Item, top bool) ([][2]int, error) {
	li, wi := nonComment(loaded), nonComment(want)
	if len(li)*2 != len(n.Content) {
		return nil, refuse("line %d: a mapping does not match its entries", n.Line)
	}
	block := n.Style&yaml.FlowStyle == 0
	var removed [][2]int
	last := -1 // the index in n.Content of the last key the text keeps
	j := 0
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		lit := loaded[li[i/2]]
		if top && isMetadataKey(lit.Key) {
			e, err := p.remove(k, v)
			if err != nil {
				return nil, err
			}
			removed = append(removed, e)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, refuse("line %d: a key that is not a scalar", k.Line)
		}
		if j < len(wi) && equalValue(lit.Key, want[wi[j]].Key, false) {
			if err := p.value(v, lit.Value, want[wi[j]].Value); err != nil {
				return nil, err
			}
			j++
			last = i
			continue
		}
		if !block || wantedLater(lit.Key, want, wi[j:]) {
			return nil, refuse("line %d: the keys differ", k.Line)
		}
		rg, err := p.remove(k, v)
		if err != nil {
			return nil, err
		}
		p.edits = append(p.edits, edit{rg[0], rg[1], ""})
	}
	if j < len(wi) {
		if !block || last < 0 {
			return nil, refuse("line %d: the tree has more entries than the text", n.Line)
		}
		// Comments the tree has between the last kept entry and the new
		// ones are those that follow that entry in the text.
		gap := wi[j] - wi[j-1] - 1
		if err := p.add(n.Content[last], n.Content[last+1], gap, want, wi[j:]); err != nil {
			return nil, err
		}
	}
	return removed, nil
}

// wantedLater reports whether a key is among the wanted entries idx.
func wantedLater(key tree.Value, want []tree.Item, idx []int) bool {
	for _, w := range idx {
		if equalValue(key, want[w].Key, false) {
			return true
		}
	}
	return false
}

// add writes the wanted entries idx after the entry k: v and the next
// skip comments, at k's column, as the sops-style emitter writes them
// with the text's indentation width.
func (p *plan) add(k, v *yaml.Node, skip int, want []tree.Item, idx []int) error {
	s := p.l.src
	ks := p.l.scalars.get(k)
	if ks == nil || ks.empty {
		return refuse("line %d: unexpected key", k.Line)
	}
	if len(bytes.TrimLeft(s.b[s.lineStart(ks.from):ks.from], " ")) > 0 {
		return refuse("line %d: the key before new entries does not start its line", k.Line)
	}
	end, err := p.l.nodeEnd(v)
	if err != nil {
		return err
	}
	end = max(end, ks.end)
	le := s.lineEnd(end)
	if rest := bytes.TrimLeft(s.b[end:le], " \t"); len(rest) > 0 && rest[0] != '#' {
		return refuse("line %d: something follows the value on its line", s.lineOf(end))
	}
	for _, c := range p.l.comments {
		if skip == 0 {
			break
		}
		if c.hash >= le && !p.inRemoved(c.hash) {
			le = s.lineEnd(c.end)
			skip--
		}
	}
	if skip > 0 {
		return refuse("line %d: the comments after the entry do not match the tree", k.Line)
	}
	items := make(tree.Document, 0, len(idx))
	for _, w := range idx {
		items = append(items, want[w])
	}
	text, err := Store{Indent: p.width}.EmitPlain([]tree.Document{items})
	if err != nil {
		return err
	}
	out := indentLines(string(text), ks.from-s.lineStart(ks.from))
	out = strings.ReplaceAll(out, "\n", s.nl)
	at := le + s.breakLen(le)
	if at == le {
		out = s.nl + strings.TrimSuffix(out, s.nl)
	}
	p.edits = append(p.edits, edit{at, at, out})
	return nil
}

func (p *plan) value(n *yaml.Node, loaded, want tree.Value) error {
	switch n.Kind {
	case yaml.MappingNode:
		if loaded.Kind != tree.Map || want.Kind != tree.Map {
			return refuse("line %d: a mapping is no longer one", n.Line)
		}
		_, err := p.mapping(n, loaded.Items(), want.Items(), false)
		return err
	case yaml.SequenceNode:
		if loaded.Kind != tree.List || want.Kind != tree.List {
			return refuse("line %d: a sequence is no longer one", n.Line)
		}
		var lv, wv []tree.Value
		for _, e := range loaded.Elems() {
			if e.Kind != tree.Comment {
				lv = append(lv, e)
			}
		}
		for _, e := range want.Elems() {
			if e.Kind != tree.Comment {
				wv = append(wv, e)
			}
		}
		if len(lv) != len(n.Content) {
			return refuse("line %d: a sequence does not match its elements", n.Line)
		}
		return p.sequence(n, lv, wv)
	case yaml.ScalarNode:
		if !loaded.IsScalar() || !want.IsScalar() {
			return refuse("line %d: a scalar is no longer one", n.Line)
		}
		if equalValue(loaded, want, false) {
			return nil
		}
		return p.replace(p.l.scalars.get(n), want)
	}
	return refuse("line %d: unexpected node", n.Line)
}

// sequence matches a sequence node with its loaded elements and the
// wanted ones. In a block sequence the tree may have lost one element
// (unset) or gained some at the end (set); anything else that changes
// the number of elements is refused.
func (p *plan) sequence(n *yaml.Node, lv, wv []tree.Value) error {
	block := n.Style&yaml.FlowStyle == 0
	switch {
	case len(wv) == len(lv):
	case block && len(wv) == len(lv)-1:
		// The first element that differs is the one removed, if the
		// rest follows unchanged.
		i := 0
		for i < len(wv) && equalValue(lv[i], wv[i], false) {
			i++
		}
		for k := i; k < len(wv); k++ {
			if !equalValue(lv[k+1], wv[k], false) {
				return refuse("line %d: a sequence changed more than by one removed element", n.Line)
			}
		}
		rg, err := p.removeElement(n.Content[i])
		if err != nil {
			return err
		}
		p.edits = append(p.edits, edit{rg[0], rg[1], ""})
		for k, c := range n.Content {
			if k == i {
				continue
			}
			w := k
			if k > i {
				w = k - 1
			}
			if err := p.value(c, lv[k], wv[w]); err != nil {
				return err
			}
		}
		return nil
	case block && len(wv) > len(lv) && len(lv) > 0:
		if err := p.appendElements(n.Content[len(n.Content)-1], wv[len(lv):]); err != nil {
			return err
		}
		wv = wv[:len(lv)]
	default:
		return refuse("line %d: a sequence does not match its elements", n.Line)
	}
	for i, c := range n.Content {
		if err := p.value(c, lv[i], wv[i]); err != nil {
			return err
		}
	}
	return nil
}

// elementLine returns the span of the lines of a block sequence element:
// from the start of the line of its "- " to the end of the line where it
// ends, and the column of the dash.
func (p *plan) elementLine(e *yaml.Node) (from, to, dash int, err error) {
	s := p.l.src
	start, err := s.offset(e.Line, e.Column)
	if err != nil {
		return 0, 0, 0, err
	}
	ls := s.lineStart(start)
	lead := s.b[ls:start]
	trimmed := bytes.TrimLeft(lead, " ")
	if len(trimmed) == 0 || trimmed[0] != '-' || len(bytes.TrimLeft(trimmed[1:], " ")) > 0 {
		return 0, 0, 0, refuse("line %d: a sequence element that does not start its line", e.Line)
	}
	end, err := p.l.nodeEnd(e)
	if err != nil {
		return 0, 0, 0, err
	}
	le := s.lineEnd(end)
	if rest := bytes.TrimLeft(s.b[end:le], " \t"); len(rest) > 0 && rest[0] != '#' {
		return 0, 0, 0, refuse("line %d: something follows the element on its line", s.lineOf(end))
	}
	return ls, le, len(lead) - len(trimmed), nil
}

// removeElement takes out the lines of a block sequence element.
func (p *plan) removeElement(e *yaml.Node) ([2]int, error) {
	from, le, _, err := p.elementLine(e)
	if err != nil {
		return [2]int{}, err
	}
	rg := [2]int{from, le + p.l.src.breakLen(le)}
	p.removed = append(p.removed, rg)
	return rg, nil
}

// appendElements writes new elements after the element e, with its dash
// column, as the sops-style emitter writes them with the text's
// indentation width.
func (p *plan) appendElements(e *yaml.Node, elems []tree.Value) error {
	s := p.l.src
	_, le, dash, err := p.elementLine(e)
	if err != nil {
		return err
	}
	// The emitter writes a list under a key one indentation deeper, or
	// at the key's column when the width is 2 or less ("k:\n- a"): take
	// the lines after "k:" and move them to the dash's column.
	text, err := Store{Indent: p.width}.EmitPlain([]tree.Document{{tree.KeyItem("k", tree.ListV(elems))}})
	if err != nil {
		return err
	}
	body, ok := strings.CutPrefix(string(text), "k:\n")
	if !ok {
		return refuse("unexpected rendering of new elements")
	}
	indent := len(body) - len(strings.TrimLeft(body, " "))
	lines := strings.SplitAfter(body, "\n")
	pad := strings.Repeat(" ", dash)
	var out strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		if len(l)-len(strings.TrimLeft(l, " ")) < indent && strings.TrimSpace(l) != "" {
			return refuse("unexpected rendering of new elements")
		}
		if strings.TrimSpace(l) != "" {
			l = pad + l[indent:]
		}
		out.WriteString(l)
	}
	add := strings.ReplaceAll(out.String(), "\n", s.nl)
	at := le + s.breakLen(le)
	if at == le {
		add = s.nl + strings.TrimSuffix(add, s.nl)
	}
	p.edits = append(p.edits, edit{at, at, add})
	return nil
}

// replace writes v in place of a scalar.
func (p *plan) replace(sc *span, v tree.Value) error {
	s := p.l.src
	if sc == nil || sc.empty {
		return refuse("an empty value changed")
	}
	head, body, keep, err := renderScalar(v, sc.flow, p.width)
	if err != nil {
		return err
	}
	p.edits = append(p.edits, edit{sc.from, sc.end, head})
	if body == nil {
		if sc.block {
			p.edits = append(p.edits, edit{sc.bodyFrom, sc.bodyTo, ""})
		}
		return nil
	}
	// A block scalar: its lines go after the header's line, at the
	// indentation of the node's parent plus one level.
	if sc.flow {
		return refuse("a block scalar in a flow collection")
	}
	from, to := sc.bodyFrom, sc.bodyTo
	if !sc.block {
		from = s.lineEnd(sc.end)
		to = from
		if rest := bytes.TrimLeft(s.b[sc.end:from], " \t"); len(rest) > 0 && rest[0] != '#' {
			return refuse("line %d: something follows the value on its line", s.lineOf(sc.end))
		}
	}
	pad := strings.Repeat(" ", max(sc.indent, 0)+p.width)
	var sb strings.Builder
	for _, line := range body {
		sb.WriteString(s.nl)
		if line != "" {
			sb.WriteString(pad)
			sb.WriteString(line)
		}
	}
	if keep {
		// Kept trailing line breaks are the empty lines after the
		// scalar: the ones already there would add to them.
		for o := s.nextLine(to); o < len(s.b) && s.blankLine(o); o = s.nextLine(o) {
			to = s.lineEnd(o)
		}
	} else {
		// Lines of spaces after the body that reach its indentation would
		// be read as its content: they become empty lines.
		end, n, long := to, 0, false
		for o := s.nextLine(to); o < len(s.b) && o > end && s.blankLine(o); o = s.nextLine(o) {
			if s.lineEnd(o)-o >= len(pad) {
				long = true
			}
			end = s.lineEnd(o)
			n++
		}
		if long {
			to = end
			for range n {
				sb.WriteString(s.nl)
			}
		}
	}
	if to == len(s.b) {
		sb.WriteString(s.nl)
	}
	p.edits = append(p.edits, edit{from, to, sb.String()})
	return nil
}

// remove takes out a "sops" entry: from the start of its key's line to
// the end of the line where its value ends. It returns the text it
// takes out; build makes the edit.
func (p *plan) remove(k, v *yaml.Node) ([2]int, error) {
	s := p.l.src
	ks := p.l.scalars.get(k)
	if ks == nil || ks.empty {
		return [2]int{}, refuse("line %d: unexpected sops key", k.Line)
	}
	from := s.lineStart(ks.from)
	if len(bytes.TrimLeft(s.b[from:ks.from], " ")) > 0 {
		return [2]int{}, refuse("line %d: the sops entry does not start its line", k.Line)
	}
	end, err := p.l.nodeEnd(v)
	if err != nil {
		return [2]int{}, err
	}
	end = max(end, ks.end)
	le := s.lineEnd(end)
	if rest := bytes.TrimLeft(s.b[end:le], " \t"); len(rest) > 0 && rest[0] != '#' {
		return [2]int{}, refuse("line %d: something follows the sops entry on its line", s.lineOf(end))
	}
	to := le + s.breakLen(le)
	p.removed = append(p.removed, [2]int{from, to})
	return [2]int{from, to}, nil
}

// nodeEnd returns where the text of a node ends.
func (l *layout) nodeEnd(n *yaml.Node) (int, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		sc := l.scalars.get(n)
		switch {
		case sc == nil || sc.empty:
			return 0, refuse("line %d: an empty value ends a removed entry", n.Line)
		case sc.block:
			return max(sc.bodyTo, sc.end), nil
		}
		return sc.end, nil
	case yaml.MappingNode, yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 {
			return 0, refuse("line %d: a flow collection ends a removed entry", n.Line)
		}
		if len(n.Content) == 0 {
			return 0, refuse("line %d: an empty block collection", n.Line)
		}
		return l.nodeEnd(n.Content[len(n.Content)-1])
	}
	return 0, refuse("line %d: unexpected node", n.Line)
}

// comments gives every comment whose text changed its new text. The text
// and the tree hold the same comments in the same order (checkComments).
func (p *plan) comments(docs []tree.Document) error {
	l := p.l
	var want []string
	for _, d := range docs {
		want = appendComments(want, d, false)
	}
	var have []comment
	for _, c := range l.comments {
		if !p.inRemoved(c.hash) {
			have = append(have, c)
		}
	}
	if len(have) != len(want) {
		return refuse("the text has %d comments, the tree %d", len(have), len(want))
	}
	for i, c := range have {
		if l.commentText(c) == want[i] {
			continue
		}
		if strings.ContainsAny(want[i], "\r\n") {
			return refuse("a comment holds a line break")
		}
		p.edits = append(p.edits, edit{c.hash + 1, c.end, want[i]})
	}
	return nil
}

func (p *plan) inRemoved(o int) bool {
	for _, rg := range p.removed {
		if o >= rg[0] && o < rg[1] {
			return true
		}
	}
	return false
}

// apply makes the edits.
func apply(b []byte, edits []edit) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	// The exact size first: encrypting makes a text two to three times
	// longer, and each doubling of a growing buffer is fresh memory, which
	// costs a page fault per page.
	size := len(b)
	o := 0
	for _, e := range edits {
		if e.from < o || e.to < e.from || e.to > len(b) {
			return nil, refuse("edits overlap")
		}
		size += len(e.text) - (e.to - e.from)
		o = e.to
	}
	out := prefault.Make[byte](0, size)
	o = 0
	for _, e := range edits {
		out = append(out, b[o:e.from]...)
		out = append(out, e.text...)
		o = e.to
	}
	return append(out, b[o:]...), nil
}

// appendComments appends the texts of the comments of a tree in document
// order. skipMeta leaves out the top-level "sops" entries.
func appendComments(out []string, items []tree.Item, skipMeta bool) []string {
	for _, it := range items {
		if it.IsComment() {
			out = append(out, it.Key.Str)
			continue
		}
		if skipMeta && isMetadataKey(it.Key) {
			continue
		}
		out = appendValueComments(out, it.Value)
	}
	return out
}

func appendValueComments(out []string, v tree.Value) []string {
	switch v.Kind {
	case tree.Map:
		return appendComments(out, v.Items(), false)
	case tree.List:
		for _, e := range v.Elems() {
			if e.Kind == tree.Comment {
				out = append(out, e.Str)
			} else {
				out = appendValueComments(out, e)
			}
		}
	}
	return out
}

// checkComments checks that the comments found in the text are, in order,
// the comments of the loaded tree: then each tree comment is known by its
// place in the text. With skipMeta, comments inside the top-level "sops"
// entries are left out of both.
func checkComments(l *layout, docs []tree.Document, skipMeta bool) error {
	var want []string
	for _, d := range docs {
		want = appendComments(want, d, skipMeta)
	}
	var have []comment
	if skipMeta {
		ranges, err := l.metadataRanges()
		if err != nil {
			return err
		}
		for _, c := range l.comments {
			inside := false
			for _, rg := range ranges {
				if c.hash >= rg[0] && c.hash < rg[1] {
					inside = true
				}
			}
			if !inside {
				have = append(have, c)
			}
		}
	} else {
		have = l.comments
	}
	if len(have) != len(want) {
		return refuse("yaml.v3 reads %d comments where the text has %d", len(want), len(have))
	}
	for i, c := range have {
		if l.commentText(c) != want[i] {
			return refuse("line %d: comment %q is read as %q", l.src.lineOf(c.hash), l.commentText(c), want[i])
		}
	}
	return nil
}

// metadataRanges returns the text of every top-level "sops" entry.
func (l *layout) metadataRanges() ([][2]int, error) {
	var out [][2]int
	for i, n := range l.nodes {
		if len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := n.Content[0]
		li := nonComment(l.docs[i])
		if len(li)*2 != len(m.Content) {
			return nil, refuse("a mapping does not match its entries")
		}
		for j := 0; j+1 < len(m.Content); j += 2 {
			if !isMetadataKey(l.docs[i][li[j/2]].Key) {
				continue
			}
			ks := l.scalars.get(m.Content[j])
			if ks == nil || ks.empty {
				return nil, refuse("unexpected sops key")
			}
			end, err := l.nodeEnd(m.Content[j+1])
			if err != nil {
				return nil, err
			}
			from := l.src.lineStart(ks.from)
			out = append(out, [2]int{from, l.src.nextLine(max(end, ks.end))})
		}
	}
	return out, nil
}

// Equality of trees: the same kinds, the same canonical text of every
// scalar (what the MAC and the encryption see), comments included.
// ignoreInline leaves out the inline flag of comments, which decryption
// loses.

func equalDocs(a, b []tree.Document, ignoreInline bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalItems(a[i], b[i], ignoreInline) {
			return false
		}
	}
	return true
}

func equalItems(a, b []tree.Item, ignoreInline bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalValue(a[i].Key, b[i].Key, ignoreInline) || !equalValue(a[i].Value, b[i].Value, ignoreInline) {
			return false
		}
	}
	return true
}

func equalValue(a, b tree.Value, ignoreInline bool) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case tree.Null:
		return true
	case tree.Comment:
		return a.Str == b.Str && (ignoreInline || a.Inline == b.Inline)
	case tree.String:
		return a.Str == b.Str
	case tree.Int:
		return a.Int() == b.Int()
	case tree.Uint:
		return a.Uint() == b.Uint()
	case tree.Float:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) || math.IsNaN(a.Float()) && math.IsNaN(b.Float())
	case tree.Bool:
		return a.Bool() == b.Bool()
	case tree.Time:
		return a.Time().Equal(b.Time()) && string(a.AppendCanonical(nil)) == string(b.AppendCanonical(nil))
	case tree.Map:
		return equalItems(a.Items(), b.Items(), ignoreInline)
	case tree.List:
		if len(a.Elems()) != len(b.Elems()) {
			return false
		}
		for i := range a.Elems() {
			if !equalValue(a.Elems()[i], b.Elems()[i], ignoreInline) {
				return false
			}
		}
		return true
	}
	return false
}
