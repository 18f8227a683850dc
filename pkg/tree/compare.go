package tree

import "math"

// Clone returns a deep copy of a document, so that one copy can be
// changed (encrypted in place, edited) while the other is kept.
func (d Document) Clone() Document {
	return Document(cloneItems(d))
}

func cloneItems(items []Item) []Item {
	if items == nil {
		return nil
	}
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{Key: it.Key.Clone(), Value: it.Value.Clone()}
	}
	return out
}

// Clone returns a deep copy of v.
func (v Value) Clone() Value {
	switch v.Kind {
	case Map:
		v.SetItems(cloneItems(v.Items()))
	case List:
		if v.Elems() != nil {
			elems := make([]Value, len(v.Elems()))
			for i, e := range v.Elems() {
				elems[i] = e.Clone()
			}
			v.SetElems(elems)
		}
	}
	return v
}

// CloneDocuments deep-copies a list of documents.
func CloneDocuments(docs []Document) []Document {
	out := make([]Document, len(docs))
	for i, d := range docs {
		out[i] = d.Clone()
	}
	return out
}

// Equal reports whether two values are the same: same kind, same scalar
// (floats by bits, so NaN equals NaN and -0 differs from 0, as their text
// does), same items in the same order. A comment's inline flag counts.
func Equal(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case Null:
		return true
	case String, Comment:
		return a.Str == b.Str && a.Inline == b.Inline
	case Int:
		return a.Int() == b.Int()
	case Uint:
		return a.Uint() == b.Uint()
	case Float:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case Bool:
		return a.Bool() == b.Bool()
	case Time:
		return a.Time().Equal(b.Time()) && a.Time().Format("Z07:00") == b.Time().Format("Z07:00")
	case Map:
		return ItemsEqual(a.Items(), b.Items())
	case List:
		if len(a.Elems()) != len(b.Elems()) {
			return false
		}
		for i := range a.Elems() {
			if !Equal(a.Elems()[i], b.Elems()[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// ItemsEqual reports whether two maps' items are the same, as Equal.
func ItemsEqual(a, b []Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i].Key, b[i].Key) || !Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// DocumentsEqual reports whether two lists of documents are the same.
func DocumentsEqual(a, b []Document) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !ItemsEqual(a[i], b[i]) {
			return false
		}
	}
	return true
}

// DetachComments marks every comment of docs as a line of its own, in
// place. sops prints a decrypted file so: a comment that trailed a value
// on its line comes out above it.
func DetachComments(docs []Document) {
	for _, d := range docs {
		detachItems(d)
	}
}

func detachItems(items []Item) {
	for i := range items {
		it := &items[i]
		if it.Key.Kind == Comment {
			it.Key.Inline = false
		}
		detachValue(&it.Value)
	}
}

func detachValue(v *Value) {
	switch v.Kind {
	case Comment:
		v.Inline = false
	case Map:
		detachItems(v.Items())
	case List:
		for i := range v.Elems() {
			detachValue(&v.Elems()[i])
		}
	}
}
