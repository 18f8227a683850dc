package format

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// dotenv and INI cannot nest, so SOPS writes its metadata tree there as one
// entry per leaf and spells the path to the leaf into the entry's name:
// "age__list_0__map_enc" is the "enc" field of the first element of the
// "age" list. The two markers below are the whole grammar.
const (
	mapMarker  = "__map_"
	listMarker = "__list_"
)

// maxFlatDepth bounds how deep Unflatten will nest. SOPS metadata is at
// most five levels deep (key_groups, a group, a key type, a key, a KMS
// context); the bound only stops a hostile file from making us build a
// tree deep enough to exhaust the stack.
const maxFlatDepth = 64

// Flatten turns a metadata tree into flat entries as dotenv (prefix
// "sops_") and INI (no prefix) store it: a map entry k below path p is
// named p__map_k, the i-th list element p__list_i, where i counts only the
// non-comment elements. Entries come out in the tree's own order, which
// for metadata is alphabetical. Empty maps and lists leave no entry at all,
// so they do not survive a round trip; SOPS's reader does not need them.
//
// Scalars keep their type: the stores turn them into text when they write
// (see FlatText). Two paths that spell the same name are an error rather
// than a silent overwrite.
func Flatten(meta []tree.Item, prefix string) ([]tree.Item, error) {
	f := flattener{seen: make(map[string]struct{}, len(meta))}
	if err := f.items(meta, prefix); err != nil {
		return nil, err
	}
	return f.out, nil
}

type flattener struct {
	out  []tree.Item
	seen map[string]struct{}
}

func (f *flattener) items(items []tree.Item, prefix string) error {
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		if it.Key.Kind != tree.String {
			return fmt.Errorf("cannot flatten metadata: a key below %q is a %s, not a string", prefix, it.Key.Kind)
		}
		if err := f.value(it.Value, prefix+it.Key.Str); err != nil {
			return err
		}
	}
	return nil
}

func (f *flattener) value(v tree.Value, name string) error {
	switch v.Kind {
	case tree.Map:
		return f.items(v.Items(), name+mapMarker)
	case tree.List:
		i := 0
		for _, e := range v.Elems() {
			if e.Kind == tree.Comment {
				continue
			}
			if err := f.value(e, name+listMarker+strconv.Itoa(i)); err != nil {
				return err
			}
			i++
		}
		return nil
	}
	if _, dup := f.seen[name]; dup {
		return fmt.Errorf("cannot flatten metadata: two entries would both be named %q", name)
	}
	f.seen[name] = struct{}{}
	f.out = append(f.out, tree.KeyItem(name, v))
	return nil
}

// Unflatten rebuilds the metadata tree from flat entries whose prefix the
// store has already removed. Values are passed through untouched (in
// dotenv and INI they are all strings; the metadata parser reads them
// weakly typed, as SOPS does). Comment items are ignored.
//
// Like SOPS, the rebuilt maps are sorted by key, whatever order the file
// listed them in, and lists must be complete: indices 0 to n-1, each once.
// An entry that is both a value and a container, or both a map and a list,
// is a type mismatch. A name that really contains "__map_" or "__list_" is
// read as a path; SOPS has the same ambiguity and never writes such names.
func Unflatten(items []tree.Item) ([]tree.Item, error) {
	root := &flatNode{}
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		if it.Key.Kind != tree.String {
			return nil, fmt.Errorf("cannot unflatten metadata: found a %s key", it.Key.Kind)
		}
		if err := root.place(it.Key.Str, it.Value); err != nil {
			return nil, fmt.Errorf("cannot unflatten metadata entry %q: %w", it.Key.Str, err)
		}
	}
	if root.keys == nil {
		return []tree.Item{}, nil
	}
	v, err := root.build("")
	if err != nil {
		return nil, fmt.Errorf("cannot unflatten metadata: %w", err)
	}
	return v.Items(), nil
}

// flatNode is one node of the tree being rebuilt. A node may end up with
// a value, map children or list children; more than one is an error that
// is only reported once every entry is placed, as SOPS does.
type flatNode struct {
	hasValue bool
	value    tree.Value
	keys     map[string]*flatNode
	elems    map[int]*flatNode
}

func (n *flatNode) place(name string, v tree.Value) error {
	depth := 0
	// The first segment, before any marker, is a map key of the root.
	seg, rest := nextSegment(name)
	n = n.child(seg)
	for rest != "" {
		if depth++; depth > maxFlatDepth {
			return errors.New("nested too deeply")
		}
		isList := strings.HasPrefix(rest, listMarker)
		if isList {
			rest = rest[len(listMarker):]
		} else {
			rest = rest[len(mapMarker):]
		}
		seg, rest = nextSegment(rest)
		if !isList {
			n = n.child(seg)
			continue
		}
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 {
			return fmt.Errorf("invalid list index %q", seg)
		}
		if n.elems == nil {
			n.elems = make(map[int]*flatNode)
		}
		next := n.elems[i]
		if next == nil {
			next = &flatNode{}
			n.elems[i] = next
		}
		n = next
	}
	if n.hasValue {
		return errors.New("duplicate entry")
	}
	n.hasValue, n.value = true, v
	return nil
}

func (n *flatNode) child(key string) *flatNode {
	if n.keys == nil {
		n.keys = make(map[string]*flatNode)
	}
	c := n.keys[key]
	if c == nil {
		c = &flatNode{}
		n.keys[key] = c
	}
	return c
}

// nextSegment splits s at the first marker: the text before it, and the
// rest starting with the marker (or "" when there is none).
func nextSegment(s string) (seg, rest string) {
	for i := 0; i+len(mapMarker) <= len(s); i++ {
		if s[i] != '_' || s[i+1] != '_' {
			continue
		}
		if strings.HasPrefix(s[i:], mapMarker) || strings.HasPrefix(s[i:], listMarker) {
			return s[:i], s[i:]
		}
	}
	return s, ""
}

func (n *flatNode) build(path string) (tree.Value, error) {
	kinds := 0
	for _, has := range []bool{n.hasValue, len(n.keys) > 0, len(n.elems) > 0} {
		if has {
			kinds++
		}
	}
	if kinds > 1 {
		return tree.Value{}, fmt.Errorf("type mismatch at %q: it is more than one of a value, a map and a list", path)
	}
	switch {
	case n.hasValue:
		return n.value, nil
	case len(n.elems) > 0:
		elems := make([]tree.Value, len(n.elems))
		for i := range elems {
			c := n.elems[i]
			if c == nil {
				return tree.Value{}, fmt.Errorf("incomplete list at %q: element %d is missing", path, i)
			}
			v, err := c.build(path + listMarker + strconv.Itoa(i))
			if err != nil {
				return tree.Value{}, err
			}
			elems[i] = v
		}
		return tree.ListV(elems), nil
	}
	items := make([]tree.Item, 0, len(n.keys))
	for _, k := range slices.Sorted(maps.Keys(n.keys)) {
		sub := k
		if path != "" {
			sub = path + mapMarker + k
		}
		v, err := n.keys[k].build(sub)
		if err != nil {
			return tree.Value{}, err
		}
		items = append(items, tree.KeyItem(k, v))
	}
	return tree.MapV(items), nil
}

// FlatText returns the text dotenv and INI write for a scalar value, the
// way SOPS's flat stores print values that did not start life as strings
// (after a conversion from YAML or JSON, or for the metadata's
// shamir_threshold and mac_only_encrypted). Strings are returned as they
// are; escaping is the store's business.
//
// Note that this is not the canonical text that gets encrypted and hashed
// (tree.Value.Canonical): booleans are lower case here, floats always show
// a decimal point or an exponent (1.0, 1E+21), and times are whole seconds
// in their own zone. A null prints as "<nil>", which is what SOPS writes.
//
// The second result is false for maps and lists, which have no flat text.
func FlatText(v tree.Value) (string, bool) {
	switch v.Kind {
	case tree.String:
		return v.Str, true
	case tree.Int:
		return strconv.FormatInt(v.Int(), 10), true
	case tree.Uint:
		return strconv.FormatUint(v.Uint(), 10), true
	case tree.Float:
		s := strconv.FormatFloat(v.Float(), 'G', -1, 64)
		if !strings.ContainsAny(s, ".E") {
			s = strconv.FormatFloat(v.Float(), 'f', 1, 64)
		}
		return s, true
	case tree.Bool:
		return strconv.FormatBool(v.Bool()), true
	case tree.Time:
		return v.Time().Format(time.RFC3339), true
	case tree.Null:
		return "<nil>", true
	case tree.Comment:
		// Only reachable for a comment misplaced as a value; SOPS prints
		// its comment struct.
		return "{" + v.Str + " " + strconv.FormatBool(v.Inline) + "}", true
	}
	return "", false
}
