package age

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"

	"github.com/kura-secrets/kura/pkg/keys"
)

// recipient is one age master key to wrap payloads for.
type recipient struct {
	s string // as stored in the metadata, trimmed
	r age.Recipient
}

// ParseRecipient parses an age recipient as sops 3.13.2 recognises it, by
// prefix:
//
//   - age1pq1…: a post-quantum hybrid (ML-KEM-768 + X25519) recipient;
//   - age1…1…: a plugin recipient (the plugin name sits between the two 1s),
//     wrapped for by running age-plugin-<name>;
//   - age1…: an X25519 recipient;
//   - ssh-ed25519 … or ssh-rsa …: an SSH public key.
//
// Surrounding whitespace is ignored. Anything else is an error, which shows
// the string: recipients are public.
//
// A plugin that asks the user something while wrapping is answered on the
// terminal ([TTY]); where there is none, the request fails at once.
func ParseRecipient(s string) (keys.Recipient, error) {
	return parseRecipient(s, newPluginUI(TTY(), os.Stderr))
}

func parseRecipient(s string, ui *plugin.ClientUI) (*recipient, error) {
	s = strings.TrimSpace(s)
	var (
		r    age.Recipient
		err  error
		kind string
	)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		kind = "post-quantum"
		r, err = age.ParseHybridRecipient(s)
	case strings.HasPrefix(s, "age1") && strings.Count(s, "1") > 1:
		kind = "plugin"
		r, err = plugin.NewRecipient(s, ui)
	case strings.HasPrefix(s, "age1"):
		kind = "X25519"
		r, err = age.ParseX25519Recipient(s)
	case strings.HasPrefix(s, "ssh-"):
		kind = "SSH"
		r, err = agessh.ParseRecipient(s)
	case looksSecret(s):
		// Never echo what might be a private key pasted in the wrong place.
		return nil, errors.New("age recipient: this is a private key, not a recipient (a public key starts with age1 or ssh-)")
	default:
		return nil, fmt.Errorf("age recipient %q: unknown type (want age1…, age1pq1… or ssh-…)", s)
	}
	if err != nil {
		return nil, recipientError(s, kind, err)
	}
	return &recipient{s: s, r: r}, nil
}

// looksSecret reports whether s looks like an age identity or a PEM private
// key.
func looksSecret(s string) bool {
	u := strings.ToUpper(s)
	return strings.HasPrefix(u, "AGE-SECRET-KEY-") || strings.HasPrefix(u, "AGE-PLUGIN-") ||
		strings.Contains(u, "PRIVATE KEY")
}

// recipientError names the bad recipient once: age's own messages sometimes
// quote it already.
func recipientError(s, kind string, err error) error {
	if strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
		return fmt.Errorf("invalid %s age recipient: %w", kind, err)
	}
	return fmt.Errorf("invalid %s age recipient %q: %w", kind, s, err)
}

// ParseRecipients parses a comma-separated list of recipients, as sops
// splits the --age flag, SOPS_AGE_RECIPIENTS and .sops.yaml strings: each
// piece is trimmed and empty pieces are dropped, so "" gives none.
func ParseRecipients(list string) ([]keys.Recipient, error) {
	var out []keys.Recipient
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		r, err := ParseRecipient(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Identity returns the recipient string, which is how SOPS names an age key.
func (r *recipient) Identity() string { return r.s }

// Type is keys.Age.
func (r *recipient) Type() keys.Type { return keys.Age }

// Wrap encrypts payload to the recipient as an armored age file. Every call
// uses a fresh file key, so the result differs each time.
func (r *recipient) Wrap(payload []byte) (keys.Stanza, error) {
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r.r)
	if err != nil {
		return keys.Stanza{}, fmt.Errorf("age: wrapping the data key for %s: %w", r.s, err)
	}
	if _, err := w.Write(payload); err != nil {
		return keys.Stanza{}, fmt.Errorf("age: wrapping the data key for %s: %w", r.s, err)
	}
	if err := w.Close(); err != nil {
		return keys.Stanza{}, fmt.Errorf("age: wrapping the data key for %s: %w", r.s, err)
	}
	if err := aw.Close(); err != nil {
		return keys.Stanza{}, fmt.Errorf("age: armoring the data key for %s: %w", r.s, err)
	}
	return keys.Stanza{Type: keys.Age, Recipient: r.s, Enc: buf.String()}, nil
}
