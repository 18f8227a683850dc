package yaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

func (s Store) indent() (int, error) {
	switch {
	case s.Indent < 0:
		return 0, errors.New("a negative YAML indent is not accepted")
	case s.Indent == 0:
		return DefaultIndent, nil
	}
	return s.Indent, nil
}

// EmitPlain writes the documents as a YAML stream, separated by "---".
func (s Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	return s.emit(docs, nil)
}

// EmitPlainTo is EmitPlain writing to w in chunks (format.StreamEmitter).
// The text goes out only once the fast emitter is known to write it all:
// a first pass to io.Discard checks that, holding one chunk at a time.
func (s Store) EmitPlainTo(w io.Writer, docs []tree.Document) error {
	indent, err := s.indent()
	if err != nil {
		return err
	}
	if ok, _ := s.fastEmitTo(io.Discard, docs, nil, indent); ok {
		_, err := s.fastEmitTo(w, docs, nil, indent)
		return err
	}
	out, err := s.encoderEmit(docs, nil, indent)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

var _ format.StreamEmitter = Store{}

// EmitEncrypted writes the documents with the metadata appended as the last
// entry "sops" of every document, as SOPS does.
func (s Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	return s.emit(docs, meta)
}

func (s Store) emit(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	indent, err := s.indent()
	if err != nil {
		return nil, err
	}
	if out, ok := s.fastEmit(docs, meta, indent); ok {
		return out, nil
	}
	return s.encoderEmit(docs, meta, indent)
}

// encoderEmit writes the documents through yaml.v3's encoder, for what
// fastEmit leaves to it.
func (s Store) encoderEmit(docs []tree.Document, meta []tree.Item, indent int) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	for _, doc := range docs {
		items := []tree.Item(doc)
		if meta != nil {
			items = append(items[:len(items):len(items)], tree.KeyItem(format.MetadataKey, tree.MapV(meta)))
		}
		root := &yaml.Node{Kind: yaml.MappingNode}
		fillMapping(root, items)
		quoteMisplacedLiterals(root, -1, indent, false)
		if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
			return nil, fmt.Errorf("writing YAML: %w", cleanErr(err))
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", cleanErr(err))
	}
	return b.Bytes(), nil
}

// EmitValue writes one value as yaml.Marshal would, with the library's
// default indent of 4 whatever the store's indent: that is what sops
// prints for --extract of a list or a non-string scalar.
func (s Store) EmitValue(v tree.Value) (out []byte, err error) {
	n := valueNode(v)
	quoteMisplacedLiterals(n, -1, 4, false)
	return yaml.Marshal(n)
}

// The comment placement below mirrors SOPS: comments before the first
// entry of a collection become the collection's head comment, comments
// before a later entry become that entry's head comment, inline comments
// become the line comment of the next value, and comments after the last
// entry become the last key's foot comment.

func joinComments(lines []string) string {
	return "#" + strings.Join(lines, "\n#")
}

func addHead(n *yaml.Node, lines []string) {
	if len(lines) == 0 {
		return
	}
	c := joinComments(lines)
	if n.HeadComment != "" {
		c += "\n" + n.HeadComment
	}
	n.HeadComment = c
}

func addLine(n *yaml.Node, lines []string) {
	if len(lines) == 0 {
		return
	}
	c := joinComments(lines)
	if n.LineComment != "" {
		c = n.LineComment + "\n" + c
	}
	n.LineComment = c
}

func addFoot(n *yaml.Node, lines []string) {
	if len(lines) == 0 {
		return
	}
	c := joinComments(lines)
	if n.FootComment != "" {
		c = n.FootComment + "\n" + c
	}
	n.FootComment = c
}

func fillMapping(m *yaml.Node, items []tree.Item) {
	var head, inline []string
	first := true
	m.Content = make([]*yaml.Node, 0, 2*len(items))
	for _, it := range items {
		if it.IsComment() {
			if it.Key.Inline {
				inline = append(inline, it.Key.Str)
			} else {
				head = append(head, it.Key.Str)
			}
			continue
		}
		if first {
			addHead(m, head)
			head, first = nil, false
		}
		k := scalarNode(it.Key)
		addHead(k, head)
		v := valueNode(it.Value)
		addLine(v, inline)
		head, inline = nil, nil
		m.Content = append(m.Content, k, v)
	}
	rest := append(head, inline...)
	if len(rest) == 0 {
		return
	}
	if first {
		addHead(m, rest)
	} else {
		addFoot(m.Content[len(m.Content)-2], rest)
	}
}

func fillSequence(seq *yaml.Node, elems []tree.Value) {
	var head, inline []string
	first := true
	seq.Content = make([]*yaml.Node, 0, len(elems))
	for _, e := range elems {
		if e.Kind == tree.Comment {
			if e.Inline {
				inline = append(inline, e.Str)
			} else {
				head = append(head, e.Str)
			}
			continue
		}
		if first {
			addHead(seq, head)
			head, first = nil, false
		}
		n := valueNode(e)
		addHead(n, head)
		addLine(n, inline)
		head, inline = nil, nil
		seq.Content = append(seq.Content, n)
	}
	rest := append(head, inline...)
	if len(rest) == 0 {
		return
	}
	if first {
		addHead(seq, rest)
	} else {
		addFoot(seq.Content[len(seq.Content)-1], rest)
	}
}

func valueNode(v tree.Value) *yaml.Node {
	switch v.Kind {
	case tree.Map:
		n := &yaml.Node{Kind: yaml.MappingNode}
		fillMapping(n, v.Items())
		return n
	case tree.List:
		n := &yaml.Node{Kind: yaml.SequenceNode}
		fillSequence(n, v.Elems())
		return n
	}
	return scalarNode(v)
}

// scalarNode builds the node yaml.v3 would build by encoding the Go value
// and parsing the text back (what SOPS does for every scalar), without that
// round trip. The choices must match it exactly; TestScalarNodeMatchesEncode
// compares the two on many values.
func scalarNode(v tree.Value) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode}
	switch v.Kind {
	case tree.String:
		return stringNode(v.Str)
	case tree.Comment:
		// A comment where a value is expected only happens in trees that
		// were built by hand; write its text.
		return stringNode(v.Str)
	case tree.Int:
		n.Value = strconv.FormatInt(v.Int(), 10)
	case tree.Uint:
		n.Value = strconv.FormatUint(v.Uint(), 10)
	case tree.Float:
		switch {
		case math.IsInf(v.Float(), 1):
			n.Value = ".inf"
		case math.IsInf(v.Float(), -1):
			n.Value = "-.inf"
		case math.IsNaN(v.Float()):
			n.Value = ".nan"
		default:
			n.Value = strconv.FormatFloat(v.Float(), 'g', -1, 64)
		}
	case tree.Bool:
		n.Value = strconv.FormatBool(v.Bool())
	case tree.Time:
		n.Value = v.Time().Format(time.RFC3339Nano)
	default:
		n.Value = "null"
	}
	return n
}

// stringNode picks the style yaml.v3 gives a Go string: a literal block when
// it spans lines, plain when the plain text reads back as the same string,
// double-quoted otherwise. The emitter then downgrades plain to quoted
// where the text needs it, exactly as it does for sops.
func stringNode(s string) *yaml.Node {
	if !utf8.ValidString(s) || mayResolveNumeric(s) {
		// Invalid UTF-8 becomes !!binary, and strings that may read as a
		// number or a timestamp need the full YAML resolver: let the
		// library decide.
		var n yaml.Node
		if err := n.Encode(s); err == nil {
			return &n
		}
	}
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	switch {
	case strings.Contains(s, "\n"):
		n.Style = yaml.LiteralStyle
	case s == "<<":
		// yaml.v3 up to v3.0.4, which sops uses, writes the string "<<"
		// plain, reads it back as a merge key and so writes it again as
		// "!!merge <<". Later versions quote it instead. Write the tag
		// explicitly to keep sops's output whatever version is linked.
		n.Tag, n.Style = "!!merge", yaml.TaggedStyle
	case plainIsString(s):
	default:
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

const (
	hintNone = iota
	hintNumeric
	hintWord
	hintDot
)

// resolveHint classifies the first byte of a plain scalar as yaml.v3's
// resolver does: only these bytes can start something that is not a string.
var resolveHint = func() (t [256]byte) {
	for _, c := range "+-0123456789" {
		t[c] = hintNumeric
	}
	for _, c := range "yYnNtTfFoO~" {
		t[c] = hintWord
	}
	t['.'] = hintDot
	return t
}()

// numericByte marks the bytes a plain scalar that yaml.v3 resolves to an
// int, a float, a timestamp or a sexagesimal number can hold: digits,
// signs, '.', '_', ':', the letters of 0x/0o/0b prefixes, hex digits,
// exponents, .inf and .nan, and a timestamp's 'T', 'Z' and spaces.
var numericByte = func() (t [256]bool) {
	for _, c := range "0123456789+-._: \tabcdefABCDEFxXoOiInNtTzZ" {
		t[c] = true
	}
	return t
}()

// mayResolveNumeric reports whether s starts like a number and holds only
// bytes a number or timestamp can hold. Other strings that start with a
// digit or a sign - most random tokens and passwords do - cannot resolve
// to anything but a string, and are styled without asking the library,
// which builds an encoder and a parser for every such string.
func mayResolveNumeric(s string) bool {
	if s == "" || resolveHint[s[0]] != hintNumeric {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !numericByte[s[i]] {
			return false
		}
	}
	return true
}

// plainIsString reports whether s, written plain, reads back as the string
// s under YAML 1.2 and also under the YAML 1.1 booleans other tools still
// apply (y, yes, on, off...). Strings that may resolve to a number are
// handled by the library before this is called (mayResolveNumeric).
func plainIsString(s string) bool {
	if s == "" {
		return false // reads back as null
	}
	switch resolveHint[s[0]] {
	case hintWord:
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE",
			"null", "Null", "NULL", "~",
			"y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
			"n", "N", "no", "No", "NO", "off", "Off", "OFF":
			return false
		}
	case hintDot:
		switch s {
		case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF":
			return false
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return false
		}
	}
	return true
}

// quoteMisplacedLiterals makes double-quoted every literal block below n
// whose indentation indicator the encoder would write wrong
// (misplacedIndicator), walking the blocks as the encoder indents them: n
// is a child of a block at column parent, an item of a sequence if inSeq.
// The fast emitter leaves documents holding such blocks to the encoder,
// so this is the one place where kura's text differs from sops's for them,
// and only for them (docs/compatibility.md).
func quoteMisplacedLiterals(n *yaml.Node, parent, best int, inSeq bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			quoteMisplacedLiterals(c, -1, best, false)
		}
	case yaml.ScalarNode:
		if n.Style&yaml.LiteralStyle != 0 && n.Value != "" && (n.Value[0] == ' ' || n.Value[0] == '\n') && misplacedIndicator(parent, best, inSeq) {
			n.Style = yaml.DoubleQuotedStyle
		}
	case yaml.MappingNode:
		if n.Style&yaml.FlowStyle != 0 {
			return
		}
		col := increaseIndent(parent, best, inSeq)
		for i := 1; i < len(n.Content); i += 2 {
			quoteMisplacedLiterals(n.Content[i], col, best, false)
		}
	case yaml.SequenceNode:
		if n.Style&yaml.FlowStyle != 0 {
			return
		}
		col := increaseIndent(parent, best, inSeq)
		for _, c := range n.Content {
			quoteMisplacedLiterals(c, col, best, true)
		}
	}
}
