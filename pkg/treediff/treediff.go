// Package treediff compares two versions of a file's documents key by key.
//
// A line diff of an encrypted file is useless: every changed value is a new
// ENC[...] blob and the sops metadata changes on every write. Comparing the
// trees instead names the paths that were added, removed or changed, which
// is what a reviewer needs, and it works the same on decrypted trees (plain
// values) and on still encrypted ones (where the same ENC string means the
// same value and a different one means the value was re-encrypted, almost
// always because it changed). Values are only ever compared with
// tree.Equal, so the package never needs a key.
//
// What counts as a change:
//
//   - Maps are compared by key. A key present on one side only is Added or
//     Removed; a key on both sides is compared recursively when both values
//     are maps, element by element when both are lists, and is Changed when
//     the values are not tree.Equal otherwise. Moving keys around without
//     changing them is not a change: the order of a map is layout, like
//     indentation. When a map holds the same key more than once (some
//     formats allow it), the n-th occurrence on one side is compared with
//     the n-th occurrence on the other.
//   - Lists are compared by index. Elements past the end of the shorter list
//     are Added or Removed at their index; an element inserted at the front
//     therefore shows as every later element Changed and the last one Added.
//     Element identity is unknown, and guessing it would make encrypted and
//     decrypted diffs disagree.
//   - Comments are ignored: comment items of maps and comment elements of
//     lists are skipped, and list indexes count values only, as tree.Lookup
//     counts them, so every path can be passed to tree.Lookup (or to sops's
//     --extract).
//
// Changes come in a stable order: the document order of the old version,
// with each key the new version added placed after the key that precedes it
// in the new version (keys added before any shared key come first).
//
// Multi-document files (YAML with "---"): document i of the old version is
// compared with document i of the new one. When either version holds more
// than one document, every path starts with an index step naming the
// document ([0]["db"]["port"]); documents past the end of the shorter
// version are one Added or Removed change each, whose path is just that
// step and whose value is the whole document as a map. When both versions
// hold at most one document the paths have no document step, and a missing
// document (an empty file) is compared as an empty one, key by key.
package treediff

import (
	"bufio"
	"fmt"
	"io"

	"github.com/kura-secrets/kura/pkg/tree"
)

// Kind says what happened at a path.
type Kind int

// The kinds of change. The zero Kind is none of them.
const (
	// Added: the path exists only in the new version.
	Added Kind = iota + 1
	// Removed: the path exists only in the old version.
	Removed
	// Changed: the path exists in both with different values.
	Changed
)

func (k Kind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case Changed:
		return "changed"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// symbol is the mark Write prints in front of a change.
func (k Kind) symbol() byte {
	switch k {
	case Added:
		return '+'
	case Removed:
		return '-'
	case Changed:
		return '~'
	}
	return '?'
}

// Change is one difference between two versions.
type Change struct {
	// Path names the value; see the package documentation for the
	// document step of multi-document files.
	Path []tree.PathStep
	Kind Kind
	// Old is the value in the old version (zero for Added), New the one in
	// the new version (zero for Removed). They are copies: changing them
	// does not change the documents.
	Old, New tree.Value
}

// Documents compares the documents a (old) and b (new) of two versions of
// a file and returns their differences in a stable order. Identical
// versions, or versions that differ only in comments or in the order of
// map keys, give no changes.
func Documents(a, b []tree.Document) []Change {
	var d differ
	multi := len(a) > 1 || len(b) > 1
	for i := range max(len(a), len(b)) {
		var path []tree.PathStep
		if multi {
			path = []tree.PathStep{{Index: i, IsIndex: true}}
		}
		switch {
		case multi && i >= len(a):
			d.add(path, Added, tree.Value{}, tree.MapV(b[i]))
		case multi && i >= len(b):
			d.add(path, Removed, tree.MapV(a[i]), tree.Value{})
		default:
			var x, y tree.Document
			if i < len(a) {
				x = a[i]
			}
			if i < len(b) {
				y = b[i]
			}
			d.items(path, x, y)
		}
	}
	return d.out
}

type differ struct {
	out []Change
}

// add records a change, copying the path (callers extend one path slice)
// and the values.
func (d *differ) add(path []tree.PathStep, k Kind, old, new tree.Value) {
	d.out = append(d.out, Change{
		Path: append([]tree.PathStep(nil), path...),
		Kind: k,
		Old:  old.Clone(),
		New:  new.Clone(),
	})
}

// keyID identifies an entry of a map: its key and which occurrence of that
// key it is, so that duplicate keys pair up in order.
type keyID struct {
	kind tree.Kind
	text string
	occ  int
}

// entry is a non-comment item of a map with its identity.
type entry struct {
	item tree.Item
	id   keyID
}

func entries(items []tree.Item) ([]entry, map[keyID]int) {
	var es []entry
	idx := make(map[keyID]int)
	seen := make(map[keyID]int)
	for _, it := range items {
		if it.IsComment() {
			continue
		}
		first := keyID{kind: it.Key.Kind, text: KeyText(it.Key)}
		id := first
		id.occ = seen[first]
		seen[first]++
		idx[id] = len(es)
		es = append(es, entry{item: it, id: id})
	}
	return es, idx
}

// KeyText is the text a map key takes in a path step: its canonical text
// (see tree.Value.Canonical) for scalar keys, which is the string itself
// for the string keys of almost every file.
func KeyText(k tree.Value) string {
	if s, ok := k.Canonical(); ok {
		return s
	}
	return FormatValue(k)
}

// with returns path extended by one step, in a new slice, so that sibling
// calls never share storage.
func with(path []tree.PathStep, s tree.PathStep) []tree.PathStep {
	return append(path[:len(path):len(path)], s)
}

func (d *differ) items(path []tree.PathStep, a, b []tree.Item) {
	ae, aIdx := entries(a)
	be, bIdx := entries(b)
	// after[i+1] lists the entries of b, in b's order, that a lacks and
	// that follow a's entry i in b (after[0]: those before any shared key).
	after := make([][]int, len(ae)+1)
	anchor := -1
	for j, e := range be {
		if i, ok := aIdx[e.id]; ok {
			anchor = i
			continue
		}
		after[anchor+1] = append(after[anchor+1], j)
	}
	d.added(path, be, after[0])
	for i, e := range ae {
		p := with(path, tree.PathStep{Key: e.id.text})
		if j, ok := bIdx[e.id]; ok {
			d.value(p, e.item.Value, be[j].item.Value)
		} else {
			d.add(p, Removed, e.item.Value, tree.Value{})
		}
		d.added(path, be, after[i+1])
	}
}

func (d *differ) added(path []tree.PathStep, be []entry, js []int) {
	for _, j := range js {
		d.add(with(path, tree.PathStep{Key: be[j].id.text}), Added, tree.Value{}, be[j].item.Value)
	}
}

func (d *differ) value(path []tree.PathStep, a, b tree.Value) {
	switch {
	case a.Kind == tree.Map && b.Kind == tree.Map:
		d.items(path, a.Items(), b.Items())
	case a.Kind == tree.List && b.Kind == tree.List:
		d.list(path, a.Elems(), b.Elems())
	case !tree.Equal(a, b):
		d.add(path, Changed, a, b)
	}
}

func (d *differ) list(path []tree.PathStep, a, b []tree.Value) {
	a, b = values(a), values(b)
	for i := range max(len(a), len(b)) {
		p := with(path, tree.PathStep{Index: i, IsIndex: true})
		switch {
		case i >= len(a):
			d.add(p, Added, tree.Value{}, b[i])
		case i >= len(b):
			d.add(p, Removed, a[i], tree.Value{})
		default:
			d.value(p, a[i], b[i])
		}
	}
}

// values returns the elements of a list that are not comments.
func values(elems []tree.Value) []tree.Value {
	out := make([]tree.Value, 0, len(elems))
	for _, e := range elems {
		if e.Kind != tree.Comment {
			out = append(out, e)
		}
	}
	return out
}

// Write prints changes, one line each, marked ~ (changed), + (added) or
// - (removed):
//
//	~ ["db"]["password"]: old -> new
//	+ ["db"]["port"]: 5432
//	- ["db"]["user"]: admin
//
// The path is in tree.FormatPath's syntax. With showValues false (for
// encrypted trees, whose values are ENC[...] blobs, or to keep secrets off
// a terminal) only the mark and the path are printed: "+ PATH", "- PATH",
// "~ PATH". Values are printed as FormatValue prints them, on one line.
func Write(w io.Writer, changes []Change, showValues bool) error {
	bw := bufio.NewWriter(w)
	var line []byte
	for _, c := range changes {
		line = append(line[:0], c.Kind.symbol(), ' ')
		line = append(line, tree.FormatPath(c.Path)...)
		if showValues {
			line = append(line, ": "...)
			switch c.Kind {
			case Added:
				line = AppendValue(line, c.New)
			case Removed:
				line = AppendValue(line, c.Old)
			default:
				line = AppendValue(line, c.Old)
				line = append(line, " -> "...)
				line = AppendValue(line, c.New)
			}
		}
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("treediff: writing the changes: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("treediff: writing the changes: %w", err)
	}
	return nil
}
