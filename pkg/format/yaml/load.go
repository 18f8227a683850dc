// Package yaml reads and writes YAML files the way SOPS 3.13.2 does, through
// the node API of go.yaml.in/yaml/v3 (the library SOPS uses), so that what
// kura writes is byte-identical to what sops writes.
//
// Loading keeps comments as tree items in the positions SOPS gives them,
// expands anchors and aliases into copies, and keeps merge keys ("<<") as
// literal keys. Emitting builds fresh nodes in SOPS's style: block
// collections, the configured indent, plain scalars where they stay
// unambiguous.
package yaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// Store is the YAML format. Indent is the number of spaces per level on
// output; zero means the SOPS default of 4.
type Store struct {
	Indent int
}

// DefaultIndent is the indent SOPS writes YAML with.
const DefaultIndent = 4

var _ format.Store = Store{}

// LoadPlain parses every document of a YAML stream.
//
// The first document is checked as SOPS checks it by decoding it into a Go
// map: duplicate keys, a non-mapping document and malformed merges are
// errors there. A stream that holds no document at all (only comments or
// blank lines) is an error too; an empty input gives no documents, which
// callers refuse with their own message.
func (s Store) LoadPlain(data []byte) ([]tree.Document, error) {
	if docs, ok := fastLoad(data); ok {
		return docs, nil
	}
	return loadNodes(data)
}

// loadNodes is LoadPlain through yaml.v3's nodes: the reference behaviour,
// taken for everything fastLoad does not handle.
func loadNodes(data []byte) ([]tree.Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []tree.Document
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, cleanErr(err))
		}
		c := converter{strict: i == 0}
		doc, err := c.document(&n)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 && len(data) > 0 {
		return nil, errors.New("the file holds no YAML document (only comments or blank lines)")
	}
	return docs, nil
}

// LoadEncrypted parses an encrypted YAML file and takes the metadata out of
// it. Every document carries a copy of the "sops" entry; the first one is
// the one that counts.
func (s Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, err := s.LoadPlain(data)
	if err != nil {
		return nil, nil, err
	}
	return format.SplitMetadata(docs)
}

// LoadEncryptedShared is LoadEncrypted with the tree's strings pointing
// into data where the fast loader reads it (format.SharedLoader).
func (s Store) LoadEncryptedShared(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, ok := fastLoadData(data, true)
	if !ok {
		var err error
		if docs, err = loadNodes(data); err != nil {
			return nil, nil, err
		}
	}
	return format.SplitMetadata(docs)
}

// LoadPlainShared is LoadPlain with the tree's strings pointing into data
// where the fast loader reads it (format.SharedLoader).
func (s Store) LoadPlainShared(data []byte) ([]tree.Document, error) {
	if docs, ok := fastLoadData(data, true); ok {
		return docs, nil
	}
	return loadNodes(data)
}

var _ format.SharedLoader = Store{}

// HasMetadataKey reports whether doc has a top-level "sops" entry.
func (s Store) HasMetadataKey(doc tree.Document) bool {
	return format.HasTopLevelKey(doc, format.MetadataKey)
}

// cleanErr drops the library's "yaml: " prefix; callers add their own
// context.
func cleanErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return errors.New(msg)
}

// converter turns one document's nodes into tree values.
type converter struct {
	// strict applies the checks SOPS makes on the first document only.
	strict bool
	// nodes counts values built from the text, aliased counts values built
	// by expanding aliases; together they bound alias expansion so that a
	// small file cannot expand into billions of values.
	nodes, aliased int
	inAlias        int
	// expanding holds the anchored nodes being expanded, to refuse an
	// anchor that contains an alias to itself.
	expanding map[*yaml.Node]bool
}

// enterAlias starts expanding the target of an alias.
func (c *converter) enterAlias(n *yaml.Node) error {
	if c.expanding[n.Alias] {
		return fmt.Errorf("line %d: anchor %q contains an alias to itself", n.Line, n.Value)
	}
	if c.expanding == nil {
		c.expanding = make(map[*yaml.Node]bool)
	}
	c.expanding[n.Alias] = true
	c.inAlias++
	return nil
}

func (c *converter) leaveAlias(n *yaml.Node) {
	delete(c.expanding, n.Alias)
	c.inAlias--
}

// maxAliased bounds the values alias expansion may create: generous for
// real files that reuse anchors, fatal for "billion laughs" documents.
func (c *converter) maxAliased() int { return 100000 + 10*c.nodes }

func (c *converter) count() error {
	if c.inAlias > 0 {
		c.aliased++
		if c.aliased > c.maxAliased() {
			return errors.New("document contains excessive aliasing")
		}
	} else {
		c.nodes++
	}
	return nil
}

func (c *converter) document(n *yaml.Node) (tree.Document, error) {
	items := make([]tree.Item, 0, 8)
	items, err := c.appendBranch(n, items, false)
	return tree.Document(items), err
}

// commentItems appends the lines of a yaml.v3 comment as comment items.
// yaml.v3 keeps each comment block as one string with the '#' of every
// line; blank lines inside it are dropped, as SOPS drops them.
func commentItems(comment string, items []tree.Item, inline bool) []tree.Item {
	if comment == "" {
		return items
	}
	for line := range strings.SplitSeq(comment, "\n") {
		if line != "" {
			items = append(items, tree.CommentItem(line[1:], inline))
		}
	}
	return items
}

func commentElems(comment string, elems []tree.Value, inline bool) []tree.Value {
	if comment == "" {
		return elems
	}
	for line := range strings.SplitSeq(comment, "\n") {
		if line != "" {
			elems = append(elems, tree.CommentV(line[1:], inline))
		}
	}
	return elems
}

// appendBranch appends the entries of a document, mapping or alias to a
// mapping to items. handled says whether the caller already placed the
// node's own head and line comments.
func (c *converter) appendBranch(n *yaml.Node, items []tree.Item, handled bool) ([]tree.Item, error) {
	var err error
	if !handled {
		items = commentItems(n.HeadComment, items, false)
		items = commentItems(n.LineComment, items, false)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, child := range n.Content {
			if items, err = c.appendBranch(child, items, false); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		return nil, errors.New("a YAML document must be a mapping, not a sequence")
	case yaml.ScalarNode:
		// "---" alone, or a document that is only a null, is empty.
		if n.ShortTag() != "!!null" {
			return nil, errors.New("a YAML document must be a mapping, not a single value")
		}
	case yaml.AliasNode:
		if err := c.enterAlias(n); err != nil {
			return nil, err
		}
		items, err = c.appendBranch(n.Alias, items, false)
		c.leaveAlias(n)
		if err != nil {
			return nil, err
		}
	case yaml.MappingNode:
		if c.strict {
			if err := checkMapping(n); err != nil {
				return nil, err
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i], n.Content[i+1]
			items = commentItems(key.HeadComment, items, false)
			items = commentItems(key.LineComment, items, false)
			leafComments := value.Kind == yaml.ScalarNode || value.Kind == yaml.AliasNode
			if leafComments {
				items = commentItems(value.HeadComment, items, false)
				items = commentItems(value.LineComment, items, true)
			}
			k, err := c.key(key)
			if err != nil {
				return nil, err
			}
			v, err := c.value(value, leafComments)
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k.Str, err)
			}
			items = append(items, tree.Item{Key: k, Value: v})
			if leafComments {
				items = commentItems(value.FootComment, items, false)
			}
			items = commentItems(key.FootComment, items, false)
		}
	}
	if !handled {
		items = commentItems(n.FootComment, items, false)
	}
	return items, nil
}

// value converts a node below a key or in a sequence.
func (c *converter) value(n *yaml.Node, handled bool) (tree.Value, error) {
	if err := c.count(); err != nil {
		return tree.Value{}, err
	}
	switch n.Kind {
	case yaml.SequenceNode:
		elems := make([]tree.Value, 0, len(n.Content))
		if !handled {
			elems = commentElems(n.HeadComment, elems, false)
			elems = commentElems(n.LineComment, elems, false)
		}
		for i, child := range n.Content {
			elems = commentElems(child.HeadComment, elems, false)
			elems = commentElems(child.LineComment, elems, true)
			v, err := c.value(child, true)
			if err != nil {
				return tree.Value{}, fmt.Errorf("item %d: %w", i, err)
			}
			elems = append(elems, v)
			elems = commentElems(child.FootComment, elems, false)
		}
		if !handled {
			elems = commentElems(n.FootComment, elems, false)
		}
		return tree.ListV(elems), nil
	case yaml.MappingNode:
		items, err := c.appendBranch(n, make([]tree.Item, 0, len(n.Content)/2), handled)
		if err != nil {
			return tree.Value{}, err
		}
		return tree.MapV(items), nil
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.AliasNode:
		if err := c.enterAlias(n); err != nil {
			return tree.Value{}, err
		}
		defer c.leaveAlias(n)
		return c.value(n.Alias, false)
	}
	return tree.Value{}, nil
}

// key converts a mapping key. Keys are scalars; YAML allows mappings and
// sequences as keys, SOPS does not.
func (c *converter) key(n *yaml.Node) (tree.Value, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return tree.Value{}, fmt.Errorf("line %d: a mapping or sequence used as a key is not supported", n.Line)
	}
	return scalar(n)
}

// scalar converts a scalar node to a typed value, resolving it exactly as
// yaml.v3 does when it decodes into an interface{} (this decides the type
// tag SOPS writes and what the MAC hashes). Strings, the common case, take
// the short path.
func scalar(n *yaml.Node) (tree.Value, error) {
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 && (n.Tag == "" || n.Tag == "!" || n.Tag == "!!str") ||
		n.Tag == "!!str" {
		return tree.Str(n.Value), nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return tree.Value{}, fmt.Errorf("line %d: %s value does not parse", n.Line, n.ShortTag())
	}
	switch v := v.(type) {
	case nil:
		return tree.Value{}, nil
	case string:
		return tree.Str(v), nil
	case int:
		return tree.IntV(int64(v)), nil
	case int64:
		return tree.IntV(v), nil
	case uint64:
		return tree.UintV(v), nil
	case float64:
		return tree.FloatV(v), nil
	case bool:
		return tree.BoolV(v), nil
	case time.Time:
		return tree.TimeV(v), nil
	}
	return tree.Value{}, fmt.Errorf("line %d: unsupported scalar of type %T", n.Line, v)
}

// checkMapping makes the checks that decoding into a Go map makes in SOPS:
// no key twice (compared as written, like yaml.v3 does) and merge values
// that are mappings.
func checkMapping(n *yaml.Node) error {
	type keyID struct {
		kind  yaml.Kind
		value string
	}
	var seen map[keyID]int
	if len(n.Content) > 16 {
		seen = make(map[keyID]int, len(n.Content)/2)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		id := keyID{k.Kind, k.Value}
		if seen != nil {
			if line, dup := seen[id]; dup {
				return fmt.Errorf("line %d: mapping key %q already defined at line %d", k.Line, k.Value, line)
			}
			seen[id] = k.Line
		} else {
			for j := 0; j < i; j += 2 {
				p := n.Content[j]
				if p.Kind == k.Kind && p.Value == k.Value {
					return fmt.Errorf("line %d: mapping key %q already defined at line %d", k.Line, k.Value, p.Line)
				}
			}
		}
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" && !mergeable(n.Content[i+1]) {
			return fmt.Errorf("line %d: map merge requires map or sequence of maps as the value", k.Line)
		}
	}
	return nil
}

func mergeable(v *yaml.Node) bool {
	isMap := func(n *yaml.Node) bool {
		for n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		return n.Kind == yaml.MappingNode
	}
	if isMap(v) {
		return true
	}
	for v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	if v.Kind != yaml.SequenceNode {
		return false
	}
	for _, e := range v.Content {
		if !isMap(e) {
			return false
		}
	}
	return true
}
