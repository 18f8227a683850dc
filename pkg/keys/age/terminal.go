package age

import "github.com/kura-secrets/kura/internal/terminal"

// Terminal is someone to ask: for the passphrase of an encrypted identity
// file or SSH key, or for what an age plugin requests.
type Terminal = terminal.Terminal

// ErrNoTerminal means a prompt was needed but there is no terminal, as in
// CI. It is returned at once: nothing ever waits for input that cannot come.
var ErrNoTerminal = terminal.ErrNoTerminal

// TTY returns the Terminal of the running process: /dev/tty (CONIN$ and
// CONOUT$ on Windows), or standard input when that is a terminal. Nothing
// is opened until a prompt is shown, and when nothing can be, prompts fail
// with an error wrapping [ErrNoTerminal].
func TTY() Terminal { return terminal.TTY() }
