package pgp

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/kura-secrets/kura/pkg/keys"
)

// Source is the PGP key source of one run: it unwraps PGP stanzas with the
// user's gpg or key files, and its recipients ([Source.ParseRecipient])
// find public keys in the same places.
//
// Nothing is read or run until needed, and then only once: key files are
// loaded on first use, a gpg that cannot be started is not tried again,
// and a secret key unlocked with a passphrase stays unlocked, so there is
// one prompt per key per run.
//
// A Source is safe for concurrent use; calls are serialised, so that at
// most one prompt is on the terminal.
type Source struct {
	env Env

	mu         sync.Mutex
	gpgMissing string              // why gpg cannot be run, once known
	files      []*keyFile          // KURA_PGP_KEY_FILE, once loaded
	legacy     map[string]*keyFile // pubring.gpg, secring.gpg, once loaded
	refused    map[string]error    // secret keys whose passphrase was not given
}

var _ keys.Unwrapper = (*Source)(nil)

// NewSource returns a Source that finds keys through env. It reads nothing
// yet.
func NewSource(env Env) *Source {
	return &Source{env: env}
}

// Unwrap returns the payload wrapped in a PGP stanza. It tries, in order:
//
//  1. the user's gpg (gpg --decrypt), with whatever keyring, agent,
//     pinentry and smartcard it is set up with;
//  2. secret keys in the files listed in KURA_PGP_KEY_FILE, then in the
//     legacy $GNUPGHOME/secring.gpg, decrypted in Go; a protected key
//     asks for its passphrase on the Env's Terminal.
//
// The error wraps keys.ErrNoIdentity when gpg is absent or holds no secret
// key for the message, and no file does either, with every file readable.
// A damaged message, a key gpg has but could not use (wrong passphrase,
// pinentry cancelled) and an unreadable key file are plain errors.
func (s *Source) Unwrap(st *keys.Stanza) ([]byte, error) {
	if st == nil || st.Type != keys.PGP {
		return nil, errors.New("pgp: not a PGP stanza")
	}
	fp := st.Fingerprint
	if fp == "" {
		fp = "(no fingerprint)"
	}
	m, err := parseMessage(st.Enc)
	if err != nil {
		return nil, fmt.Errorf("pgp: the data key for %s is damaged: %w", fp, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()

	payload, gres := s.gpgDecrypt(m)
	if gres.outcome == gpgDone {
		return payload, nil
	}
	payload, fres := s.decryptWithFiles(m)
	if fres.err == nil && fres.tried {
		return payload, nil
	}
	return nil, &unwrapError{fp: fp, msg: m, gpg: gres, files: fres}
}

// unwrapError is a failure to unwrap, with what each place said.
type unwrapError struct {
	fp    string
	msg   *message
	gpg   gpgResult
	files fileResult
}

// noIdentity reports whether the user plainly holds no key for the
// message.
func (e *unwrapError) noIdentity() bool {
	gpgNone := e.gpg.outcome == gpgUnavailable || e.gpg.outcome == gpgNoKey
	return gpgNone && !e.files.tried && len(e.files.broken) == 0
}

func (e *unwrapError) Error() string {
	var b strings.Builder
	if e.noIdentity() {
		fmt.Fprintf(&b, "pgp: no secret key for %s (key ID %s): %s; ", e.fp, e.msg.recipients(), e.gpg.reason)
		switch {
		case len(e.files.looked) > 0:
			fmt.Fprintf(&b, "none in %s", strings.Join(e.files.looked, ", "))
		case e.gpg.outcome == gpgUnavailable:
			fmt.Fprintf(&b, "%s is not set: install gpg and import the secret key, or set %s to a file holding it", KeyFileEnv, KeyFileEnv)
		default:
			fmt.Fprintf(&b, "%s is not set", KeyFileEnv)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "pgp: cannot unwrap the data key for %s (key ID %s): ", e.fp, e.msg.recipients())
	var parts []string
	if e.gpg.reason != "" {
		parts = append(parts, e.gpg.reason)
	}
	if e.files.err != nil {
		parts = append(parts, e.files.err.Error())
	}
	for _, err := range e.files.broken {
		parts = append(parts, err.Error())
	}
	b.WriteString(strings.Join(parts, "; "))
	return b.String()
}

func (e *unwrapError) Unwrap() []error {
	var errs []error
	if e.noIdentity() {
		errs = append(errs, keys.ErrNoIdentity)
	}
	if e.files.err != nil {
		errs = append(errs, e.files.err)
	}
	return append(errs, e.files.broken...)
}
