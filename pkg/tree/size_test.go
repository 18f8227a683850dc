package tree

import (
	"math"
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
	if got := unsafe.Sizeof(Value{}); got > 88 {
		t.Errorf("tree.Value is %d bytes, want at most 88", got)
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
