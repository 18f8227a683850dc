package ini

import (
	"encoding/json"
	"fmt"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// EmitValue writes a single extracted value as SOPS's INI store does: as
// JSON. (SOPS's command line prints an extracted string itself, raw; a
// string given here comes out quoted.)
func (Store) EmitValue(v tree.Value) ([]byte, error) {
	out, err := json.Marshal(goValue(v))
	if err != nil {
		return nil, fmt.Errorf("cannot write the %s value as JSON: %w", v.Kind, err)
	}
	return out, nil
}

// valueText is the text of a key's value. Scalars are written as the flat
// stores write them. A map or list, which INI cannot hold, only comes from
// a conversion out of YAML or JSON; SOPS then writes Go's default
// formatting of its own tree ("[{key value}]"), and we print the same
// shapes to write the same bytes.
func valueText(v tree.Value) string {
	if s, ok := format.FlatText(v); ok {
		return s
	}
	return fmt.Sprint(goValue(v))
}

// goItem and goComment have the shape (field names and order) of the Go
// types SOPS keeps a map entry and a comment in, which is what fmt and
// encoding/json print.
type goItem struct {
	Key   any
	Value any
}

type goComment struct {
	Value  string
	Inline bool
}

// goValue returns v as the Go value SOPS would hold for it.
func goValue(v tree.Value) any {
	switch v.Kind {
	case tree.String:
		return v.Str
	case tree.Int:
		return v.Int()
	case tree.Uint:
		return v.Uint()
	case tree.Float:
		return v.Float()
	case tree.Bool:
		return v.Bool()
	case tree.Time:
		return v.Time()
	case tree.Comment:
		return goComment{Value: v.Str, Inline: v.Inline}
	case tree.Map:
		items := make([]goItem, len(v.Items()))
		for i, it := range v.Items() {
			items[i] = goItem{Key: goValue(it.Key), Value: goValue(it.Value)}
		}
		return items
	case tree.List:
		elems := make([]any, len(v.Elems()))
		for i, e := range v.Elems() {
			elems[i] = goValue(e)
		}
		return elems
	}
	return nil
}
