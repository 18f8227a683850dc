package json

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestEmitPlainToMatchesEmitPlain writes every JSON plaintext of the
// corpus and a document of many chunks with EmitPlainTo and EmitPlain, at
// a TAB and at two spaces: the bytes must be equal, and the large one must
// arrive in several writes of about a chunk.
func TestEmitPlainToMatchesEmitPlain(t *testing.T) {
	inputs := map[string]tree.Document{"benchdata 20000": benchdata.Document(20000)}
	for _, r := range corpus.MustRows(t) {
		if r["format"] == "json" && r["kind"] == "roundtrip" && strings.HasSuffix(r["input"], ".json") {
			if docs, err := New(TabIndent).LoadPlain(readFile(t, r.Path("input"))); err == nil {
				inputs[r["case"]] = docs[0]
			}
		}
	}
	if len(inputs) < 5 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	for name, doc := range inputs {
		for _, indent := range []int{TabIndent, 2} {
			s := New(indent)
			want, err := s.EmitPlain([]tree.Document{doc})
			if err != nil {
				t.Fatal(err)
			}
			var w storetest.ChunkRecorder
			if err := s.EmitPlainTo(&w, []tree.Document{doc}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(w.Buf.Bytes(), want) {
				t.Errorf("%s (indent %d): EmitPlainTo differs from EmitPlain", name, indent)
			}
			if strings.HasPrefix(name, "benchdata") && (w.Writes < 3 || w.Largest > 2*chunkSize) {
				t.Errorf("%s: %d writes, the largest %d bytes: not streamed in chunks", name, w.Writes, w.Largest)
			}
		}
	}
}

// TestEmitPlainToNothingOnError: a tree that cannot be written (a NaN late
// in a large document) gives EmitPlain's error and writes nothing; a
// writer's error is returned as it is.
func TestEmitPlainToNothingOnError(t *testing.T) {
	doc := benchdata.Document(20000)
	doc = append(doc, tree.KeyItem("late", tree.FloatV(math.NaN())))
	_, want := New(TabIndent).EmitPlain([]tree.Document{doc})
	var w storetest.ChunkRecorder
	got := New(TabIndent).EmitPlainTo(&w, []tree.Document{doc})
	if want == nil || got == nil || got.Error() != want.Error() || w.Writes != 0 {
		t.Errorf("EmitPlainTo: %v after %d writes; EmitPlain: %v", got, w.Writes, want)
	}
	broken := errors.New("disk full")
	if err := New(TabIndent).EmitPlainTo(storetest.FailingWriter{Err: broken}, []tree.Document{benchdata.Document(20000)}); !errors.Is(err, broken) {
		t.Errorf("got %v, want %v", err, broken)
	}
}

// TestCheckMatchesObject: the walk that proves a tree can be written
// (encoder.check) returns exactly the error, or the absence of one, that
// writing it gives, on the corpus and on trees broken in every way the
// writer refuses, alone and several at once (the first in document order
// wins in both).
func TestCheckMatchesObject(t *testing.T) {
	deep := tree.Str("bottom")
	for range maxDepth {
		deep = tree.ListV([]tree.Value{deep})
	}
	badTime := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	bad := map[string]tree.Value{
		"nan":          tree.FloatV(math.NaN()),
		"inf":          tree.FloatV(math.Inf(-1)),
		"time":         tree.TimeV(badTime),
		"comment":      tree.CommentV("c", false),
		"unknown kind": {Kind: tree.Kind(99)},
		"deep":         deep,
		"int key":      tree.MapV([]tree.Item{{Key: tree.IntV(1), Value: tree.Str("x")}}),
	}
	docs := map[string]tree.Document{"benchdata": benchdata.Document(3000)}
	for _, r := range corpus.MustRows(t) {
		if r["format"] == "json" && r["kind"] == "roundtrip" && strings.HasSuffix(r["input"], ".json") {
			if d, err := New(TabIndent).LoadPlain(readFile(t, r.Path("input"))); err == nil {
				docs[r["case"]] = d[0]
			}
		}
	}
	for name, v := range bad {
		docs[name] = tree.Document{
			tree.CommentItem("fine", false),
			tree.KeyItem("ok", tree.ListV([]tree.Value{tree.IntV(1), tree.CommentV("skipped", false), tree.TimeV(time.Unix(0, 0))})),
			tree.KeyItem("bad", tree.MapV([]tree.Item{tree.KeyItem("inner", tree.ListV([]tree.Value{tree.Str("x"), v}))})),
			tree.KeyItem("also bad", tree.FloatV(math.Inf(1))),
		}
		docs[name+" at the top"] = tree.Document{tree.KeyItem("k", v)}
	}
	failing := 0
	for name, doc := range docs {
		e := encoder{indent: "\t"}
		got := e.check(doc, 0)
		_, want := e.object(nil, doc, nil, 0)
		if (got == nil) != (want == nil) || got != nil && got.Error() != want.Error() {
			t.Errorf("%s: check says %v, writing says %v", name, got, want)
		}
		if want != nil {
			failing++
		}
	}
	if failing < 2*len(bad) {
		t.Errorf("only %d of the broken trees fail to be written", failing)
	}
}

// TestEmitPlainToSmallBuffer: a small file's text is written from a
// buffer of about its size, not of a chunk (see the YAML store's test of
// the same name).
func TestEmitPlainToSmallBuffer(t *testing.T) {
	docs := []tree.Document{benchdata.Document(10)}
	got := storetest.AllocatedBytes(20, func() {
		if err := New(TabIndent).EmitPlainTo(io.Discard, docs); err != nil {
			t.Fatal(err)
		}
	})
	if got >= chunkSize/2 {
		t.Errorf("writing 10 values allocated %d bytes, want less than %d", got, chunkSize/2)
	}
}
