package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Limits that keep a hostile file from costing more than a large honest
// one. Aliases are followed wherever a field is read, so a "billion
// laughs" document would otherwise expand exponentially; merge (of key
// groups) and << (of mappings) may refer to themselves through an anchor.
const (
	maxVisits     = 1 << 17
	maxMergeDepth = 32
	maxKeyGroups  = 255 // Shamir shares are numbered by one byte
)

// mapSpec says which fields a mapping of the file may hold.
type mapSpec struct {
	known []string
	// hints explain names that are plausible mistakes but too far from
	// the right one for a spelling suggestion.
	hints map[string]string
	// free accepts any name (a KMS encryption context).
	free bool
	// anchorHolders accepts, and ignores, an unknown field whose value
	// defines anchors: the top-level "keys:" list of anchored keys that
	// sops-nix and many others use, which sops ignores.
	anchorHolders bool
}

// Parse parses the text of a config file. An empty file, or one holding
// only comments or null, is a config with no rules. Errors are *Error
// values, located by line and field path.
func Parse(data []byte) (*Config, error) {
	c := &Config{Stores: Stores{JSONIndent: -1, JSONBinaryIndent: -1}}
	doc, err := decodeDocument(data)
	if err != nil || doc == nil || len(doc.Content) == 0 {
		return nilIfErr(c, err)
	}
	p := &parser{lines: strings.Split(string(data), "\n")}
	root := doc.Content[0]
	if isNull(root) {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, p.fail(root, "", "the file must be a mapping of creation_rules, destination_rules and stores, got %s", describe(root))
	}
	entries, err := p.fields(root, "", topSpec)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		switch e.name {
		case "creation_rules":
			err = p.creationRules(e.val, c)
		case "destination_rules":
			err = p.destinationRules(e.val, c)
		case "stores":
			err = p.stores(e.val, &c.Stores)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func nilIfErr(c *Config, err error) (*Config, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

// decodeDocument returns the first YAML document, nil for a file with
// none. sops reads only the first document and ignores the rest; a later
// document that holds something is refused, since whatever it says would
// be silently ignored.
func decodeDocument(data []byte) (doc *yaml.Node, err error) {
	// The YAML library reports its own failures as errors; should it
	// panic on some input nonetheless, a broken file must not bring down
	// a command that only wanted the store options.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, &Error{Err: fmt.Errorf("cannot read the YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlError(err, data)
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			return &first, nil
		}
		if err != nil {
			return nil, yamlError(err, data)
		}
		if len(next.Content) > 0 && !isNull(next.Content[0]) {
			return nil, &Error{Line: next.Content[0].Line, Column: next.Content[0].Column,
				Err: errors.New("a second YAML document (after ---) is ignored by sops; move its content into the first one")}
		}
	}
}

// yamlError turns a syntax error of the YAML library, "yaml: line N:
// message", into an *Error with the best line it can find. The library
// counts lines from 0 for the errors of its parser (not its scanner),
// leaves the line out when it is the first, and gives none for an alias
// to an unknown anchor or a character YAML does not allow.
func yamlError(err error, data []byte) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, text
			}
		}
	}
	switch {
	case strings.HasPrefix(msg, "did not find expected") || strings.HasPrefix(msg, "found duplicate %") ||
		msg == "found incompatible YAML document" || msg == "found undefined tag handle":
		line++
	case line > 0:
	case strings.HasPrefix(msg, "unknown anchor '"):
		name, _, _ := strings.Cut(strings.TrimPrefix(msg, "unknown anchor '"), "' referenced")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			line = bytes.Count(data[:i], []byte("\n")) + 1
		}
	case strings.Contains(msg, "UTF-") || strings.Contains(msg, "Unicode") || strings.Contains(msg, "surrogate") ||
		strings.Contains(msg, "control characters"):
		line = badCharLine(data)
	default:
		line = 1
	}
	return &Error{Line: line, Err: errors.New(msg)}
}

// badCharLine gives the line of the first byte that is not valid UTF-8
// or not a character YAML allows, 0 if there is none.
func badCharLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		ok := r != utf8.RuneError || size > 1
		switch {
		case r == '\n':
			line++
		case r == '\t' || r == '\r' || r == 0x85 || r == 0xFEFF:
		case r < 0x20 || r >= 0x7F && r < 0xA0 || r >= 0xD800 && r < 0xE000 || r == 0xFFFE || r == 0xFFFF:
			ok = false
		}
		if !ok {
			return line
		}
		i += size
	}
	return 0
}

// parser walks the node tree of one file.
type parser struct {
	lines   []string
	visits  int
	regexps map[string]*regexp.Regexp
	// starts caches valueStart by scalar.
	starts map[*yaml.Node]int
	// open holds the mappings being read, by kind ("<<" or "merge"), to
	// catch one that merges itself in through an alias.
	open map[openKey]bool
}

type openKey struct {
	n    *yaml.Node
	kind string
}

// enter marks a mapping as being read; it fails when it already is. The
// caller calls the returned function when done.
func (p *parser) enter(v, at *yaml.Node, field, kind string) (func(), error) {
	k := openKey{v, kind}
	if p.open[k] {
		return nil, p.fail(at, field, "the mapping includes itself through an alias (%s)", kind)
	}
	if p.open == nil {
		p.open = map[openKey]bool{}
	}
	p.open[k] = true
	return func() { delete(p.open, k) }, nil
}

func (p *parser) fail(n *yaml.Node, field, format string, args ...any) error {
	e := &Error{Field: field, Err: fmt.Errorf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// spend counts work against maxVisits.
func (p *parser) spend(units int, n *yaml.Node, field string) error {
	p.visits += units
	if p.visits > maxVisits {
		return p.fail(n, field, "the file is too large once its aliases are expanded (more than %d nodes)", maxVisits)
	}
	return nil
}

// resolve follows an alias to its anchored node, and counts the visit.
// A scalar reached through an alias also costs by its length, since it
// can be reused many times but is then read in full each time.
func (p *parser) resolve(n *yaml.Node, field string) (*yaml.Node, error) {
	if err := p.spend(1, n, field); err != nil {
		return nil, err
	}
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 8 {
			return nil, p.fail(n, field, "alias *%s names no anchored value", n.Value)
		}
		if err := p.spend(len(n.Alias.Value)/16, n, field); err != nil {
			return nil, err
		}
		n = n.Alias
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a (resolved) node's kind for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return quote(n.Value)
		}
		return strings.TrimSuffix(strings.TrimPrefix(quote(n.Value), `"`), `"`)
	}
	return "nothing"
}

// quote quotes a value for a message, cut short when it is long: a
// message shows no more than the field's own value, and a little of it
// is enough to find it.
func quote(s string) string {
	const limit = 200
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// entry is one field of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

// fields reads a mapping: each field once, known to spec, in file order,
// followed by the fields brought in by << merge keys that the mapping
// does not set itself. A null value is an empty mapping.
func (p *parser) fields(n *yaml.Node, field string, spec *mapSpec) ([]entry, error) {
	return p.fieldsAt(n, field, spec, 0)
}

func (p *parser) fieldsAt(n *yaml.Node, field string, spec *mapSpec, depth int) ([]entry, error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return nil, err
	}
	if v.Kind != yaml.MappingNode {
		return nil, p.fail(n, field, "must be a mapping, got %s", describe(v))
	}
	leave, err := p.enter(v, n, field, "<<")
	if err != nil {
		return nil, err
	}
	defer leave()
	var out, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		kv, err := p.resolve(k, field)
		if err != nil {
			return nil, err
		}
		if kv.Kind != yaml.ScalarNode {
			return nil, p.fail(k, field, "field names must be strings, got %s", describe(kv))
		}
		if kv.ShortTag() == "!!merge" {
			if depth >= maxMergeDepth {
				return nil, p.fail(k, field, "<< merges nested more than %d deep", maxMergeDepth)
			}
			m, err := p.mergeKey(val, field, spec, depth+1)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		name := kv.Value
		if first, dup := seen[name]; dup {
			return nil, p.fail(k, field, "duplicate field %s (first set at line %d)", quote(name), first.Line)
		}
		seen[name] = k
		if !spec.free && !slices.Contains(spec.known, name) {
			if spec.anchorHolders && holdsAnchors(val) && suggest(name, spec.known) == "" {
				continue
			}
			return nil, p.fail(k, field, "unknown field %s%s", quote(name), spec.advice(name))
		}
		out = append(out, entry{name, k, val})
	}
	// In a << merge, the mapping's own fields win, then earlier merged
	// mappings over later ones.
	for _, m := range merged {
		if _, ok := seen[m.name]; !ok {
			seen[m.name] = m.key
			out = append(out, m)
		}
	}
	return out, nil
}

// mergeKey reads the value of a << key: a mapping, or a list of them.
func (p *parser) mergeKey(n *yaml.Node, field string, spec *mapSpec, depth int) ([]entry, error) {
	v, err := p.resolve(n, field)
	if err != nil {
		return nil, err
	}
	switch v.Kind {
	case yaml.MappingNode:
		return p.fieldsAt(n, field, spec, depth)
	case yaml.SequenceNode:
		var out []entry
		for _, item := range v.Content {
			iv, err := p.resolve(item, field)
			if err != nil {
				return nil, err
			}
			if iv.Kind != yaml.MappingNode {
				return nil, p.fail(item, field, "<< must merge a mapping or a list of mappings, got %s in the list", describe(iv))
			}
			es, err := p.fieldsAt(item, field, spec, depth)
			if err != nil {
				return nil, err
			}
			out = append(out, es...)
		}
		return out, nil
	}
	return nil, p.fail(n, field, "<< must merge a mapping or a list of mappings, got %s", describe(v))
}

// holdsAnchors says whether a value defines an anchor, without following
// aliases.
func holdsAnchors(n *yaml.Node) bool {
	if n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if holdsAnchors(c) {
			return true
		}
	}
	return false
}

// advice completes an "unknown field" message.
func (s *mapSpec) advice(name string) string {
	if h, ok := s.hints[name]; ok {
		return " (" + h + ")"
	}
	if g := suggest(name, s.known); g != "" {
		return fmt.Sprintf(" (did you mean %q?)", g)
	}
	switch {
	case len(s.known) == 0:
		return " (no options exist here)"
	case len(s.known) <= 5:
		return " (known fields: " + strings.Join(s.known, ", ") + ")"
	}
	return ""
}

// items reads a list; list says whether there was one (null is none).
func (p *parser) items(n *yaml.Node, field string) (items []*yaml.Node, list bool, err error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return nil, false, err
	}
	if v.Kind != yaml.SequenceNode {
		return nil, false, p.fail(n, field, "must be a list, got %s", describe(v))
	}
	return v.Content, true, nil
}

// str reads a string field. Like sops, which decodes it with yaml.v3, it
// takes any scalar by its text (path_regex: 2024 is "2024"); null is "".
func (p *parser) str(n *yaml.Node, field string) (string, error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return "", err
	}
	if v.Kind != yaml.ScalarNode {
		return "", p.fail(n, field, "must be a string, got %s", describe(v))
	}
	var s string
	if err := v.Decode(&s); err != nil {
		return "", p.fail(n, field, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return s, nil
}

// integer reads a whole number; null is 0. sops would also take 2.7 as 2;
// a fractional threshold or indent is refused here.
func (p *parser) integer(n *yaml.Node, field string) (int, error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return 0, err
	}
	if v.Kind != yaml.ScalarNode {
		return 0, p.fail(n, field, "must be a number, got %s", describe(v))
	}
	switch v.ShortTag() {
	case "!!int":
		var i int
		if err := v.Decode(&i); err != nil {
			return 0, p.fail(n, field, "%s is out of range", v.Value)
		}
		return i, nil
	case "!!float":
		return 0, p.fail(n, field, "must be a whole number, got %s", v.Value)
	}
	return 0, p.fail(n, field, "must be a number, got %s", describe(v))
}

// boolean reads true or false, with the yes/no/on/off spellings that
// yaml.v3 (and so sops) also accepts for a boolean field; null is false.
func (p *parser) boolean(n *yaml.Node, field string) (bool, error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return false, err
	}
	var b bool
	if v.Kind != yaml.ScalarNode || v.Decode(&b) != nil {
		return false, p.fail(n, field, "must be true or false, got %s", describe(v))
	}
	return b, nil
}

// regex compiles a regular expression field ("" compiles to nil). Each
// text is compiled once, however often aliases repeat it.
func (p *parser) regex(n *yaml.Node, field, s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	if re, ok := p.regexps[s]; ok {
		return re, nil
	}
	re, err := regexp.Compile(s)
	if err == nil {
		if p.regexps == nil {
			p.regexps = map[string]*regexp.Regexp{}
		}
		p.regexps[s] = re
	}
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			if se.Expr != "" && se.Expr != s {
				return nil, p.fail(n, field, "invalid regular expression %s: %s %s", quote(s), se.Code, quote(se.Expr))
			}
			return nil, p.fail(n, field, "invalid regular expression %s: %s", quote(s), se.Code)
		}
		return nil, p.fail(n, field, "invalid regular expression %s: %v", quote(s), err)
	}
	return re, nil
}

// column gives the column of the character offset runes into a scalar's
// value, when the value is written verbatim on its line (plain or quoted
// without escapes); otherwise the scalar's own column.
func (p *parser) column(n *yaml.Node, offset int) int {
	start, ok := p.starts[n]
	if !ok {
		start = p.valueStart(n)
		if p.starts == nil {
			p.starts = map[*yaml.Node]int{}
		}
		p.starts[n] = start
	}
	if start == 0 {
		return n.Column
	}
	return start + offset
}

// valueStart gives the column where a scalar's value starts when it is
// written verbatim on its line, 0 otherwise.
func (p *parser) valueStart(n *yaml.Node) int {
	if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(p.lines) || n.Column < 1 {
		return 0
	}
	start := n.Column - 1 // in runes, from 0
	switch n.Style {
	case 0:
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		start++
	default:
		return 0
	}
	line := strings.TrimSuffix(p.lines[n.Line-1], "\r")
	i := 0 // byte index of rune start
	for range start {
		if i >= len(line) {
			return 0
		}
		_, size := utf8.DecodeRuneInString(line[i:])
		i += size
	}
	if !strings.HasPrefix(line[i:], n.Value) {
		return 0
	}
	return start + 1
}

// piece is one comma-separated part of a key string, trimmed; offset is
// where the trimmed text starts, in runes.
type piece struct {
	text   string
	offset int
}

func pieces(s string) []piece {
	var out []piece
	off := 0
	for _, part := range strings.Split(s, ",") {
		lead := len(part) - len(strings.TrimLeftFunc(part, unicode.IsSpace))
		out = append(out, piece{strings.TrimSpace(part), off + utf8.RuneCountInString(part[:lead])})
		off += utf8.RuneCountInString(part) + 1
	}
	return out
}
