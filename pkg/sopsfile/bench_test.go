package sopsfile

import (
	"fmt"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/tree"
)

// BenchmarkWalk measures encrypting and decrypting a whole tree: the
// selector, the key paths, AES-GCM and the MAC, without any file format.
func BenchmarkWalk(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		plain := benchdata.Document(n)
		b.Run(fmt.Sprintf("Encrypt/%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				docs := []tree.Document{benchdata.Copy(plain)}
				b.StartTimer()
				if _, err := Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		f, err := Encrypt([]tree.Document{benchdata.Copy(plain)}, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("DecryptReadOnly/%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				g := &File{Docs: []tree.Document{benchdata.Copy(f.Docs[0])}, Meta: f.Meta}
				b.StartTimer()
				if err := g.decryptWithKey(f.dataKey, false, false); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Decrypt/%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				g := &File{Docs: []tree.Document{benchdata.Copy(f.Docs[0])}, Meta: f.Meta}
				b.StartTimer()
				if err := g.DecryptWithKey(f.dataKey, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
