package age

import (
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// maxIdentityFile bounds how much of an identity file or command output is
// read, as age does.
const maxIdentityFile = 16 << 20

// lineError is a problem on one line of identity text. It carries the line
// number and never the line: the line is most likely a secret key.
type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineError) Unwrap() error { return e.err }

// parseIdentities parses identity text with the grammar sops uses: one
// identity per line, or when words is set (SOPS_AGE_KEY) any number per
// line separated by white space. Lines that are empty or start with # are
// skipped; nothing is trimmed, so a stray space is an error, as in sops.
//
// Identities are X25519 (AGE-SECRET-KEY-1…), post-quantum hybrid
// (AGE-SECRET-KEY-PQ-1…) and plugin (AGE-PLUGIN-…) ones; plugins talk to
// the user through ui.
func parseIdentities(text string, words bool, ui *plugin.ClientUI) ([]age.Identity, error) {
	var ids []age.Identity
	lines := strings.Split(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for n, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		items := []string{line}
		if words {
			items = strings.Fields(line)
		}
		for _, s := range items {
			id, err := parseIdentity(s, ui)
			if err != nil {
				return nil, &lineError{line: n + 1, err: err}
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// parseIdentity parses one identity. Its errors never quote s, and do not
// pass on the decoder's, which can point at characters of the key.
func parseIdentity(s string, ui *plugin.ClientUI) (age.Identity, error) {
	if t := strings.TrimSpace(s); t != s && knownIdentityPrefix(t) {
		return nil, errors.New("white space around the identity: remove it")
	}
	switch {
	case strings.HasPrefix(s, "AGE-PLUGIN-"):
		id, err := plugin.NewIdentity(s, ui)
		if err != nil {
			return nil, errors.New("malformed plugin identity (AGE-PLUGIN-…)")
		}
		return id, nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-PQ-1"):
		id, err := age.ParseHybridIdentity(s)
		if err != nil {
			return nil, errors.New("malformed post-quantum identity (AGE-SECRET-KEY-PQ-1…): bad length, character or checksum")
		}
		return id, nil
	case strings.HasPrefix(s, "AGE-SECRET-KEY-1"):
		id, err := age.ParseX25519Identity(s)
		if err != nil {
			return nil, errors.New("malformed X25519 identity (AGE-SECRET-KEY-1…): bad length, character or checksum")
		}
		return id, nil
	}
	return nil, unknownIdentity(s)
}

// unknownIdentity explains the usual mistakes behind a line that is no
// identity at all.
func unknownIdentity(s string) error {
	var hint string
	switch t := strings.TrimSpace(s); {
	case t != strings.ToUpper(t) && knownIdentityPrefix(strings.ToUpper(t)):
		hint = ": identities are written in upper case"
	case strings.HasPrefix(t, "age1") || strings.HasPrefix(t, "ssh-"):
		hint = ": this is a recipient (a public key), not an identity"
	case strings.Contains(t, "PRIVATE KEY"):
		hint = ": SSH keys are read from " + SSHKeyFileEnv + ", not from age identity files"
	default:
		hint = " (want AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1… or AGE-PLUGIN-…)"
	}
	return errors.New("unknown identity type" + hint)
}

func knownIdentityPrefix(s string) bool {
	return strings.HasPrefix(s, "AGE-SECRET-KEY-") || strings.HasPrefix(s, "AGE-PLUGIN-")
}
