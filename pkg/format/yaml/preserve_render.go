package yaml

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// renderScalar writes a value as EmitPlain would write it in a block
// mapping (or, with flow, in a flow collection): head is what goes where
// the old scalar was; for a literal block, body holds its content lines
// (without indentation; "" for an empty line), which go on the following
// lines, and keep says that its trailing line breaks are kept (|+).
//
// The yaml.v3 encoder makes the choice of style, so that a value is
// written exactly as kura's emitter writes it; the one exception is a
// float with an integral value, written 3.0 rather than 3 so that it
// reads back as a float.
func renderScalar(v tree.Value, flow bool, width int) (head string, body []string, keep bool, err error) {
	if text, ok := fastPlain(v, flow); ok {
		return text, nil, false, nil
	}
	n := scalarNode(v)
	if v.Kind == tree.Float && !strings.ContainsAny(n.Value, ".eEn") {
		// EmitPlain writes the float 3 as 3, which reads back as an int:
		// here the value must read back with its type.
		n.Value += ".0"
	}
	head, body, keep, err = render(n, flow, width)
	if err != nil || body == nil || v.Kind != tree.String {
		return head, body, keep, err
	}
	// yaml.v3 writes some strings (a tab after the indentation...) as
	// literal blocks that it cannot read back: write those double-quoted.
	var text strings.Builder
	text.WriteString("k: " + head + "\n")
	pad := strings.Repeat(" ", width)
	for _, line := range body {
		if line != "" {
			text.WriteString(pad + line)
		}
		text.WriteByte('\n')
	}
	var back map[string]string
	if err := yaml.Unmarshal([]byte(text.String()), &back); err == nil && back["k"] == v.Str {
		return head, body, keep, nil
	}
	n.Style = yaml.DoubleQuotedStyle
	return render(n, flow, width)
}

func render(n *yaml.Node, flow bool, width int) (head string, body []string, keep bool, err error) {
	var doc *yaml.Node
	if flow {
		doc = &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{n}}
	} else {
		doc = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: "k"}, n}}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(width)
	if err := enc.Encode(doc); err != nil {
		return "", nil, false, err
	}
	if err := enc.Close(); err != nil {
		return "", nil, false, err
	}
	out := b.String()
	if flow {
		if len(out) < 3 || out[0] != '[' || !strings.HasSuffix(out, "]\n") || strings.Contains(out[:len(out)-1], "\n") {
			return "", nil, false, refuse("unexpected flow rendering %q", out)
		}
		return out[1 : len(out)-2], nil, false, nil
	}
	rest, ok := strings.CutPrefix(out, "k: ")
	if !ok {
		return "", nil, false, refuse("unexpected rendering %q", out)
	}
	head, rest, _ = strings.Cut(rest, "\n")
	if rest == "" {
		return head, nil, false, nil
	}
	if !strings.HasSuffix(rest, "\n") || !strings.ContainsAny(head, "|>") {
		return "", nil, false, refuse("unexpected rendering %q", out)
	}
	body = strings.Split(rest[:len(rest)-1], "\n")
	pad := strings.Repeat(" ", width)
	for i, line := range body {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, pad) {
			return "", nil, false, refuse("unexpected rendering %q", out)
		}
		body[i] = line[width:]
	}
	return head, body, strings.HasSuffix(head, "+"), nil
}

// fastPlain decides the common cases without the encoder: integers,
// booleans, ENC[...] strings in block context and strings of letters,
// digits, spaces and a few punctuation marks that start with a letter
// and read back as strings. TestFastPlainMatchesEncoder checks it.
func fastPlain(v tree.Value, flow bool) (string, bool) {
	switch v.Kind {
	case tree.Int:
		return strconv.FormatInt(v.Int(), 10), true
	case tree.Bool:
		return strconv.FormatBool(v.Bool()), true
	case tree.String:
	default:
		return "", false
	}
	s := v.Str
	if !flow && encPlain(s) {
		return s, true
	}
	if s == "" || len(s) > 1024 || !isLetter(s[0]) || s[len(s)-1] == ' ' || !plainIsString(s) {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case isLetter(c), c >= '0' && c <= '9':
		case c == '_' || c == '-' || c == '.' || c == '/' || c == '@' || c == '+' || c == '=':
		case c == ' ' && s[i-1] != ' ':
		default:
			return "", false
		}
	}
	return s, true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// encPlain reports whether s is an ENC[...] string, which is written
// plain in block context (it starts with a letter and holds no ": " or
// " #"): the common case, decided without the encoder.
func encPlain(s string) bool {
	if len(s) < 5 || !strings.HasPrefix(s, "ENC[") || s[len(s)-1] != ']' {
		return false
	}
	for i := 4; i < len(s); i++ {
		if !encPlainByte[s[i]] {
			return false
		}
	}
	return true
}

// encPlainByte holds the bytes encPlain accepts: letters, digits and
// "+/=,:_-[]". (A table: every byte of every ENC string is looked up.)
var encPlainByte = [256]bool{
	'+': true, '/': true, '=': true, ',': true, ':': true, '_': true, '-': true, '[': true, ']': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true, 'J': true, 'K': true, 'L': true, 'M': true,
	'N': true, 'O': true, 'P': true, 'Q': true, 'R': true, 'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true, 'j': true, 'k': true, 'l': true, 'm': true,
	'n': true, 'o': true, 'p': true, 'q': true, 'r': true, 's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}

// metadataBlock writes the "sops" entry as EmitEncrypted writes it, with
// the given indentation width.
func metadataBlock(meta []tree.Item, width int) (string, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	fillMapping(root, []tree.Item{tree.KeyItem(format.MetadataKey, tree.MapV(meta))})
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(width)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return "", fmt.Errorf("writing the metadata: %w", cleanErr(err))
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("writing the metadata: %w", cleanErr(err))
	}
	return b.String(), nil
}

// DetectIndent returns the indentation width a YAML text uses: the most
// common step from a key to the keys of the mapping below it (ties go to
// the first seen), else from a key to the dashes of a sequence indented
// below it, else from a key to the lines of a block scalar; brought into
// 2..9, the widths yaml.v3 can write. It returns 0 when the text has no
// nesting to tell (or does not parse); Store{Indent: 0} then writes the
// sops default of 4.
func DetectIndent(original []byte) int {
	dec := yaml.NewDecoder(bytes.NewReader(original))
	var nodes []*yaml.Node
	for {
		n := new(yaml.Node)
		if err := dec.Decode(n); err != nil {
			if err != io.EOF {
				return 0
			}
			break
		}
		nodes = append(nodes, n)
	}
	src, _ := newSource(original)
	return indentOf(nodes, src)
}

func detectIndent(l *layout) int { return indentOf(l.nodes, l.src) }

// The indentation widths yaml.v3 writes: it replaces any other with 2.
const minIndent, maxIndent = 2, 9

// indentOf counts the indentation steps of nodes. With their text, block
// scalars count too.
func indentOf(nodes []*yaml.Node, s *source) int {
	type tally struct {
		count map[int]int
		order []int
	}
	var maps, seqs, blocks tally
	add := func(t *tally, d int) {
		if d <= 0 {
			return
		}
		if t.count == nil {
			t.count = make(map[int]int)
		}
		if t.count[d] == 0 {
			t.order = append(t.order, d)
		}
		t.count[d]++
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				switch {
				case v.Style&yaml.FlowStyle != 0:
				case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
					if s != nil && v.Line < len(s.lines) {
						// The first line of the block that is not blank.
						for o := s.lines[v.Line]; o < len(s.b); o = s.nextLine(o) {
							if !s.blankLine(o) {
								d := 0
								for s.b[o+d] == ' ' {
									d++
								}
								add(&blocks, d-(k.Column-1))
								break
							}
						}
					}
				case v.Line == k.Line:
				case v.Kind == yaml.MappingNode:
					add(&maps, v.Column-k.Column)
				case v.Kind == yaml.SequenceNode:
					add(&seqs, v.Column-k.Column)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	for _, t := range []tally{maps, seqs, blocks} {
		best := 0
		for _, d := range t.order {
			if t.count[d] > t.count[best] {
				best = d
			}
		}
		if best > 0 {
			return min(max(best, minIndent), maxIndent)
		}
	}
	return 0
}
