package tree

import (
	"math"
	"runtime"
	"testing"
	"time"
	"unsafe"
)

// TestValueSize keeps a value small: a map entry is two of them, and a
// large file's tree is most of kura's memory (see Value).
func TestValueSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are checked on 64-bit platforms")
	}
	if got := unsafe.Sizeof(Value{}); got > 40 {
		t.Errorf("tree.Value is %d bytes, want at most 40", got)
	}
}

// TestScalarAccessors checks that each scalar reads back what its
// constructor stored, and that the other kinds read as zero.
func TestScalarAccessors(t *testing.T) {
	when := time.Date(2026, 11, 29, 5, 0, 0, 0, time.FixedZone("", 3600))
	for _, tc := range []struct {
		v     Value
		check func(Value) bool
	}{
		{IntV(math.MinInt64), func(v Value) bool { return v.Int() == math.MinInt64 }},
		{IntV(-1), func(v Value) bool { return v.Int() == -1 }},
		{UintV(math.MaxUint64), func(v Value) bool { return v.Uint() == math.MaxUint64 }},
		{FloatV(math.Inf(-1)), func(v Value) bool { return math.IsInf(v.Float(), -1) }},
		{FloatV(math.Copysign(0, -1)), func(v Value) bool { return math.Signbit(v.Float()) }},
		{BoolV(true), func(v Value) bool { return v.Bool() }},
		{BoolV(false), func(v Value) bool { return !v.Bool() && v.Kind == Bool }},
		{TimeV(when), func(v Value) bool { return v.Time().Equal(when) && v.Time().Location() == when.Location() }},
	} {
		if !tc.check(tc.v) {
			t.Errorf("%v: the accessor does not read back the value", tc.v.Kind)
		}
		zero := Str("x")
		if zero.Int() != 0 || zero.Uint() != 0 || zero.Float() != 0 || zero.Bool() || !zero.Time().IsZero() {
			t.Error("a string reads as a non-zero scalar")
		}
		if tc.v.Kind != Int && tc.v.Int() != 0 || tc.v.Kind != Float && tc.v.Float() != 0 || tc.v.Kind != Time && !tc.v.Time().IsZero() {
			t.Errorf("%v: another kind's accessor reads a value", tc.v.Kind)
		}
	}
}

// TestContainers checks that a map's items and a list's elements read
// back as they were given, share their memory with the value, keep nil
// apart from empty, and read as nil from other kinds.
func TestContainers(t *testing.T) {
	items := []Item{KeyItem("a", IntV(1)), CommentItem("c", true), KeyItem("b", ListV([]Value{Str("x"), CommentV("y", false)}))}
	m := MapV(items)
	if got := m.Items(); len(got) != 3 || &got[0] != &items[0] || cap(got) != 3 {
		t.Fatalf("Items: len %d cap %d, want the given slice", len(got), cap(got))
	}
	m.Items()[0].Value = Str("changed")
	if items[0].Value.Str != "changed" {
		t.Error("a change through Items did not reach the map's memory")
	}
	elems := m.Items()[2].Value.Elems()
	if len(elems) != 2 || elems[0].Str != "x" || elems[1].Kind != Comment {
		t.Errorf("Elems: %d elements", len(elems))
	}
	if MapV(nil).Items() != nil || ListV(nil).Elems() != nil {
		t.Error("a nil map or list reads back non-nil")
	}
	if got := MapV([]Item{}).Items(); got == nil || len(got) != 0 {
		t.Error("an empty map reads back nil")
	}
	if got := ListV([]Value{}).Elems(); got == nil || len(got) != 0 {
		t.Error("an empty list reads back nil")
	}
	for _, v := range []Value{Str("s"), IntV(3), TimeV(time.Unix(0, 0)), CommentV("c", false), {}} {
		if v.Items() != nil || v.Elems() != nil {
			t.Errorf("%v reads back items or elements", v.Kind)
		}
	}
	if m.Elems() != nil || ListV([]Value{Str("x")}).Items() != nil {
		t.Error("a map reads back elements, or a list items")
	}
	var v Value
	v.SetItems(items[:1])
	if v.Kind != Map || len(v.Items()) != 1 {
		t.Errorf("SetItems: kind %v, %d items", v.Kind, len(v.Items()))
	}
	v.SetElems([]Value{Str("a"), Str("b")})
	if v.Kind != List || len(v.Elems()) != 2 || v.Items() != nil {
		t.Errorf("SetElems: kind %v, %d elements", v.Kind, len(v.Elems()))
	}
}

// TestContainersSurviveGC checks that the memory a value points at is
// kept alive by the value alone.
func TestContainersSurviveGC(t *testing.T) {
	vals := make([]Value, 100)
	for i := range vals {
		items := make([]Item, 50)
		for j := range items {
			items[j] = KeyItem("k", IntV(int64(i*1000+j)))
		}
		vals[i] = MapV(items)
		if i%2 == 0 {
			vals[i] = ListV([]Value{MapV(items), TimeV(time.Unix(int64(i), 0))})
		}
	}
	runtime.GC()
	runtime.GC()
	_ = make([]byte, 1<<20) // reuse what was freed, if anything was
	for i, v := range vals {
		if i%2 == 0 {
			if v.Elems()[1].Time().Unix() != int64(i) {
				t.Fatalf("value %d: time lost", i)
			}
			v = v.Elems()[0]
		}
		for j, it := range v.Items() {
			if it.Value.Int() != int64(i*1000+j) {
				t.Fatalf("value %d item %d: %d", i, j, it.Value.Int())
			}
		}
	}
}
