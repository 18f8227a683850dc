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
			for _, e := range cur.Elems {
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
			v, ok := Get(cur.Items, step.Key)
			if !ok {
				return Value{}, fmt.Errorf("component %s not found", where)
			}
			cur = v
		}
	}
	return cur, nil
}
