package shellwords

import (
	"slices"
	"strings"
	"testing"
)

// The expectations are those of the shell-style lexer sops uses.
func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   \t\n", nil, false},
		{"op read op://vault/age/key", []string{"op", "read", "op://vault/age/key"}, false},
		{"  a\tb\r\nc  ", []string{"a", "b", "c"}, false},
		{`cat '/path with/spaces'`, []string{"cat", "/path with/spaces"}, false},
		{`cat "/a \"b\" \\c"`, []string{"cat", `/a "b" \c`}, false},
		{`echo 'no \escape in single'`, []string{"echo", `no \escape in single`}, false},
		{`echo a\ b \$HOME`, []string{"echo", "a b", "$HOME"}, false},
		{`a"b c"d'e f'g`, []string{"ab cde fg"}, false},
		{`a "" b ''`, []string{"a", "", "b", ""}, false},
		{"get-key # a comment\nsecond line", []string{"get-key", "second", "line"}, false},
		{"get-key#not-a-comment", []string{"get-key#not-a-comment"}, false},
		{"# only a comment", nil, false},
		{`echo $HOME ~ *`, []string{"echo", "$HOME", "~", "*"}, false},
		{"héllo wörld", []string{"héllo", "wörld"}, false},
		{`a\é`, []string{"aé"}, false},
		{`"unterminated`, nil, true},
		{`'unterminated`, nil, true},
		{`trailing\`, nil, true},
		{`"escape at end\`, nil, true},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("Split(%q) error = %v", tt.in, err)
			continue
		}
		if !tt.err && !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`a "b c" 'd' e\ f # g`, `"\`, "x\ny"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := Split(s)
		if err != nil {
			return
		}
		// Words taken literally come back as they were.
		for _, w := range words {
			q, err := Split(shellQuote(w))
			if err != nil || len(q) != 1 || q[0] != w {
				t.Fatalf("quoting %q does not round-trip: %q, %v", w, q, err)
			}
		}
	})
}

// shellQuote quotes s as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
