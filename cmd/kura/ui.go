package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kura-secrets/kura/internal/ui"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// decideUI decides, once, whether standard output and error are
// terminals and may be coloured (internal/ui holds the rules).
func (a *app) decideUI() {
	a.uiOnce.Do(func() {
		a.stdoutStyle = ui.Detect(a.stdout, "stdout", a.getenv, a.global.noColor)
		a.stderrStyle = ui.Detect(a.stderr, "stderr", a.getenv, a.global.noColor)
	})
}

// outUI is what standard output may carry.
func (a *app) outUI() ui.Output { a.decideUI(); return a.stdoutStyle }

// errUI is what standard error may carry.
func (a *app) errUI() ui.Output { a.decideUI(); return a.stderrStyle }

// messageLine joins a message's lines and spaces into one line.
func messageLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// printError prints an error in the house style, on one line, with the
// file it concerns first when file is not empty (and not already part of
// the message), then the error's detail lines and the hint:
//
//	kura: error: FILE: ["key"]["path"]: what went wrong
//	kura:   detail
//	kura: hint: what to do about it
func (a *app) printError(err error, file, hint string) {
	msg := messageLine(err.Error())
	if file != "" {
		msg = displayName(file) + ": " + msg
	}
	fmt.Fprintf(a.stderr, "%s%s\n", a.errUI().Prefix("error"), msg)
	var detailed interface{ Details() []string }
	if errors.As(err, &detailed) {
		for _, line := range detailed.Details() {
			fmt.Fprintf(a.stderr, "kura:   %s\n", line)
		}
	}
	if hint != "" {
		a.printHint(hint)
	}
}

// printHint prints "kura: hint: ...".
func (a *app) printHint(hint string) {
	fmt.Fprintf(a.stderr, "%s%s\n", a.errUI().Prefix("hint"), hint)
}

// hintFor is the hint for err about file: the error's own, and when the
// user holds no key of the file (no age identity or PGP secret key
// matched), how to see which keys would open it.
func hintFor(err error, file string) string {
	hint := sopsfile.HintOf(err)
	var rerr *keys.RecoverError
	if hint == "" || !errors.As(err, &rerr) || file == "" || file == "(stdin)" {
		return hint
	}
	return hint + "; `kura inspect " + shellQuote(displayName(file)) + "` lists them"
}

// colorDiff colours the lines of kura diff on a colour terminal: added
// green, removed red, changed yellow.
func colorDiff(o ui.Output, text string) string {
	if !o.Color {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	for i, line := range lines {
		body, nl := strings.CutSuffix(line, "\n")
		code := ""
		switch {
		case strings.HasPrefix(body, "+ "):
			code = ui.Green
		case strings.HasPrefix(body, "- "):
			code = ui.Red
		case strings.HasPrefix(body, "~ "):
			code = ui.Yellow
		}
		if code != "" {
			lines[i] = o.Paint(code, body)
			if nl {
				lines[i] += "\n"
			}
		}
	}
	return strings.Join(lines, "")
}
