package shamir

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func TestField(t *testing.T) {
	if got := mul(0x57, 0x83); got != 0xc1 {
		t.Errorf("0x57*0x83 = %#x, want 0xc1", got)
	}
	if got := mul(0x53, 0xca); got != 0x01 {
		t.Errorf("0x53*0xca = %#x, want 0x01", got)
	}
	for a := 1; a < 256; a++ {
		if got := mul(byte(a), inv(byte(a))); got != 1 {
			t.Fatalf("%#x * inv = %#x", a, got)
		}
	}
}

// TestSopsVector combines shares written by sops (spec appendix B).
func TestSopsVector(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	s1 := h("2cec761a3e71af22580833c02565873c0c7abef89e7b32cc1a2c1b98779452c201")
	s2 := h("8341f1dc83a5dca016dc48bc617d0ed0b80b7c7aee2139095b0aa68908e3b93f02")
	s3 := h("e6d38c9ee8e904de2c9061615d75807dd424cb043717c94a64e1cd86d4cee09d03")
	want := h("497e0b58553d775c62441a1d196d099160550986474dc28f25c77097abb90b60")
	for _, set := range [][][]byte{{s1, s2}, {s1, s3}, {s2, s3}, {s3, s1}, {s1, s2, s3}} {
		got, err := Combine(set)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("combine gave %x, want %x", got, want)
		}
	}
}

func TestSplitCombine(t *testing.T) {
	secret := make([]byte, 32)
	rand.Read(secret)
	for _, c := range []struct{ parts, threshold int }{{2, 2}, {3, 2}, {3, 3}, {5, 3}, {255, 2}} {
		shares, err := Split(secret, c.parts, c.threshold)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range shares {
			if len(s) != 33 || s[32] != byte(i+1) {
				t.Fatalf("share %d has x %d, length %d", i, s[32], len(s))
			}
		}
		got, err := Combine(shares[len(shares)-c.threshold:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, secret) {
			t.Errorf("%+v: combine of threshold shares differs", c)
		}
		if c.threshold > 2 {
			if got, _ := Combine(shares[:c.threshold-1]); bytes.Equal(got, secret) {
				t.Errorf("%+v: fewer shares than the threshold recovered the secret", c)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := Split([]byte{1}, 3, 1); err == nil {
		t.Error("threshold 1 accepted")
	}
	if _, err := Split([]byte{1}, 2, 3); err == nil {
		t.Error("parts < threshold accepted")
	}
	if _, err := Combine([][]byte{{1, 1}}); err == nil {
		t.Error("one share accepted")
	}
	if _, err := Combine([][]byte{{1, 1}, {2, 1}}); err == nil {
		t.Error("duplicate x accepted")
	}
}

func FuzzCombine(f *testing.F) {
	f.Add([]byte{1, 2, 3, 1}, []byte{4, 5, 6, 2})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		Combine([][]byte{a, b})
	})
}
