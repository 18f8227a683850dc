package yaml

import (
	"fmt"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/tree"
)

func BenchmarkYAML(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		docs := []tree.Document{benchdata.Document(n)}
		text, err := Store{}.EmitPlain(docs)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("Load/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := (Store{}).LoadPlain(text); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Emit/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := (Store{}).EmitPlain(docs); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The yaml.v3 encoder path that fastEmit replaces, for comparison.
		b.Run(fmt.Sprintf("EmitEncoder/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := (Store{}).encoderEmit(docs, nil, DefaultIndent); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
