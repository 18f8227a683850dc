// Package merge merges three versions of a file's documents (a common
// base and two sides, ours and theirs) key path by key path, for a git
// merge driver.
//
// Git merges text line by line, which fails on encrypted files: every
// changed value is a new ENC[...] blob and the sops metadata changes on
// every write, so two branches that changed different secrets conflict on
// the metadata lines at least. Merging the trees instead lets changes to
// different keys combine, and reports a conflict only where both sides
// changed the same value differently. The package only compares values
// with tree.Equal, so it works on decrypted trees and on still encrypted
// ones alike (the same ENC string means the same value; a different one
// means the value was re-encrypted, almost always because it changed).
// The caller deals with the sops metadata (keys, MAC) itself.
//
// # Rules
//
// Each document is merged as a map, and each key of a map (recursively)
// is decided from its value in base, ours and theirs, where a side may
// lack the key:
//
//  1. ours equals theirs (tree.Equal, or both lack the key): take it.
//  2. ours equals base: take theirs (which may have changed, removed or
//     added the key).
//  3. theirs equals base: take ours.
//  4. ours and theirs are both maps, and base is a map, null or missing:
//     merge the maps key by key. A null base counts as an empty map, since
//     "key:" with nothing after it is how YAML writes a section that has
//     no entries yet.
//  5. Anything else is a conflict: both changed the value differently, one
//     removed it and the other changed it, or both added the key with
//     different values. The merged tree keeps ours' value there (or no
//     entry, if ours removed it).
//
// Lists are leaves: they are compared and taken whole, and two different
// changes to one list conflict. Element identity is unknown (an element
// moved, removed or inserted looks like every later element changed), and
// sops encrypts list elements under the list's path, so merging by index
// could silently combine values that were never meant to go together.
//
// Duplicate keys (which some formats allow) pair up by occurrence: the
// n-th "a" of one version goes with the n-th "a" of the others.
//
// # Order
//
// A merged map keeps ours' order. A key that only theirs added goes right
// after the key that immediately precedes it in theirs (comments aside),
// when that key is in the merged map, and at the end of the map otherwise
// (also when it is theirs' first key). It also goes at the end when
// no key that base had follows that preceding key in the merged map, that
// is, when it follows ours' last key, or follows only comments or keys that
// ours added at the end: so additions at the end of a map on both sides
// stay at the end, ours' first. This matters downstream: the writer that
// keeps a YAML file's layout can only append new keys at the end of a
// mapping.
//
// # Comments
//
// Comment items are kept as ours has them: ours' comments stay where they
// are, and a comment theirs removed stays too. A comment theirs added (one
// that theirs has more often than both base and ours) goes right before
// the key it precedes in theirs, if that key is in the merged map; a
// comment at the end of theirs' map goes at the end of the merged map; any
// other is dropped. Comments go before the key they describe in this tree
// model, so a comment above a key theirs added travels with it. Comments
// inside lists belong to the list, which is a leaf. Where a whole value is
// taken from one side (rules 1-3), its comments come with it. Since
// tree.Equal counts comments, a change to the comments of a list (or of a
// map the other side removed) is a change like any other: against a
// different change on the other side, it conflicts.
//
// # Documents
//
// Document i of each version is merged with document i of the others;
// the three must hold the same number of documents, or Documents fails
// (with ErrDocumentCount) and the caller falls back to git's own merge. A
// Conflict names its document with Doc and its path within that document,
// so tree.Lookup and tree.Set can use the path on merged[Doc].
package merge

import (
	"errors"
	"fmt"

	"github.com/kura-secrets/kura/pkg/tree"
	"github.com/kura-secrets/kura/pkg/treediff"
)

// ErrDocumentCount means the three versions do not hold the same number of
// documents, so they cannot be merged document by document. A merge driver
// falls back to git's own conflict.
var ErrDocumentCount = errors.New("the versions hold different numbers of documents")

// Conflict is a path that both sides changed differently.
type Conflict struct {
	// Doc is the index of the document the conflict is in.
	Doc int
	// Path names the value within document Doc, so that tree.Lookup and
	// tree.Set work with it on the merged document.
	Path []tree.PathStep
	// Base, Ours, Theirs are the three versions of the value at Path; a
	// missing one has its Missing flag set (and is the zero Value). They
	// are copies of the inputs.
	Base, Ours, Theirs tree.Value

	BaseMissing, OursMissing, TheirsMissing bool
}

// Documents merges base, ours and theirs. merged holds every change of
// either side that does not conflict; at a conflicting path it holds ours'
// value (or no entry, if ours removed it), and conflicts lists each
// conflict once, in document order (a conflict whose key ours removed is
// placed where theirs has it). merged shares no storage with the inputs.
// The three must hold the same number of documents: if not, the error
// wraps ErrDocumentCount.
func Documents(base, ours, theirs []tree.Document) (merged []tree.Document, conflicts []Conflict, err error) {
	if len(base) != len(ours) || len(base) != len(theirs) {
		return nil, nil, fmt.Errorf("merge: base holds %d documents, ours %d and theirs %d: %w",
			len(base), len(ours), len(theirs), ErrDocumentCount)
	}
	merged = make([]tree.Document, len(ours))
	for i := range ours {
		m := merger{doc: i}
		v, cs := m.value(nil, present(tree.MapV(base[i])), present(tree.MapV(ours[i])), present(tree.MapV(theirs[i])))
		// Every side is a map, so the root never conflicts and is present.
		merged[i] = tree.Document(v.v.Items())
		conflicts = append(conflicts, cs...)
	}
	return merged, conflicts, nil
}

// side is one version of a value: ok is false when the version lacks it.
type side struct {
	v  tree.Value
	ok bool
}

func present(v tree.Value) side { return side{v: v, ok: true} }

func same(a, b side) bool {
	return a.ok == b.ok && (!a.ok || tree.Equal(a.v, b.v))
}

func (s side) clone() side { return side{v: s.v.Clone(), ok: s.ok} }

type merger struct {
	doc int
}

// value decides one value from its three versions.
func (m *merger) value(path []tree.PathStep, b, o, t side) (side, []Conflict) {
	switch {
	case same(o, t):
		return o.clone(), nil
	case same(o, b):
		return t.clone(), nil
	case same(t, b):
		return o.clone(), nil
	case o.ok && t.ok && o.v.Kind == tree.Map && t.v.Kind == tree.Map &&
		(!b.ok || b.v.Kind == tree.Map || b.v.Kind == tree.Null):
		items, cs := m.items(path, b.v.Items(), o.v.Items(), t.v.Items())
		return present(tree.MapV(items)), cs
	}
	c := Conflict{
		Doc:           m.doc,
		Path:          append([]tree.PathStep(nil), path...),
		Base:          b.v.Clone(),
		Ours:          o.v.Clone(),
		Theirs:        t.v.Clone(),
		BaseMissing:   !b.ok,
		OursMissing:   !o.ok,
		TheirsMissing: !t.ok,
	}
	return o.clone(), []Conflict{c}
}

// keyID identifies an entry of a map: its key and which occurrence of that
// key it is.
type keyID struct {
	kind tree.Kind
	text string
	occ  int
}

// keys returns the identity of every item of a map (the zero keyID for
// comments) and the index of every identity.
func keys(items []tree.Item) ([]keyID, map[keyID]int) {
	ids := make([]keyID, len(items))
	idx := make(map[keyID]int, len(items))
	seen := make(map[keyID]int)
	for i, it := range items {
		if it.IsComment() {
			continue
		}
		first := keyID{kind: it.Key.Kind, text: treediff.KeyText(it.Key)}
		id := first
		id.occ = seen[first]
		seen[first]++
		ids[i] = id
		idx[id] = i
	}
	return ids, idx
}

func lookup(items []tree.Item, idx map[keyID]int, id keyID) side {
	if i, ok := idx[id]; ok {
		return present(items[i].Value)
	}
	return side{}
}

// slot is one item of a merged map being built.
type slot struct {
	item    tree.Item
	comment bool
	id      keyID
	// hidden marks a conflict whose key ours removed: it holds the
	// conflict's place in document order, and is not written.
	hidden bool
	// inBase says base has the key.
	inBase    bool
	conflicts []Conflict
}

// items merges three versions of a map's items.
func (m *merger) items(path []tree.PathStep, b, o, t []tree.Item) ([]tree.Item, []Conflict) {
	_, bIdx := keys(b)
	oIDs, oIdx := keys(o)
	tIDs, tIdx := keys(t)
	out := make([]slot, 0, len(o)+len(t))

	// Ours' items, in ours' order.
	for i, it := range o {
		if it.IsComment() {
			out = append(out, slot{item: it, comment: true})
			continue
		}
		id := oIDs[i]
		bs := lookup(b, bIdx, id)
		res, cs := m.value(with(path, id), bs, present(it.Value), lookup(t, tIdx, id))
		if !res.ok {
			continue // theirs removed it
		}
		out = append(out, slot{item: tree.Item{Key: it.Key, Value: res.v}, id: id, inBase: bs.ok, conflicts: cs})
	}

	// Keys ours lacks, in theirs' order, each placed after the key before
	// it in theirs (prev).
	prev := -1
	for j, it := range t {
		if it.IsComment() {
			continue
		}
		id := tIDs[j]
		anchor := prev
		prev = j
		if _, inOurs := oIdx[id]; inOurs {
			continue
		}
		bs := lookup(b, bIdx, id)
		res, cs := m.value(with(path, id), bs, side{}, present(it.Value))
		if !res.ok && len(cs) == 0 {
			continue // ours removed it and theirs kept it: gone
		}
		s := slot{item: tree.Item{Key: it.Key, Value: res.v}, id: id, hidden: !res.ok, inBase: bs.ok, conflicts: cs}
		at := len(out)
		if anchor >= 0 {
			if k := find(out, tIDs[anchor]); k >= 0 && baseKeyAfter(out, k) {
				at = k + 1
			}
		}
		out = insert(out, at, s)
	}

	out = m.theirsComments(out, b, o, t, tIDs)

	items := make([]tree.Item, 0, len(out))
	var conflicts []Conflict
	for _, s := range out {
		conflicts = append(conflicts, s.conflicts...)
		if !s.hidden {
			items = append(items, s.item)
		}
	}
	return items, conflicts
}

// theirsComments adds to out the comment items theirs added; see the
// package documentation.
func (m *merger) theirsComments(out []slot, b, o, t []tree.Item, tIDs []keyID) []slot {
	type commentID struct {
		text   string
		inline bool
	}
	count := func(items []tree.Item) map[commentID]int {
		n := make(map[commentID]int)
		for _, it := range items {
			if it.IsComment() {
				n[commentID{it.Key.Str, it.Key.Inline}]++
			}
		}
		return n
	}
	inBase, inOurs := count(b), count(o)
	seen := make(map[commentID]int)
	for j, it := range t {
		if !it.IsComment() {
			continue
		}
		c := commentID{it.Key.Str, it.Key.Inline}
		seen[c]++
		if seen[c] <= inBase[c] || seen[c] <= inOurs[c] {
			continue
		}
		next := -1
		for k := j + 1; k < len(t); k++ {
			if !t[k].IsComment() {
				next = k
				break
			}
		}
		s := slot{item: it, comment: true}
		if next < 0 {
			out = append(out, s)
			continue
		}
		if k := find(out, tIDs[next]); k >= 0 && !out[k].hidden {
			out = insert(out, k, s)
		}
	}
	return out
}

func with(path []tree.PathStep, id keyID) []tree.PathStep {
	return append(path[:len(path):len(path)], tree.PathStep{Key: id.text})
}

// find returns the index in out of the key id, or -1.
func find(out []slot, id keyID) int {
	for k, s := range out {
		if !s.comment && s.id == id {
			return k
		}
	}
	return -1
}

// baseKeyAfter reports whether a key that base has is written after
// out[k].
func baseKeyAfter(out []slot, k int) bool {
	for _, s := range out[k+1:] {
		if !s.comment && !s.hidden && s.inBase {
			return true
		}
	}
	return false
}

func insert(out []slot, at int, s slot) []slot {
	out = append(out, slot{})
	copy(out[at+1:], out[at:])
	out[at] = s
	return out
}
