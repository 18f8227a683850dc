package dotenv

import (
	"fmt"
	"testing"
)

// benchFile is an encrypted-looking dotenv file with n values, the size
// kura must handle without slowing down more than linearly.
func benchFile(n int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		if i%250 == 0 {
			b = fmt.Appendf(b, "#section %d\n", i/250)
		}
		b = fmt.Appendf(b, "KEY_%d=ENC[AES256_GCM,data:c2VjcmV0IHZhbHVl,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n", i)
	}
	return fmt.Appendf(b, "sops_lastmodified=2026-11-28T20:05:01Z\nsops_version=3.13.2\n")
}

func BenchmarkLoadEncrypted100k(b *testing.B) {
	data := benchFile(100_000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := (Store{}).LoadEncrypted(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmitEncrypted100k(b *testing.B) {
	data := benchFile(100_000)
	docs, meta, err := Store{}.LoadEncrypted(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := (Store{}).EmitEncrypted(docs, meta); err != nil {
			b.Fatal(err)
		}
	}
}
