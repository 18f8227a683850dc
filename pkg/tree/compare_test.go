package tree

import (
	"math"
	"testing"
	"time"
)

func TestCloneAndEqual(t *testing.T) {
	doc := Document{
		CommentItem(" c", true),
		KeyItem("a", MapV([]Item{KeyItem("b", ListV([]Value{Str("x"), IntV(1), FloatV(math.NaN())}))})),
		KeyItem("t", TimeV(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC))),
	}
	c := doc.Clone()
	if !DocumentsEqual([]Document{doc}, []Document{c}) {
		t.Fatal("a clone differs")
	}
	c[1].Value.Items()[0].Value.Elems()[0] = Str("y")
	if doc[1].Value.Items()[0].Value.Elems()[0].Str != "x" {
		t.Error("the clone shares storage")
	}
	if DocumentsEqual([]Document{doc}, []Document{c}) {
		t.Error("a changed clone compares equal")
	}
	for _, p := range [][2]Value{
		{FloatV(0), FloatV(math.Copysign(0, -1))},
		{IntV(1), FloatV(1)},
		{CommentV("c", true), CommentV("c", false)},
		{TimeV(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), TimeV(time.Date(2024, 1, 2, 1, 0, 0, 0, time.FixedZone("", 3600)))},
	} {
		if Equal(p[0], p[1]) {
			t.Errorf("%+v and %+v compare equal", p[0], p[1])
		}
	}
}

func TestDetachComments(t *testing.T) {
	docs := []Document{{
		CommentItem(" top", true),
		KeyItem("a", MapV([]Item{CommentItem(" in map", true), KeyItem("b", ListV([]Value{CommentV(" in list", true), Str("x")}))})),
	}}
	want := []Document{{
		CommentItem(" top", false),
		KeyItem("a", MapV([]Item{CommentItem(" in map", false), KeyItem("b", ListV([]Value{CommentV(" in list", false), Str("x")}))})),
	}}
	DetachComments(docs)
	if !DocumentsEqual(docs, want) {
		t.Errorf("got %+v, want %+v", docs, want)
	}
}
