package ui

import (
	"bytes"
	"strings"
	"testing"
)

func env(vars ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(vars); i += 2 {
		m[vars[i]] = vars[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestDetect(t *testing.T) {
	var buf bytes.Buffer
	for _, c := range []struct {
		name      string
		getenv    func(string) string
		stream    string
		noColor   bool
		tty, colr bool
	}{
		{"a buffer is no terminal", env(), "stderr", false, false, false},
		{"forced, both", env(ForceTTYEnv, "1"), "stderr", false, true, true},
		{"forced, all", env(ForceTTYEnv, "all"), "stdout", false, true, true},
		{"forced, this stream", env(ForceTTYEnv, "stdout,stderr"), "stderr", false, true, true},
		{"forced, the other stream", env(ForceTTYEnv, "stdout"), "stderr", false, false, false},
		{"forced, 0", env(ForceTTYEnv, "0"), "stderr", false, false, false},
		{"NO_COLOR", env(ForceTTYEnv, "1", "NO_COLOR", "1"), "stderr", false, true, false},
		{"NO_COLOR=0 is still set", env(ForceTTYEnv, "1", "NO_COLOR", "0"), "stderr", false, true, false},
		{"NO_COLOR empty", env(ForceTTYEnv, "1", "NO_COLOR", ""), "stderr", false, true, true},
		{"--no-color", env(ForceTTYEnv, "1"), "stderr", true, true, false},
		{"TERM=dumb", env(ForceTTYEnv, "1", "TERM", "dumb"), "stderr", false, true, false},
	} {
		o := Detect(&buf, c.stream, c.getenv, c.noColor)
		if o.TTY != c.tty || o.Color != c.colr {
			t.Errorf("%s: TTY %v, Color %v; want %v, %v", c.name, o.TTY, o.Color, c.tty, c.colr)
		}
		if o.Width != 80 {
			t.Errorf("%s: width %d, want 80", c.name, o.Width)
		}
	}
}

func TestPaint(t *testing.T) {
	on, off := Output{TTY: true, Color: true}, Output{TTY: true}
	if got := on.Paint(Red, "x"); got != "\x1b[31mx\x1b[0m" {
		t.Errorf("Paint in colour: %q", got)
	}
	if got := off.Paint(Red, "x"); got != "x" {
		t.Errorf("Paint without colour: %q", got)
	}
	if got := on.Prefix("error"); got != "kura: \x1b[1;31merror:\x1b[0m " {
		t.Errorf("Prefix(error): %q", got)
	}
	if got := off.Prefix("hint"); got != "kura: hint: " {
		t.Errorf("Prefix(hint) without colour: %q", got)
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	if p := NewProgress(&buf, Output{}, 10); p != nil {
		t.Error("a bar off a terminal")
	}
	if p := NewProgress(&buf, Output{TTY: true, Width: 80}, 1); p != nil {
		t.Error("a bar for one file")
	}
	var nilBar *Progress
	nilBar.Add(1)
	nilBar.Clear()
	nilBar.Done()
	if buf.Len() != 0 {
		t.Errorf("a nil bar wrote %q", buf.String())
	}

	p := NewProgress(&buf, Output{TTY: true, Width: 80}, 4)
	if got := buf.String(); got != "\r\x1b[Kkura: ["+strings.Repeat(" ", 40)+"] 0/4 files" {
		t.Errorf("first draw: %q", got)
	}
	for range 4 {
		p.Add(1)
	}
	if !strings.HasSuffix(buf.String(), "\r\x1b[Kkura: ["+strings.Repeat("=", 40)+"] 4/4 files") {
		t.Errorf("the last file is always drawn: %q", buf.String())
	}
	p.Done()
	if !strings.HasSuffix(buf.String(), "4/4 files\r\x1b[K") {
		t.Errorf("not erased at the end: %q", buf.String())
	}
	n := buf.Len()
	p.Clear()
	if buf.Len() != n {
		t.Error("erased twice")
	}
	if strings.Contains(buf.String(), "\n") {
		t.Error("the bar wrote a newline")
	}

	// On a narrow terminal only the count fits: a line must never wrap.
	buf.Reset()
	NewProgress(&buf, Output{TTY: true, Width: 20}, 100)
	if got := buf.String(); got != "\r\x1b[Kkura: 0/100 files" {
		t.Errorf("narrow: %q", got)
	}
}
