package cipher

import (
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func BenchmarkEncryptValue(b *testing.B) {
	c, _ := New(vectorKey)
	v := tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require")
	aad := []byte("services:db:url:")
	b.Run("Alloc", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.EncryptValue(v, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Scratch", func(b *testing.B) {
		var sc Scratch
		for b.Loop() {
			if _, err := c.EncryptValueWith(&sc, v, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecryptValue decrypts one value over and over as a read-only
// decrypt does: no IVs remembered (a Cipher that remembers them would
// grow its memory of this one value at every iteration), with and
// without a Scratch.
func BenchmarkDecryptValue(b *testing.B) {
	c, _ := New(vectorKey)
	c.RememberIVs(false)
	aad := []byte("services:db:url:")
	enc, _ := c.EncryptValue(tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require"), aad)
	b.Run("Alloc", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.DecryptValue(enc, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Scratch", func(b *testing.B) {
		var sc Scratch
		for b.Loop() {
			if _, _, err := c.DecryptValueCheckedWith(&sc, enc, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMAC(b *testing.B) {
	v := tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require")
	m := NewMAC(false)
	for b.Loop() {
		m.Add(v)
	}
	m.Sum()
}
