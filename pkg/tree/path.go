package tree

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// PathStep is one step of a tree path: a map key, or an index into a list.
type PathStep struct {
	Key   string
	Index int
	// IsIndex says which of the two the step is.
	IsIndex bool
}

func (s PathStep) String() string {
	if s.IsIndex {
		return "[" + strconv.Itoa(s.Index) + "]"
	}
	return "[" + strconv.Quote(s.Key) + "]"
}

// ParsePath parses the path syntax of sops's --extract, set and unset:
// bracketed steps such as ["a"]['b'][0]. A step in quotes (double or
// single) is a key, taken as written between the quotes with no escapes;
// any other step is a decimal list index.
func ParsePath(s string) ([]PathStep, error) {
	var path []PathStep
	for _, part := range strings.Split(s, "[") {
		if part == "" {
			continue
		}
		if !strings.HasSuffix(part, "]") {
			return nil, fmt.Errorf("component %s doesn't end with ]", part)
		}
		part = part[:len(part)-1]
		if part != "" && (part[0] == '"' || part[0] == '\'') {
			if len(part) < 2 || part[len(part)-1] != part[0] {
				return nil, fmt.Errorf("component [%s] has no closing quote", part)
			}
			path = append(path, PathStep{Key: part[1 : len(part)-1]})
			continue
		}
		i, err := strconv.Atoi(part)
		if err != nil || i < 0 {
			return nil, fmt.Errorf("component [%s] is neither a quoted key nor a list index", part)
		}
		path = append(path, PathStep{Index: i, IsIndex: true})
	}
	if len(path) == 0 {
		return nil, errors.New("the path is empty")
	}
	return path, nil
}

// FormatPath writes a path in the syntax ParsePath reads.
func FormatPath(p []PathStep) string {
	var b strings.Builder
	for _, s := range p {
		b.WriteString(s.String())
	}
	return b.String()
}

// Lookup follows path from a document's root. List indices count values
// only, not comments.
func Lookup(doc Document, path []PathStep) (Value, error) {
	cur := MapV(doc)
	for i, step := range path {
		where := FormatPath(path[:i+1])
		switch {
		case step.IsIndex:
			if cur.Kind != List {
				return Value{}, fmt.Errorf("component %s is an index, but %s is not a list", where, FormatPath(path[:i]))
			}
			n := -1
			found := false
			for _, e := range cur.Elems() {
				if e.Kind == Comment {
					continue
				}
				n++
				if n == step.Index {
					cur, found = e, true
					break
				}
			}
			if !found {
				return Value{}, fmt.Errorf("component %s is out of bounds", where)
			}
		default:
			if cur.Kind != Map {
				return Value{}, fmt.Errorf("component %s is a key, but the value there is not a map", where)
			}
			v, ok := Get(cur.Items(), step.Key)
			if !ok {
				return Value{}, fmt.Errorf("component %s not found", where)
			}
			cur = v
		}
	}
	return cur, nil
}

// Set puts v at path in doc, creating the maps (or, before an index, the
// lists) that are missing on the way, as sops's set does. An index at or
// beyond the end of a list appends. It returns the changed document.
func Set(doc Document, path []PathStep, v Value) (Document, error) {
	root := MapV(doc)
	if err := set(&root, path, v, 0); err != nil {
		return nil, err
	}
	return Document(root.Items()), nil
}

func set(cur *Value, path []PathStep, v Value, depth int) error {
	step := path[0]
	where := FormatPath(path[:1])
	if step.IsIndex {
		if cur.Kind == Null {
			*cur = ListV(nil)
		}
		if cur.Kind != List {
			return fmt.Errorf("component %s is an index, but the value there is not a list", where)
		}
		n := -1
		for i := range cur.Elems() {
			if cur.Elems()[i].Kind == Comment {
				continue
			}
			n++
			if n == step.Index {
				if len(path) == 1 {
					cur.Elems()[i] = v
					return nil
				}
				return set(&cur.Elems()[i], path[1:], v, depth+1)
			}
		}
		cur.SetElems(append(cur.Elems(), Value{}))
		last := &cur.Elems()[len(cur.Elems())-1]
		if len(path) == 1 {
			*last = v
			return nil
		}
		return set(last, path[1:], v, depth+1)
	}
	if cur.Kind == Null {
		*cur = MapV(nil)
	}
	if cur.Kind != Map {
		return fmt.Errorf("component %s is a key, but the value there is not a map", where)
	}
	for i := range cur.Items() {
		it := &cur.Items()[i]
		if it.Key.Kind == String && it.Key.Str == step.Key {
			if len(path) == 1 {
				it.Value = v
				return nil
			}
			return set(&it.Value, path[1:], v, depth+1)
		}
	}
	cur.SetItems(append(cur.Items(), KeyItem(step.Key, Value{})))
	last := &cur.Items()[len(cur.Items())-1].Value
	if len(path) == 1 {
		*last = v
		return nil
	}
	return set(last, path[1:], v, depth+1)
}

// ErrNotFound means a path names nothing in the document.
var ErrNotFound = errors.New("not found")

// Unset removes the value at path (a map entry or a list element) and
// returns the changed document. A path that names nothing gives an error
// wrapping ErrNotFound.
func Unset(doc Document, path []PathStep) (Document, error) {
	root := MapV(doc)
	parent := &root
	for i, step := range path[:len(path)-1] {
		next, err := child(parent, step)
		if err != nil {
			return nil, fmt.Errorf("component %s: %w", FormatPath(path[:i+1]), err)
		}
		parent = next
	}
	last := path[len(path)-1]
	where := FormatPath(path)
	switch {
	case last.IsIndex && parent.Kind == List:
		n := -1
		for i := range parent.Elems() {
			if parent.Elems()[i].Kind == Comment {
				continue
			}
			n++
			if n == last.Index {
				parent.SetElems(append(parent.Elems()[:i:i], parent.Elems()[i+1:]...))
				return Document(root.Items()), nil
			}
		}
		return nil, fmt.Errorf("component %s: index out of bounds: %w", where, ErrNotFound)
	case !last.IsIndex && parent.Kind == Map:
		for i, it := range parent.Items() {
			if it.Key.Kind == String && it.Key.Str == last.Key {
				parent.SetItems(append(parent.Items()[:i:i], parent.Items()[i+1:]...))
				return Document(root.Items()), nil
			}
		}
		return nil, fmt.Errorf("component %s: key %w", where, ErrNotFound)
	}
	return nil, fmt.Errorf("component %s: %w (the value above it is not a %s)", where, ErrNotFound, map[bool]string{true: "list", false: "map"}[last.IsIndex])
}

// child returns the value one step down from cur.
func child(cur *Value, step PathStep) (*Value, error) {
	if step.IsIndex {
		if cur.Kind != List {
			return nil, fmt.Errorf("%w: not a list", ErrNotFound)
		}
		n := -1
		for i := range cur.Elems() {
			if cur.Elems()[i].Kind == Comment {
				continue
			}
			n++
			if n == step.Index {
				return &cur.Elems()[i], nil
			}
		}
		return nil, fmt.Errorf("index out of bounds: %w", ErrNotFound)
	}
	if cur.Kind != Map {
		return nil, fmt.Errorf("%w: not a map", ErrNotFound)
	}
	for i := range cur.Items() {
		if cur.Items()[i].Key.Kind == String && cur.Items()[i].Key.Str == step.Key {
			return &cur.Items()[i].Value, nil
		}
	}
	return nil, fmt.Errorf("key %w", ErrNotFound)
}
