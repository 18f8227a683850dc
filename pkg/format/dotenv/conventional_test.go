package dotenv

import (
	"strings"
	"testing"
)

func TestUnquote(t *testing.T) {
	for raw, want := range map[string]string{
		`plain`:                 "plain",
		`value with spaces   `:  "value with spaces",
		`abc#def # not`:         "abc#def",
		`"double quoted"`:       "double quoted",
		`'single quoted'`:       "single quoted",
		`"esc \"q\" \n \\ \$x"`: "esc \"q\" \n \\ $x",
		`'no \n escapes'`:       `no \n escapes`,
		"\"multi\nline\"":       "multi\nline",
		`"unclosed`:             `"unclosed`,
		``:                      "",
	} {
		if got := Unquote(raw); got != want {
			t.Errorf("Unquote(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, v := range []string{"plain", "a b", " lead", "trail ", "a # b", "x\ny", `q"uote`, "it's", `back\slash`, "$HOME", "", "#start"} {
		q := Quote(v)
		if got := Unquote(q); got != v {
			t.Errorf("Quote(%q) = %q, which reads back as %q", v, q, got)
		}
		if strings.Contains(q, "\n") {
			t.Errorf("Quote(%q) = %q spans lines", v, q)
		}
	}
}

func TestName(t *testing.T) {
	for k, want := range map[string]string{"A": "A", "export A": "A", "  B ": "B", "export  C": "C"} {
		if got := Name(k); got != want {
			t.Errorf("Name(%q) = %q", k, got)
		}
	}
}

func TestMultiLineValues(t *testing.T) {
	in := "CERT=\"-----BEGIN-----\nabc=\n-----END-----\"\nNEXT=1\nSINGLE='a\nb'\nOPEN=\"never closed\nLAST=2\n"
	docs, err := Store{}.LoadPlain([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range docs[0] {
		got[it.Key.Str] = it.Value.Str
	}
	if got["CERT"] != "\"-----BEGIN-----\nabc=\n-----END-----\"" || got["NEXT"] != "1" || got["SINGLE"] != "'a\nb'" {
		t.Errorf("%q", got)
	}
	if got["OPEN"] != `"never closed` || got["LAST"] != "2" {
		t.Errorf("an unclosed quote must stay one line, as sops reads it: %q", got)
	}
	if Unquote(got["CERT"]) != "-----BEGIN-----\nabc=\n-----END-----" {
		t.Errorf("meaning %q", Unquote(got["CERT"]))
	}
}
