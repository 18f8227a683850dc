package age

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"filippo.io/age/plugin"
)

// isAgeFile reports whether identity text is in fact an age file, plain or
// armored: an identity file protected with a passphrase (age -p).
func isAgeFile(text string) bool {
	return strings.HasPrefix(text, "age-encryption") || strings.HasPrefix(text, "-----BEGIN AGE")
}

// encryptedIdentities stands for the identities inside a passphrase-protected
// identity file. The passphrase is asked the first time the file is needed,
// which is only after every plain identity has failed (age tries native
// identities first), and then the result is kept: one prompt per run.
type encryptedIdentities struct {
	name  string // the source, for errors
	where string // the file as the user knows it, for the prompt
	file  string
	term  Terminal
	ui    *plugin.ClientUI

	opened bool
	ids    []age.Identity
	err    error
}

func (e *encryptedIdentities) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if !e.opened {
		e.ids, e.err = e.open()
		e.opened = true
	}
	if e.err != nil {
		return nil, e.err
	}
	for _, id := range e.ids {
		key, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, age.ErrIncorrectIdentity
}

// errNotPassphrase means the identity file is encrypted to a recipient: there
// is nothing kura could decrypt it with.
var errNotPassphrase = errors.New("it is encrypted to a recipient, not with a passphrase")

func (e *encryptedIdentities) open() ([]age.Identity, error) {
	var r io.Reader = strings.NewReader(e.file)
	if strings.HasPrefix(e.file, "-----BEGIN AGE") {
		r = armor.NewReader(r)
	}
	d, err := age.Decrypt(r, &passphraseIdentity{where: e.where, term: e.term})
	if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
		return nil, fmt.Errorf("%s: incorrect passphrase", e.name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: decrypting the identity file: %w", e.name, err)
	}
	var text bytes.Buffer
	if _, err := io.Copy(&text, io.LimitReader(d, maxIdentityFile+1)); err != nil {
		return nil, fmt.Errorf("%s: decrypting the identity file: %w", e.name, err)
	}
	if text.Len() > maxIdentityFile {
		return nil, fmt.Errorf("%s: decrypted identity file is too long", e.name)
	}
	ids, err := parseIdentities(text.String(), false, e.ui)
	if err != nil {
		return nil, fmt.Errorf("%s (decrypted): %w", e.name, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: the decrypted identity file holds no identities", e.name)
	}
	return ids, nil
}

// passphraseIdentity decrypts a passphrase-encrypted age file, asking for
// the passphrase only once it has seen that the file is one.
type passphraseIdentity struct {
	where string
	term  Terminal
}

func (p *passphraseIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if len(stanzas) != 1 || stanzas[0].Type != "scrypt" {
		return nil, errNotPassphrase
	}
	if p.term == nil {
		return nil, fmt.Errorf("it is passphrase-protected: %w", ErrNoTerminal)
	}
	pass, err := p.term.ReadSecret(fmt.Sprintf("Enter passphrase for identity file %s:", p.where))
	if err != nil {
		return nil, fmt.Errorf("reading the passphrase: %w", err)
	}
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, err
	}
	return id.Unwrap(stanzas)
}
