// Package ui decides, in one place, how kura may dress its output: in
// colour, and with a progress bar redrawn in place, only when the stream
// is a terminal, and colour only when neither NO_COLOR nor --no-color
// asks for plain text. Everything else (a pipe, a file, CI) gets plain
// lines, byte for byte the same whatever the terminal kura was started
// from.
package ui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// ForceTTYEnv names the variable that makes kura treat its output as a
// terminal: "1" (or "all") for both streams, or "stdout", "stderr", or
// both separated by a comma. It exists for tests, which capture the
// output; people have no reason to set it.
const ForceTTYEnv = "KURA_FORCE_TTY"

// Output is what one output stream may carry.
type Output struct {
	// TTY says the stream is a terminal: a progress bar may be drawn.
	TTY bool
	// Color says colour escapes may be written.
	Color bool
	// Width is the terminal's width in columns (80 when unknown).
	Width int
}

// Detect decides for w, the stream called name ("stdout" or "stderr"):
// a terminal when it is one (or ForceTTYEnv names it), in colour on a
// terminal unless noColor (--no-color), NO_COLOR has any non-empty value
// (https://no-color.org) or TERM is "dumb".
func Detect(w io.Writer, name string, getenv func(string) string, noColor bool) Output {
	o := Output{Width: 80}
	if forced(getenv(ForceTTYEnv), name) {
		o.TTY = true
	} else if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && enableEscapes(f) {
		o.TTY = true
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			o.Width = cols
		}
	}
	o.Color = o.TTY && !noColor && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	return o
}

func forced(v, name string) bool {
	for _, part := range strings.Split(v, ",") {
		switch strings.TrimSpace(part) {
		case "1", "all", name:
			return true
		}
	}
	return false
}

// SGR codes for Paint.
const (
	Red     = "31"
	Green   = "32"
	Yellow  = "33"
	Cyan    = "36"
	Bold    = "1"
	BoldRed = "1;31"
)

// Paint wraps s in the SGR code when the stream is in colour.
func (o Output) Paint(code, s string) string {
	if !o.Color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Prefix is kura's "kura: KIND:" line prefix, with KIND (error, warning,
// hint) in its colour.
func (o Output) Prefix(kind string) string {
	code := Cyan
	switch kind {
	case "error":
		code = BoldRed
	case "warning":
		code = Yellow
	}
	return "kura: " + o.Paint(code, kind+":") + " "
}

// Progress is a one-line progress bar on a terminal, redrawn in place.
// Lines printed while it shows are printed through Above. Its methods may
// be called from any goroutine.
type Progress struct {
	mu          sync.Mutex
	w           io.Writer
	width       int
	total, done int
	last        time.Time
	shown       bool
}

// minRedraw is the least time between two redraws: a run over thousands
// of small files would otherwise spend its time drawing.
const minRedraw = 50 * time.Millisecond

// NewProgress starts a bar for total files on o's stream w, or returns
// nil when the stream is no terminal or there is only one file. Every
// method of a nil *Progress does nothing.
func NewProgress(w io.Writer, o Output, total int) *Progress {
	if !o.TTY || total < 2 {
		return nil
	}
	p := &Progress{w: w, width: o.Width, total: total}
	p.draw()
	return p
}

// Add counts n more items done and redraws the bar, at most every
// minRedraw, and always for the last item.
func (p *Progress) Add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.done >= p.total || time.Since(p.last) >= minRedraw || !p.shown {
		p.draw()
	}
}

// Clear erases the bar; the next Add draws it again.
func (p *Progress) Clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *Progress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// Above erases the bar and runs print, which writes lines on the
// terminal where the bar was; the next Add draws the bar again below
// them. With a nil *Progress it just runs print.
func (p *Progress) Above(print func()) {
	if p == nil {
		print()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	print()
}

// Done erases the bar for good.
func (p *Progress) Done() { p.Clear() }

func (p *Progress) draw() {
	count := fmt.Sprintf("%d/%d files", p.done, p.total)
	// "kura: [bar] N/M files" must fit on one line, or the carriage
	// return would no longer go back to its start.
	room := p.width - 1 - len("kura: [] ") - len(count)
	bar := ""
	if room >= 10 {
		room = min(room, 40)
		filled := room * p.done / p.total
		bar = "[" + strings.Repeat("=", filled) + strings.Repeat(" ", room-filled) + "] "
	}
	fmt.Fprintf(p.w, "\r\x1b[Kkura: %s%s", bar, count)
	p.shown = true
	p.last = time.Now()
}
