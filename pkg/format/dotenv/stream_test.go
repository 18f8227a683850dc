package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestEmitPlainToMatchesEmitPlain writes every dotenv plaintext of the
// corpus and a document of many chunks with EmitPlainTo and EmitPlain: the
// bytes must be equal, and the large one must arrive in several writes of
// about a chunk.
func TestEmitPlainToMatchesEmitPlain(t *testing.T) {
	large := tree.Document{tree.CommentItem(" generated", false)}
	for i := range 20000 {
		large = append(large, tree.KeyItem(fmt.Sprintf("KEY_%d", i), tree.Str(strings.Repeat("v", i%50)+"\nline two")))
	}
	inputs := map[string]tree.Document{"large": large}
	for _, c := range storetest.PlainCases(t, "dotenv", ".env") {
		docs, err := Store{}.LoadPlain(storetest.Read(t, c.Input))
		if err != nil {
			t.Fatal(err)
		}
		inputs[c.Name] = docs[0]
	}
	if len(inputs) < 3 {
		t.Fatalf("only %d inputs", len(inputs))
	}
	for name, doc := range inputs {
		want, err := Store{}.EmitPlain([]tree.Document{doc})
		if err != nil {
			t.Fatal(err)
		}
		var w storetest.ChunkRecorder
		if err := (Store{}).EmitPlainTo(&w, []tree.Document{doc}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(w.Buf.Bytes(), want) {
			t.Errorf("%s: EmitPlainTo differs from EmitPlain", name)
		}
		if name == "large" && (w.Writes < 3 || w.Largest > 2*chunkSize) {
			t.Errorf("%s: %d writes, the largest %d bytes: not streamed in chunks", name, w.Writes, w.Largest)
		}
	}
}

// TestEmitPlainToNothingOnError: a nested value late in a large document
// gives EmitPlain's error and writes nothing; a writer's error is
// returned as it is.
func TestEmitPlainToNothingOnError(t *testing.T) {
	var doc tree.Document
	for i := range 20000 {
		doc = append(doc, tree.KeyItem(fmt.Sprintf("K%d", i), tree.Str("value")))
	}
	doc = append(doc, tree.KeyItem("late", tree.MapV([]tree.Item{tree.KeyItem("a", tree.Str("b"))})))
	_, want := Store{}.EmitPlain([]tree.Document{doc})
	var w storetest.ChunkRecorder
	got := Store{}.EmitPlainTo(&w, []tree.Document{doc})
	if want == nil || got == nil || got.Error() != want.Error() || w.Writes != 0 {
		t.Errorf("EmitPlainTo: %v after %d writes; EmitPlain: %v", got, w.Writes, want)
	}
	broken := errors.New("disk full")
	if err := (Store{}).EmitPlainTo(storetest.FailingWriter{Err: broken}, []tree.Document{doc[:20000]}); !errors.Is(err, broken) {
		t.Errorf("got %v, want %v", err, broken)
	}
}

// TestEmitPlainToSmallBuffer: a small file's text is written from a
// buffer of about its size, not of a chunk (see the YAML store's test of
// the same name).
func TestEmitPlainToSmallBuffer(t *testing.T) {
	var doc tree.Document
	for i := range 10 {
		doc = append(doc, tree.KeyItem(fmt.Sprintf("KEY_%d", i), tree.Str("value")))
	}
	got := storetest.AllocatedBytes(20, func() {
		if err := (Store{}).EmitPlainTo(io.Discard, []tree.Document{doc}); err != nil {
			t.Fatal(err)
		}
	})
	if got >= chunkSize/2 {
		t.Errorf("writing 10 values allocated %d bytes, want less than %d", got, chunkSize/2)
	}
}
