package cipher

import (
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func BenchmarkEncryptValue(b *testing.B) {
	c, _ := New(vectorKey)
	v := tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require")
	aad := []byte("services:db:url:")
	for b.Loop() {
		if _, err := c.EncryptValue(v, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecryptValue(b *testing.B) {
	c, _ := New(vectorKey)
	aad := []byte("services:db:url:")
	enc, _ := c.EncryptValue(tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require"), aad)
	for b.Loop() {
		if _, err := c.DecryptValue(enc, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMAC(b *testing.B) {
	v := tree.Str("https://user:pass@db-1.example.com:5432/app?sslmode=require")
	m := NewMAC(false)
	for b.Loop() {
		m.Add(v)
	}
	m.Sum()
}
