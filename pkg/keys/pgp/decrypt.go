package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kura-secrets/kura/internal/terminal"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxTries is how many times a passphrase is asked for one key, as gpg's
// pinentry does.
const maxTries = 3

// fileResult is what the key files made of a message.
type fileResult struct {
	// tried is set when some file holds a secret key for the message;
	// err is then nil if it opened it.
	tried bool
	err   error
	// looked names the files that were read and hold no key for it.
	looked []string
	// broken holds the errors of files that could not be read.
	broken []error
}

// decryptWithFiles decrypts m in Go with the secret keys of the files in
// KURA_PGP_KEY_FILE and the legacy secring.gpg, without gpg. Only the keys
// the message is for are tried, so no other key's passphrase is asked.
func (s *Source) decryptWithFiles(m *message) ([]byte, fileResult) {
	var res fileResult
	files := s.keyFiles()
	if ring := s.legacyRing(legacySecring); ring != nil {
		files = append(files[:len(files):len(files)], ring)
	}
	var ring openpgp.EntityList
	from := map[*openpgp.Entity]string{}
	for _, kf := range files {
		if kf.err != nil {
			res.broken = append(res.broken, kf.err)
			continue
		}
		if len(kf.entities) == 0 {
			continue // a legacy keyring that is not there
		}
		held := false
		for _, e := range kf.entities {
			if holdsSecretFor(e, m.keyIDs) {
				ring = append(ring, e)
				from[e] = kf.name
				held = true
			}
		}
		if !held {
			res.looked = append(res.looked, kf.name)
		}
	}
	if len(ring) == 0 {
		return nil, res
	}
	res.tried = true
	payload, err := s.decryptWith(m, ring, from)
	res.err = err
	return payload, res
}

// holdsSecretFor reports whether e has a usable secret key for one of
// ids; 0 is a hidden recipient, which any decryption key may be.
func holdsSecretFor(e *openpgp.Entity, ids []uint64) bool {
	usable := func(pub *packet.PublicKey, priv *packet.PrivateKey) bool {
		if priv == nil || priv.Dummy() {
			return false
		}
		for _, id := range ids {
			if id == 0 || id == pub.KeyId {
				return true
			}
		}
		return false
	}
	if usable(e.PrimaryKey, e.PrivateKey) {
		return true
	}
	for _, sk := range e.Subkeys {
		if usable(sk.PublicKey, sk.PrivateKey) {
			return true
		}
	}
	return false
}

// decryptWith decrypts m with the keys of ring, which came from the files
// named in from.
func (s *Source) decryptWith(m *message, ring openpgp.EntityList, from map[*openpgp.Entity]string) ([]byte, error) {
	p := &prompter{src: s, from: from, tries: map[string]int{}}
	md, err := openpgp.ReadMessage(bytes.NewReader(m.body), ring, p.prompt, nil)
	if err != nil {
		if p.err != nil && errors.Is(err, p.err) {
			return nil, p.err
		}
		return nil, fmt.Errorf("%s: %w", sourceNames(ring, from), decryptError(err))
	}
	name := sourceNames(ring, from)
	if md.DecryptedWith.Entity != nil {
		name = from[md.DecryptedWith.Entity]
	}
	payload, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, decryptError(err))
	}
	if len(payload) == 0 || len(payload) > maxMessage {
		return nil, fmt.Errorf("%s: the message holds no data key", name)
	}
	return payload, nil
}

// decryptError turns go-crypto's errors into what they mean here. Once the
// session key is known, any failure means the encrypted data was altered:
// go-crypto does not say more, so as not to be an oracle.
func decryptError(err error) error {
	_, sessionKeyErr := errors.AsType[pgperrors.DecryptWithSessionKeyError](err)
	switch {
	case errors.Is(err, pgperrors.ErrKeyIncorrect):
		return errors.New("its key does not decrypt the message")
	case sessionKeyErr, errors.Is(err, pgperrors.ErrMDCHashMismatch), errors.Is(err, pgperrors.ErrMDCMissing):
		return errors.New("the message fails its integrity check (it is damaged)")
	}
	return fmt.Errorf("decrypting: %w", err)
}

// sourceNames names the files the keys of ring came from.
func sourceNames(ring openpgp.EntityList, from map[*openpgp.Entity]string) string {
	var names []string
	seen := map[string]bool{}
	for _, e := range ring {
		if n := from[e]; !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// prompter unlocks passphrase-protected secret keys for ReadMessage, which
// calls it with the keys it could use but cannot yet, again after each
// attempt. A key is asked for at most maxTries times; one whose
// passphrase was not given is not asked for again in this Source.
type prompter struct {
	src   *Source
	from  map[*openpgp.Entity]string
	tries map[string]int
	err   error // why the last key was given up, for the caller
}

func (p *prompter) prompt(candidates []openpgp.Key, _ bool) ([]byte, error) {
	s := p.src
	for _, k := range candidates {
		if k.PrivateKey == nil || !k.PrivateKey.Encrypted {
			continue
		}
		fp := fingerprint(k.PublicKey)
		if err := s.refused[fp]; err != nil {
			p.err = err
			continue
		}
		where := p.from[k.Entity]
		desc := describeKey(k)
		if s.env.Terminal == nil {
			p.refuse(fp, fmt.Errorf("%s: secret key %s is passphrase-protected: %w", where, desc, ErrNoTerminal))
			continue
		}
		pass, err := s.env.Terminal.ReadSecret(fmt.Sprintf("Enter passphrase for PGP key %s (%s):", desc, where))
		if err != nil {
			p.refuse(fp, fmt.Errorf("%s: reading the passphrase for %s: %w", where, desc, err))
			// The terminal failed: every other key would fail alike.
			return nil, p.err
		}
		err = k.PrivateKey.Decrypt(pass)
		clear(pass)
		if err == nil {
			return nil, nil // ReadMessage tries the unlocked key
		}
		if _, ok := errors.AsType[pgperrors.UnsupportedError](err); ok {
			p.refuse(fp, fmt.Errorf("%s: secret key %s: %w", where, desc, err))
			continue
		}
		p.tries[fp]++
		if p.tries[fp] >= maxTries {
			p.refuse(fp, fmt.Errorf("%s: wrong passphrase for secret key %s (%d attempts)", where, desc, maxTries))
			continue
		}
		fmt.Fprintf(s.env.stderr(), "pgp: wrong passphrase for %s, try again\n", terminal.Printable(desc))
		return nil, nil
	}
	if p.err == nil {
		p.err = errors.New("no secret key could be unlocked")
	}
	return nil, p.err
}

func (p *prompter) refuse(fp string, err error) {
	if p.src.refused == nil {
		p.src.refused = map[string]error{}
	}
	p.src.refused[fp] = err
	p.err = err
}

// describeKey names a key for a prompt: the fingerprint of its primary
// key, and its user ID.
func describeKey(k openpgp.Key) string {
	e := k.Entity
	desc := fingerprint(e.PrimaryKey)
	if id := e.PrimaryIdentity(); id != nil {
		desc += fmt.Sprintf(" %q", id.Name)
	}
	return desc
}
