package ini

import (
	"fmt"
	"testing"
)

// benchFile is an encrypted-looking INI file with n values in sections of
// perSection keys. The library keeps a section's keys in a list it
// searches on every insert, so the cost grows with the square of the
// largest section; typical files have small sections.
func benchFile(n, perSection int) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		if i%perSection == 0 {
			b = fmt.Appendf(b, "\n[section_%d]\n", i/perSection)
		}
		b = fmt.Appendf(b, "key_%d = ENC[AES256_GCM,data:c2VjcmV0IHZhbHVl,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\n", i)
	}
	return fmt.Appendf(b, "\n[sops]\nlastmodified = 2026-11-28T20:05:01Z\nversion = 3.13.2\n")
}

func BenchmarkLoadEncrypted100k(b *testing.B) {
	data := benchFile(100_000, 100)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := (Store{}).LoadEncrypted(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmitEncrypted100k(b *testing.B) {
	docs, meta, err := Store{}.LoadEncrypted(benchFile(100_000, 100))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := (Store{}).EmitEncrypted(docs, meta); err != nil {
			b.Fatal(err)
		}
	}
}
