package toml

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// Short constructors for expected trees.

func kv(key string, v tree.Value) tree.Item { return tree.KeyItem(key, v) }
func cm(text string) tree.Item              { return tree.CommentItem(text, false) }
func cmi(text string) tree.Item             { return tree.CommentItem(text, true) }
func mp(items ...tree.Item) tree.Value      { return tree.MapV(items) }
func ls(elems ...tree.Value) tree.Value     { return tree.ListV(elems) }
func ce(text string) tree.Value             { return tree.CommentV(text, false) }
func cei(text string) tree.Value            { return tree.CommentV(text, true) }
func str(s string) tree.Value               { return tree.Str(s) }
func num(i int64) tree.Value                { return tree.IntV(i) }

// sameValue compares two values exactly: kinds, inline flags, float bits
// (any NaN equals any NaN), times as instants in the same kind of location
// with the same offset. Nil and empty maps and lists are equal.
func sameValue(a, b tree.Value) bool {
	if a.Kind != b.Kind || a.Inline != b.Inline {
		return false
	}
	switch a.Kind {
	case tree.String, tree.Comment:
		return a.Str == b.Str
	case tree.Int:
		return a.Int() == b.Int()
	case tree.Uint:
		return a.Uint() == b.Uint()
	case tree.Float:
		if math.IsNaN(a.Float()) || math.IsNaN(b.Float()) {
			return math.IsNaN(a.Float()) && math.IsNaN(b.Float())
		}
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case tree.Bool:
		return a.Bool() == b.Bool()
	case tree.Time:
		return sameTime(a.Time(), b.Time())
	case tree.Map:
		return sameItems(a.Items(), b.Items())
	case tree.List:
		if len(a.Elems()) != len(b.Elems()) {
			return false
		}
		for i := range a.Elems() {
			if !sameValue(a.Elems()[i], b.Elems()[i]) {
				return false
			}
		}
	}
	return true
}

func sameTime(a, b time.Time) bool {
	kind := func(t time.Time) *time.Location {
		switch l := t.Location(); l {
		case LocalDate, LocalTime, LocalDateTime:
			return l
		}
		return nil
	}
	_, oa := a.Zone()
	_, ob := b.Zone()
	return a.Equal(b) && kind(a) == kind(b) && oa == ob
}

func sameItems(a, b []tree.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameValue(a[i].Key, b[i].Key) || !sameValue(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// dump writes a tree one item per line, for failure messages.
func dump(items []tree.Item) string {
	var b strings.Builder
	dumpItems(&b, items, "")
	return b.String()
}

func dumpItems(b *strings.Builder, items []tree.Item, indent string) {
	for _, it := range items {
		if it.IsComment() {
			fmt.Fprintf(b, "%s%s\n", indent, dumpScalar(it.Key))
			continue
		}
		fmt.Fprintf(b, "%s%s = ", indent, dumpScalar(it.Key))
		dumpValue(b, it.Value, indent)
	}
}

func dumpValue(b *strings.Builder, v tree.Value, indent string) {
	switch v.Kind {
	case tree.Map:
		b.WriteString("{\n")
		dumpItems(b, v.Items(), indent+"  ")
		b.WriteString(indent + "}\n")
	case tree.List:
		b.WriteString("[\n")
		for _, el := range v.Elems() {
			b.WriteString(indent + "  ")
			dumpValue(b, el, indent+"  ")
		}
		b.WriteString(indent + "]\n")
	default:
		b.WriteString(dumpScalar(v) + "\n")
	}
}

func dumpScalar(v tree.Value) string {
	switch v.Kind {
	case tree.String:
		return strconv.Quote(v.Str)
	case tree.Comment:
		if v.Inline {
			return "#inline:" + strconv.Quote(v.Str)
		}
		return "#" + strconv.Quote(v.Str)
	case tree.Time:
		name, off := v.Time().Zone()
		return fmt.Sprintf("time(%s %q %d)", v.Time().Format(time.RFC3339Nano), name, off)
	}
	s, _ := v.Canonical()
	return v.Kind.String() + "(" + s + ")"
}

// load parses TOML or fails the test.
func mustLoad(t testing.TB, text string) tree.Document {
	t.Helper()
	docs, err := Store{}.LoadPlain([]byte(text))
	if err != nil {
		t.Fatalf("LoadPlain: %v\n%s", err, text)
	}
	if len(docs) != 1 {
		t.Fatalf("LoadPlain gave %d documents", len(docs))
	}
	return docs[0]
}

// checkReload checks that doc is written, and that the text loads back to
// doc and writes the same text again. It returns the text.
func checkReload(t testing.TB, doc tree.Document) []byte {
	t.Helper()
	out, err := Store{}.EmitPlain([]tree.Document{doc})
	if err != nil {
		t.Fatalf("EmitPlain: %v\ntree:\n%s", err, dump(doc))
	}
	docs, err := Store{}.LoadPlain(out)
	if err != nil {
		t.Fatalf("LoadPlain of our output: %v\noutput:\n%s\ntree:\n%s", err, out, dump(doc))
	}
	if !sameItems(docs[0], doc) {
		t.Fatalf("the output loads back differently\noutput:\n%s\nwant:\n%s\ngot:\n%s", out, dump(doc), dump(docs[0]))
	}
	again, err := Store{}.EmitPlain(docs)
	if err != nil || string(again) != string(out) {
		t.Fatalf("writing the reloaded tree gives other text (err %v):\n%s\nthen:\n%s", err, out, again)
	}
	return out
}

// forgetInline clears every inline flag, as decryption does.
func forgetInline(items []tree.Item) []tree.Item {
	out := make([]tree.Item, len(items))
	for i, it := range items {
		it.Key.Inline = false
		it.Value = forgetInlineValue(it.Value)
		out[i] = it
	}
	return out
}

func forgetInlineValue(v tree.Value) tree.Value {
	switch v.Kind {
	case tree.Comment:
		v.Inline = false
	case tree.Map:
		v.SetItems(forgetInline(v.Items()))
	case tree.List:
		elems := make([]tree.Value, len(v.Elems()))
		for i, el := range v.Elems() {
			elems[i] = forgetInlineValue(el)
		}
		v.SetElems(elems)
	}
	return v
}
