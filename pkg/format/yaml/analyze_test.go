package yaml

import (
	"strings"
	"testing"
)

// analyzeSeeds are strings at the edges of analyzePlainASCII: each
// indicator first, spaces at either end, ':' and '#' in every place,
// control and non-ASCII bytes inside and after the first eight.
var analyzeSeeds = []string{
	"a", "-", "- a", "-a", "?", "? a", "?a", "---", "--- a", "...", "..a",
	" a", "a ", " ", "a b", "a  b", ",a", "[a", "]a", "{a", "}a", "&a", "*a", "!a", "|a", ">a",
	"'a", "\"a", "%a", "@a", "`a", "#a", "a#", "a #b", "a:b", "a: b", ":a", ": a", ":", "a:", "#", "a\t#b", "abcdefgh: ijk", "abcdefgh #ijk",
	"ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]", "https://example.com/x",
	"abcdefgh\x7f", "abcdefghi\tj", "abcdefgh\nij", "abcdefgh\u00e9", "\u00e9", "abc\x00",
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=",
	strings.Repeat("x", 64) + " ", strings.Repeat("y", 63) + "~",
	"\n", "\na", "a\n", "a\n b", "a \nb", "a\n#b", "a\n\nb", "abcdefgh\n#ijklmnop", "abcdefgh \nijklmnop",
	"abcdefgh\n ijklmnop", "abcdefgh:\nijklmnop", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
}

// FuzzAnalyzePlainASCII: wherever the eight-bytes-at-a-time analysis
// takes a string, it gives what the byte loop (yaml.v3's own analysis,
// translated) gives.
func FuzzAnalyzePlainASCII(f *testing.F) {
	for _, s := range analyzeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := analyzePlainASCII(s)
		if !ok {
			return
		}
		slow, ok := analyzeBytes(s)
		if !ok || fast != slow {
			t.Errorf("%q: eight at a time %+v, byte by byte %+v (ok %v)", s, fast, slow, ok)
		}
	})
}

// TestAnalyzePlainASCIITakesCommonStrings keeps the fast path in use: ENC
// texts, base64, names and sentences are taken; what needs the byte loop
// is not.
func TestAnalyzePlainASCIITakesCommonStrings(t *testing.T) {
	for _, tc := range []struct {
		s    string
		fast bool
	}{
		{"ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]", true},
		{"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/=", true},
		{"lookup-value-0001", true},
		{"a sentence with spaces, commas and (parentheses).", true},
		{" leading space", true},
		{"a: b", true},
		{"a #b", true},
		{"https://example.com/#top", true},
		{"tab\there", false},
		{"line\nbreak", true},
		{"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", true},
		{"CRLF\r\nbreak", false},
		{"caf\u00e9", false},
	} {
		if _, ok := analyzePlainASCII(tc.s); ok != tc.fast {
			t.Errorf("%q: taken %v, want %v", tc.s, ok, tc.fast)
		}
	}
}
