package yaml

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestEmitPlainToMatchesEmitPlain writes every corpus file and a document
// of many chunks with EmitPlainTo and EmitPlain: the bytes must be equal,
// whichever emitter writes them, and the chunks must arrive in order.
func TestEmitPlainToMatchesEmitPlain(t *testing.T) {
	names, texts := yamlInputs(t)
	inputs := [][]tree.Document{{benchdata.Document(20000)}, {benchdata.Document(3000), benchdata.Document(10)}}
	for _, text := range texts {
		if docs, err := (Store{}).LoadPlain(text); err == nil && len(docs) > 0 {
			inputs = append(inputs, docs)
		} else {
			inputs = append(inputs, nil)
		}
	}
	names = append([]string{"benchdata 20000", "benchdata two documents"}, names...)
	for i, docs := range inputs {
		if docs == nil {
			continue
		}
		for _, indent := range []int{0, 2} {
			s := Store{Indent: indent}
			want, werr := s.EmitPlain(docs)
			var w storetest.ChunkRecorder
			gerr := s.EmitPlainTo(&w, docs)
			if (werr != nil) != (gerr != nil) || !bytes.Equal(w.Buf.Bytes(), want) {
				t.Errorf("%s (indent %d): EmitPlainTo gave %q, %v; EmitPlain %q, %v", names[i], indent, w.Buf.Bytes(), gerr, want, werr)
			}
			if i == 0 && w.Writes < 3 {
				t.Errorf("%s: %d writes of at most %d bytes: the text was not streamed", names[i], w.Writes, w.Largest)
			}
			if i < 2 && w.Largest > 2*chunkSize {
				// One entry is never split: a chunk is at least an entry.
				t.Errorf("%s: a write of %d bytes, more than two chunks", names[i], w.Largest)
			}
		}
	}
}

// TestEmitPlainToFallback: a tree the fast emitter leaves to the encoder
// (a non-string key) is written whole by the encoder, with nothing written
// before it.
func TestEmitPlainToFallback(t *testing.T) {
	doc := benchdata.Document(5000)
	doc = append(doc, tree.Item{Key: tree.IntV(1), Value: tree.Str("x")})
	want, err := Store{}.EmitPlain([]tree.Document{doc})
	if err != nil {
		t.Fatal(err)
	}
	var w storetest.ChunkRecorder
	if err := (Store{}).EmitPlainTo(&w, []tree.Document{doc}); err != nil {
		t.Fatal(err)
	}
	if w.Writes != 1 || !bytes.Equal(w.Buf.Bytes(), want) {
		t.Errorf("%d writes; equal: %v", w.Writes, bytes.Equal(w.Buf.Bytes(), want))
	}
}

// TestEmitPlainToWriteError: the writer's error is returned.
func TestEmitPlainToWriteError(t *testing.T) {
	broken := errors.New("disk full")
	err := Store{}.EmitPlainTo(storetest.FailingWriter{Err: broken}, []tree.Document{benchdata.Document(20000)})
	if !errors.Is(err, broken) {
		t.Errorf("got %v, want %v", err, broken)
	}
}

// TestEmitPlainToSmallBuffer: a small file's text is written from a
// buffer of about its size, not of a chunk: a chunk-sized buffer is fresh
// memory the kernel backs page by page, which cost a 10-value decryption
// more than writing its text did.
func TestEmitPlainToSmallBuffer(t *testing.T) {
	docs := []tree.Document{benchdata.Document(10)}
	got := storetest.AllocatedBytes(20, func() {
		if err := (Store{}).EmitPlainTo(io.Discard, docs); err != nil {
			t.Fatal(err)
		}
	})
	if got >= chunkSize/2 {
		t.Errorf("writing 10 values allocated %d bytes, want less than %d", got, chunkSize/2)
	}
}
