package age

import (
	"fmt"
	"io"

	"github.com/kura-secrets/kura/internal/terminal"

	"filippo.io/age/plugin"
)

// newPluginUI returns the callbacks an age plugin uses to talk to the user.
// Inputs go through t; with no terminal they fail at once, which the plugin
// sees as a refusal, so an unattended run never hangs on a prompt. Messages
// go to w.
func newPluginUI(t Terminal, w io.Writer) *plugin.ClientUI {
	if w == nil {
		w = io.Discard
	}
	return &plugin.ClientUI{
		DisplayMessage: func(name, message string) error {
			fmt.Fprintf(w, "age-plugin-%s: %s\n", name, terminal.Printable(message))
			return nil
		},
		RequestValue: func(name, prompt string, secret bool) (string, error) {
			if t == nil {
				return "", fmt.Errorf("age-plugin-%s asked for input: %w", name, ErrNoTerminal)
			}
			read := t.ReadLine
			if secret {
				read = t.ReadSecret
			}
			v, err := read(fmt.Sprintf("age-plugin-%s: %s", name, prompt))
			if err != nil {
				fmt.Fprintf(w, "age-plugin-%s: could not read the value: %v\n", name, err)
				return "", err
			}
			return string(v), nil
		},
		Confirm: func(name, prompt, yes, no string) (bool, error) {
			if t == nil {
				return false, fmt.Errorf("age-plugin-%s asked for confirmation: %w", name, ErrNoTerminal)
			}
			if no == "" {
				_, err := t.ReadSecret(fmt.Sprintf("age-plugin-%s: %s (press enter for %q)", name, prompt, yes))
				return err == nil, err
			}
			// A few tries, not a loop: input that is never 1 or 2 must not
			// keep us here forever.
			for range 3 {
				v, err := t.ReadLine(fmt.Sprintf("age-plugin-%s: %s ([1] %q, [2] %q)", name, prompt, yes, no))
				if err != nil {
					return false, err
				}
				switch string(v) {
				case "1":
					return true, nil
				case "2":
					return false, nil
				}
			}
			return false, fmt.Errorf("age-plugin-%s: no choice made", name)
		},
		WaitTimer: func(name string) {
			fmt.Fprintf(w, "waiting on age-plugin-%s...\n", name)
		},
	}
}
