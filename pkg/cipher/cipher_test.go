package cipher

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// The test vector of the spec's appendix A, written by sops 3.13.2.
var (
	vectorKey, _ = hex.DecodeString("2fe2bbc06d59abd1b95eecc9b4ceb0f568a3bc8475a95354f3366851c3c18e54")
	vectorMAC    = "B36988727FB4C60A96CFDECA56F7D3AE6399EA250ADBD9A17E5F9A45E7DCAD61BB30CF449508D89953EAE1476F9065A78F2EB2860C368B36D48572B2D70D3D9E"
	vectorValues = []struct {
		aad, enc string
		want     tree.Value
	}{
		{":", "ENC[AES256_GCM,data:ayxH9A==,iv:GRnACCgINwzYEtLJKBqti1weOuKPhvC4epua5eEpYZE=,tag:V8htkBxgQvKzlk1/B2AVBg==,type:comment]", tree.CommentV(" top", false)},
		{"name:", "ENC[AES256_GCM,data:6h4TQwM=,iv:5yxFEJ7wmduwh3YPn46hQba0p/F+37wkTWj/EOTS2j8=,tag:ojGi2n5GWiWByD10p4JBrA==,type:str]", tree.Str("alice")},
		{"port:", "ENC[AES256_GCM,data:zOpEVw==,iv:ON0bS66jGnBpAac0GBa5p1XZgAcL9GCj2o+5OiZdzY8=,tag:r+x5zn0Y7Ext/C0x0LaS3w==,type:int]", tree.IntV(8080)},
		{"ratio:", "ENC[AES256_GCM,data:RSAZ,iv:5GZTwyY9J7tcevQwGczdfNYXZhxoJdqSRahlAMrLI4A=,tag:acCqp/P02SN1N9vitOOAag==,type:float]", tree.FloatV(0.5)},
		{"enabled:", "ENC[AES256_GCM,data:fvvFEQ==,iv:wnAmFz5MZgbXdgo2YqNos+ljlBnE8R5konnvDzKmnLk=,tag:irMLB6dQzYrrx/zDfXXYhg==,type:bool]", tree.BoolV(true)},
		{"db:password:", "ENC[AES256_GCM,data:4JTYkKUz,iv:WNl9krlEOkHiiUyiDQMA3jSHAHSiaF8I14uwp6Eh1GA=,tag:EwsNasmbpN5Cer1jJLSRIQ==,type:str]", tree.Str("s3cr3t")},
		{"db:hosts:", "ENC[AES256_GCM,data:oqg=,iv:URXtCiCCoFhM4NcT+r24Pci6cdDwor4GOdHExFK4PzU=,tag:jK80YOmCuIqm59KUFGLXjA==,type:str]", tree.Str("h1")},
		{"db:hosts:role:", "ENC[AES256_GCM,data:EdZOJRNxZA==,iv:sU/cNHKF7SKaXLel9gk2nvhfePQXJob9NZu0FxlX5RQ=,tag:9D7v0gLva5S9Y3h0h2cZtw==,type:str]", tree.Str("primary")},
	}
	vectorStoredMAC = "ENC[AES256_GCM,data:qkxAXCuj9ZEFcfAVqIs3P0gWSAsCksJ5pKIbaPPG32eFqE37uK188zsWs5dPW/VgRWPa9MtrbaQw1DzZtXP/McExEq+WsDvTkHagknq7cnP7uUkvw69x+okNwiQVNDmEceYNjrc9PgwbytTP3ep+fvAmCYXhPQ/GIBv166xXn10=,iv:suYtN8BvAfKJQCNxbvhscXGHKH/R1M86FEYxGwZ1/XE=,tag:TwG7ez4WM9H5Ol6sWevs2A==,type:str]"
)

func TestSopsVector(t *testing.T) {
	c, err := New(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	mac := NewMAC(false)
	for _, v := range vectorValues {
		got, err := c.DecryptValue(v.enc, []byte(v.aad))
		if err != nil {
			t.Fatalf("%s: %v", v.aad, err)
		}
		if got.Kind != v.want.Kind || got.Str != v.want.Str || got.Int() != v.want.Int() || got.Float() != v.want.Float() || got.Bool() != v.want.Bool() {
			t.Errorf("%s: got %+v, want %+v", v.aad, got, v.want)
		}
		if got.Kind != tree.Comment {
			mac.Add(got)
		}
		// Re-encrypting the same value at the same path reuses the IV:
		// the text is byte-identical.
		again, err := c.EncryptValue(got, []byte(v.aad))
		if err != nil {
			t.Fatal(err)
		}
		if again != v.enc {
			t.Errorf("%s: re-encryption changed the text\n got %s\nwant %s", v.aad, again, v.enc)
		}
	}
	mac.Add(tree.Str("visible"))
	if got := mac.Sum(); got != vectorMAC {
		t.Errorf("MAC %s, want %s", got, vectorMAC)
	}
	stored, err := c.DecryptMAC(vectorStoredMAC, "2026-11-28T20:10:33Z")
	if err != nil || stored != vectorMAC {
		t.Errorf("stored MAC %q, %v", stored, err)
	}
	if _, err := c.DecryptMAC(vectorStoredMAC, "2026-11-28T20:10:34Z"); err == nil {
		t.Error("MAC decrypted under another lastmodified")
	}
}

func TestAADBindsValueToPath(t *testing.T) {
	c, _ := New(vectorKey)
	if _, err := c.DecryptValue(vectorValues[1].enc, []byte("port:")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("value moved to another key: got %v", err)
	}
}

func TestRoundTripTypes(t *testing.T) {
	c, _ := New(vectorKey)
	now := time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.FixedZone("", -5*3600))
	for _, v := range []tree.Value{
		tree.Str("hello"), tree.Str("\x00\xff bytes"), tree.IntV(-7), tree.IntV(math.MaxInt64), tree.FloatV(1e21),
		tree.FloatV(math.Copysign(0, -1)), tree.FloatV(math.Inf(1)), tree.BoolV(false), tree.TimeV(now), tree.CommentV(" c", false),
	} {
		enc, err := c.EncryptValue(v, []byte("k:"))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.IV) != IVSize || len(e.Tag) != 16 {
			t.Errorf("iv %d bytes, tag %d bytes", len(e.IV), len(e.Tag))
		}
		got, err := c.DecryptValue(enc, []byte("k:"))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := v.Canonical()
		b, _ := got.Canonical()
		if a != b || got.Kind != v.Kind {
			t.Errorf("%+v came back as %+v", v, got)
		}
	}
	if s, _ := c.EncryptValue(tree.Str(""), []byte("k:")); s != "" {
		t.Errorf("empty string encrypted to %q", s)
	}
}

func TestCanonicalForms(t *testing.T) {
	for _, c := range []struct {
		v    tree.Value
		want string
	}{
		{tree.FloatV(1.0), "1"}, {tree.FloatV(1e21), "1000000000000000000000"}, {tree.FloatV(1e-7), "0.0000001"},
		{tree.FloatV(math.Copysign(0, -1)), "-0"}, {tree.FloatV(math.Inf(1)), "+Inf"}, {tree.FloatV(math.NaN()), "NaN"},
		{tree.BoolV(true), "True"}, {tree.IntV(-0), "0"},
		{tree.TimeV(time.Date(2001, 12, 14, 21, 59, 43, 100000000, time.FixedZone("", -5*3600))), "2001-12-14T21:59:43.1-05:00"},
		{tree.TimeV(time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), "2024-01-02T00:00:00Z"},
	} {
		if got, _ := c.v.Canonical(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.v, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	good := "ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]"
	for _, c := range []struct {
		in, typ string
		ok      bool
	}{
		{good, "str", true},
		{good + "trailing", "str", true},
		{"ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]]", "str]", true},
		{"ENC[AES256_GCM,data:,iv:Yg==,tag:Yw==,type:str]", "", false},
		{"ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:]", "", false},
		{"ENC[AES256_GCM,data:YQ==\n,iv:Yg==,tag:Yw==,type:str]", "", false},
		{"ENC[AES256_GCM,data:YQ=,iv:Yg==,tag:Yw==,type:str]", "", false},
		{"enc[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]", "", false},
		{"plain", "", false},
	} {
		e, err := Parse(c.in)
		if (err == nil) != c.ok || (c.ok && e.Type != c.typ) {
			t.Errorf("Parse(%q) = %+v, %v", c.in, e, err)
		}
		if c.ok && !bytes.Equal(e.Data, []byte("a")) {
			t.Errorf("Parse(%q) data %q", c.in, e.Data)
		}
	}
}

// TestParseMatchesPattern checks the fast path against the pattern sops
// uses on awkward strings.
func FuzzParse(f *testing.F) {
	f.Add("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:str]")
	f.Add("ENC[AES256_GCM,data:YQ==,iv:Yg==,iv:Yg==,tag:Yw==,type:str]x]")
	// where a split at the commas could disagree with the pattern
	f.Add("ENC[AES256_GCM,data:,iv:Yg==,tag:Yw==,type:str]")
	f.Add("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:s,tr]")
	f.Add("ENC[AES256_GCM,data:Y\nQ==,iv:Yg==,tag:Yw==,type:str]")
	f.Add("ENC[AES256_GCM,data:YQ==,iv:Yg==,tag:Yw==,type:]")
	f.Add("ENC[AES256_GCM,data:YQ==,tag:Yw==,iv:Yg==,type:str]")
	f.Add("ENC[AES256_GCM,data:YQ==,iv:Y]g==,tag:Yw==,type:str]")
	// the same past the first eight bytes, where split reads words
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2hpams=,iv:YWJjZGVmZ2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2h,pams=,iv:YWJjZGVmZ2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2hpams=,iv:YWJjZGVm]Z2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2hp\nams=,iv:YWJjZGVmZ2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2hp\rams=,iv:YWJjZGVmZ2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	f.Add("ENC[AES256_GCM,data:YWJjZGVmZ2hp\tams=,iv:YWJjZGVmZ2hpams=,tag:YWJjZGVmZ2hpams=,type:str]")
	for _, v := range vectorValues {
		f.Add(v.enc)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		m := encPattern().FindStringSubmatch(s)
		if (m == nil) != (err == ErrNotEncrypted) {
			t.Fatalf("%q: pattern match %v, Parse error %v", s, m != nil, err)
		}
		if err == nil && got.Type != m[4] {
			t.Fatalf("%q: type %q, pattern says %q", s, got.Type, m[4])
		}
		if err == nil && !strings.HasPrefix(s, encPrefix) {
			t.Fatalf("%q accepted without the prefix", s)
		}
		if err == nil {
			// The fields decoded into one buffer are what decoding each
			// on its own gives.
			for i, field := range [][]byte{got.Data, got.IV, got.Tag} {
				want, derr := base64.StdEncoding.DecodeString(m[i+1])
				if derr != nil || !bytes.Equal(field, want) {
					t.Fatalf("%q: field %d is %x, want %x (%v)", s, i, field, want, derr)
				}
			}
		}
	})
}

// TestReusedIVs checks that a Cipher encrypts a value it decrypted to the
// same ENC text, and that equal values under one path keep their own
// texts: sharing one would show they are equal.
func TestReusedIVs(t *testing.T) {
	c, err := New(make([]byte, DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("list:")
	var encs []string
	for range 2 {
		s, err := c.EncryptValue(tree.BoolV(true), aad)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, s)
	}
	if encs[0] == encs[1] {
		t.Fatal("two fresh encryptions are equal")
	}
	d, _ := New(make([]byte, DataKeySize))
	for _, s := range encs {
		if _, err := d.DecryptValue(s, aad); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range encs {
		got, err := d.EncryptValue(tree.BoolV(true), aad)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("encryption %d: got %s, want %s", i, got, want)
		}
	}
	third, _ := d.EncryptValue(tree.BoolV(true), aad)
	if third == encs[0] || third == encs[1] {
		t.Error("an IV was used twice")
	}
}

func TestAdopt(t *testing.T) {
	key := make([]byte, DataKeySize)
	src, _ := New(key)
	aad := []byte("a:")
	enc, _ := src.EncryptValue(tree.Str("x"), aad)
	other, _ := New(key)
	if _, err := other.DecryptValue(enc, aad); err != nil {
		t.Fatal(err)
	}
	c, _ := New(key)
	if _, err := c.DecryptValue(enc, aad); err != nil {
		t.Fatal(err)
	}
	c.Adopt(other) // the same IV twice must not be used twice
	first, _ := c.EncryptValue(tree.Str("x"), aad)
	second, _ := c.EncryptValue(tree.Str("x"), aad)
	if first != enc || second == enc {
		t.Errorf("got %s then %s, want %s then a new text", first, second, enc)
	}
}

func TestForgetIVs(t *testing.T) {
	c, _ := New(make([]byte, DataKeySize))
	aad := []byte("a:")
	enc, _ := c.EncryptValue(tree.Str("x"), aad)
	d, _ := New(make([]byte, DataKeySize))
	d.RememberIVs(false)
	if _, err := d.DecryptValue(enc, aad); err != nil {
		t.Fatal(err)
	}
	if again, _ := d.EncryptValue(tree.Str("x"), aad); again == enc {
		t.Error("a Cipher that forgets IVs reused one")
	}
}
