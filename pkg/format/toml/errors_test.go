package toml

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

// TestSyntaxErrors checks that malformed files fail with the line (and
// column) of the problem, and that the message never quotes the file:
// every input holds the secret "Hunter2" (or a part of it) where the
// problem is.
func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		name, in string
		line     int
		msg      string
	}{
		{"bare string", "a = 1\npassword = Hunter2\n", 2, "unexpected character at start of value"},
		{"unterminated string", "a = 1\n\npassword = \"Hunter2\n", 3, "basic strings cannot have new lines"},
		{"unterminated at end", "password = \"Hunter2", 1, "unterminated basic string"},
		{"bad escape", "password = \"Hun\\qter2\"\n", 1, "invalid escape character"},
		{"bad unicode escape", "password = \"Hunter2\\uZZZZ\"\n", 1, "invalid hexadecimal digit"},
		{"junk after value", "password = \"x\" Hunter2\n", 1, "expected newline but found another character"},
		{"junk after number", "pin = 1234Hunter2\n", 1, ""},
		{"float out of range", "x = 1\npin = 1e99999\n", 2, "unable to parse float"},
		{"integer out of range", "pin = 99999999999999999999\n", 1, "too large"},
		{"leading zero", "pin = 0123\n", 1, "leading zeroes"},
		{"bad date", "\n\nday = 2024-13-45\n", 3, "impossible date"},
		{"bad time", "t = 25:61:00\n", 1, ""},
		{"missing value", "password =\n", 1, ""},
		{"missing equals", "password \"Hunter2\"\n", 1, "expected '=' after key"},
		{"unclosed header", "[Hunter2\n", 1, "expected ']' to close table name"},
		{"unclosed array", "a = [1, 2\n", 1, "array is incomplete"},
		{"unclosed inline table", "a = { b = 1\n", 1, ""},
		{"newline in literal", "password = 'Hun\nter2'\n", 1, "literal strings cannot have new lines"},
		{"control character", "password = \"Hunter2\x01\"\n", 1, "control characters"},
		{"invalid UTF-8", "password = \"Hunter2\xff\"\n", 1, "UTF-8"},
		{"control character in comment", "a = 1 # Hunter2\x02\n", 1, "control characters"},
		{"byte order mark", "\ufeffa = 1\n", 1, "byte order mark"},
		{"lone CR", "a = 1\rb = 2\n", 1, ""},
		{"duplicate key", "password = \"Hunter2\"\npassword = \"Hunter2\"\n", 2, "key password is already defined"},
		{"duplicate table", "[a]\nx = 1\n[a]\ny = 2\n", 3, "table a already exists"},
		{"duplicate dotted key", "a.b = 1\na.b = 2\n", 2, "already defined"},
		{"table over dotted key", "a.b = 1\n[a]\n", 2, "defined by a dotted key"},
		{"value then table", "a = \"Hunter2\"\n[a]\n", 2, ""},
		{"table then array of tables", "[a]\n[[a]]\n", 2, ""},
		{"array of tables then table", "[[a]]\n[a]\n", 2, ""},
		{"extend inline table", "a = { b = 1 }\n[a.c]\n", 2, ""},
		{"extend static array", "a = [1]\n[[a]]\n", 2, ""},
		{"duplicate in inline table", "a = { b = 1, b = 2 }\n", 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Store{}.LoadPlain([]byte(c.in))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("not a SyntaxError: %v", err)
			}
			if se.Line != c.line {
				t.Errorf("line %d, want %d: %s", se.Line, c.line, msg)
			}
			if !strings.HasPrefix(msg, "could not parse TOML: line ") {
				t.Errorf("message %q does not start with the line", msg)
			}
			if c.msg != "" && !strings.Contains(msg, c.msg) {
				t.Errorf("message %q does not say %q", msg, c.msg)
			}
			for _, part := range []string{"Hunter2", "Hun", "ter2", "1234", "0123", "99999", "'H'", "U+"} {
				if strings.Contains(msg, part) {
					t.Errorf("message %q quotes the file (%q)", msg, part)
				}
			}
		})
	}
}

// TestEmitErrors checks the trees that cannot be TOML: the error names the
// key path and never quotes a value.
func TestEmitErrors(t *testing.T) {
	cases := []struct {
		name string
		doc  tree.Document
		path string
	}{
		{"null", tree.Document{kv("a", mp(kv("b", tree.Value{})))}, "a.b: TOML has no null"},
		{"null in a list", tree.Document{kv("a", ls(num(1), tree.Value{}))}, "a[1]: TOML has no null"},
		{"null in an array of tables", tree.Document{kv("t", ls(mp(kv("x", num(1))), mp(kv("n", tree.Value{}))))}, "t[1].n: TOML has no null"},
		{"null in a table in an array", tree.Document{kv("l", ls(num(1), mp(kv("weird key", tree.Value{}))))}, `l[1]."weird key": TOML has no null`},
		{"null after a table", tree.Document{kv("t", mp(kv("x", tree.Value{}))), kv("y", num(1))}, "t.x: TOML has no null"},
		{"big unsigned integer", tree.Document{kv("u", tree.UintV(math.MaxUint64))}, "u: the integer does not fit"},
		{"integer key", tree.Document{{Key: num(1), Value: str("Hunter2")}}, "1: the key is of type int"},
		{"duplicate key", tree.Document{kv("t", mp(kv("k", str("Hunter2")), kv("k", str("Hunter2"))))}, "t.k: the key appears twice"},
		{"duplicate key in a big table", tree.Document{kv("a", num(1)), kv("b", num(1)), kv("c", num(1)), kv("d", num(1)), kv("e", num(1)), kv("f", num(1)), kv("g", num(1)), kv("h", num(1)), kv("a", num(2))}, "a: the key appears twice"},
		{"invalid UTF-8 string", tree.Document{kv("bin", str("Hunter2\xff"))}, "bin: the string is not valid UTF-8"},
		{"invalid UTF-8 key", tree.Document{kv("t", mp(kv("\xff", num(1))))}, "t: a key is not valid UTF-8"},
		{"comment with a line break", tree.Document{kv("t", mp(cm("Hunter2\nx"), kv("a", num(1))))}, "t: a comment holds a line break"},
		{"comment with a control character", tree.Document{kv("l", ls(ce("Hunter2\x00")))}, "l: a comment holds a line break or a control character"},
		{"invalid UTF-8 comment", tree.Document{cm("Hunter2\xff")}, "a comment is not valid UTF-8"},
		{"year 10000", tree.Document{kv("d", tree.TimeV(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))}, "d: the year of a date is outside"},
		{"negative year", tree.Document{kv("d", tree.TimeV(time.Date(-1, 1, 1, 0, 0, 0, 0, LocalDate)))}, "d: the year of a date is outside"},
		{"comment as a value", tree.Document{kv("c", ce("Hunter2"))}, "c: a comment cannot be written"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Store{}.EmitPlain([]tree.Document{c.doc})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "cannot write TOML: "+c.path) {
				t.Errorf("message %q does not name %q", msg, c.path)
			}
			if strings.Contains(msg, "Hunter2") {
				t.Errorf("message %q quotes a value", msg)
			}
			if _, err := (Store{}).EmitEncrypted([]tree.Document{c.doc}, nil); err == nil {
				t.Error("EmitEncrypted did not fail")
			}
		})
	}
	if _, err := (Store{}).EmitPlain(nil); err == nil {
		t.Error("EmitPlain of no document did not fail")
	}
	if _, err := (Store{}).EmitPlain([]tree.Document{{}, {}}); err == nil {
		t.Error("EmitPlain of two documents did not fail")
	}
}
