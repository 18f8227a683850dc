// Package terminal asks the person at the keyboard: passphrases without
// echo, and plain answers, on the controlling terminal even when standard
// input and output are redirected. Key sources and commands share it.
package terminal

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unicode"

	"golang.org/x/term"
)

// Terminal is someone to ask: for the passphrase of an encrypted key, or
// for what an age plugin requests.
type Terminal interface {
	// ReadSecret shows prompt and reads one line without echoing it.
	ReadSecret(prompt string) ([]byte, error)
	// ReadLine shows prompt and reads one line, echoed.
	ReadLine(prompt string) ([]byte, error)
}

// ErrNoTerminal means a prompt was needed but there is no terminal, as in
// CI. It is returned at once: nothing ever waits for input that cannot come.
var ErrNoTerminal = errors.New("no terminal to prompt on")

// TTY returns the Terminal of the running process: /dev/tty (CONIN$ and
// CONOUT$ on Windows), or standard input when that is a terminal. Nothing
// is opened until a prompt is shown, and when nothing can be, prompts fail
// with an error wrapping [ErrNoTerminal].
//
// Going through /dev/tty rather than standard input means prompts work
// while kura's own input or output is redirected.
func TTY() Terminal { return ttyTerminal{} }

type ttyTerminal struct{}

func (ttyTerminal) ReadSecret(prompt string) ([]byte, error) {
	var line []byte
	err := withTTY(func(in, out *os.File) error {
		fmt.Fprintf(out, "%s ", Printable(prompt))
		var err error
		line, err = term.ReadPassword(int(in.Fd()))
		// The user's Enter was not echoed, so end the prompt's line.
		fmt.Fprintln(out)
		return err
	})
	return line, err
}

func (ttyTerminal) ReadLine(prompt string) ([]byte, error) {
	var line []byte
	err := withTTY(func(in, out *os.File) error {
		fmt.Fprintf(out, "%s ", Printable(prompt))
		// Read a byte at a time: a buffered reader could swallow input
		// meant for a later prompt.
		var b [1]byte
		for {
			n, err := in.Read(b[:])
			if n == 1 {
				if b[0] == '\n' {
					break
				}
				line = append(line, b[0])
				continue
			}
			if err != nil {
				return err
			}
		}
		line = []byte(strings.TrimSuffix(string(line), "\r"))
		return nil
	})
	return line, err
}

// withTTY runs f on the terminal's input and output.
func withTTY(f func(in, out *os.File) error) error {
	if runtime.GOOS == "windows" {
		in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("%w (%v)", ErrNoTerminal, err)
		}
		defer in.Close()
		out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%w (%v)", ErrNoTerminal, err)
		}
		defer out.Close()
		return f(in, out)
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err == nil {
		defer tty.Close()
		return f(tty, tty)
	}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		return f(os.Stdin, os.Stderr)
	}
	return fmt.Errorf("%w (%v)", ErrNoTerminal, err)
}

// Printable keeps control characters in a prompt (a path or a user ID can
// hold any) from steering the terminal or breaking a one-line message.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}
