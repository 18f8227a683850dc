package toml

import (
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/tree"
)

// The benchmarks use a generated document of 10,000 values: tables of
// strings, numbers, booleans, multi-line strings and arrays.

func benchDoc(b *testing.B) ([]tree.Document, []byte) {
	docs := []tree.Document{benchdata.Document(10000)}
	text, err := Store{}.EmitPlain(docs)
	if err != nil {
		b.Fatal(err)
	}
	return docs, text
}

func BenchmarkLoadPlain(b *testing.B) {
	_, text := benchDoc(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Store{}).LoadPlain(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmitPlain(b *testing.B) {
	docs, text := benchDoc(b)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (Store{}).EmitPlain(docs); err != nil {
			b.Fatal(err)
		}
	}
}
