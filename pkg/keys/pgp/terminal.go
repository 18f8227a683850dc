package pgp

import "github.com/kura-secrets/kura/internal/terminal"

// Terminal is someone to ask for the passphrase of a protected secret key.
// The age key source's terminal satisfies it too.
type Terminal interface {
	// ReadSecret shows prompt and reads one line without echoing it.
	ReadSecret(prompt string) ([]byte, error)
}

// ErrNoTerminal means a passphrase was needed but there is no terminal, as
// in CI. It is returned at once: nothing ever waits for input that cannot
// come. It is the same error as the age key source's.
var ErrNoTerminal = terminal.ErrNoTerminal

// TTY returns the Terminal of the running process: /dev/tty (CONIN$ and
// CONOUT$ on Windows), or standard input when that is a terminal. Nothing
// is opened until a prompt is shown; when nothing can be, the prompt fails
// with an error wrapping [ErrNoTerminal].
func TTY() Terminal { return terminal.TTY() }
