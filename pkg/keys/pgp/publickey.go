package pgp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// publicKey finds the key spec names and returns it ready to encrypt to.
// It looks in turn in
//
//  1. the user's gpg (gpg --export), which reads every keyring format;
//  2. the files listed in KURA_PGP_KEY_FILE;
//  3. the legacy $GNUPGHOME/pubring.gpg;
//
// and the first place that has the key decides: a key gpg knows to be
// revoked is refused even if an old copy in a file is not.
func (s *Source) publicKey(spec keySpec, now time.Time) (*openpgp.Entity, error) {
	var notes []string
	list, res := s.gpgExport(spec)
	if res.outcome == gpgDone {
		e, err := findEntity(list, spec)
		if err != nil {
			return nil, fmt.Errorf("pgp: %s in gpg's keyring: %w", spec.text, err)
		}
		if e != nil {
			return encryptionKey(e, spec, now, "gpg's keyring")
		}
		res.reason = "gpg has no public key for it"
	}
	notes = append(notes, res.reason)

	files := s.keyFiles()
	if len(files) == 0 {
		notes = append(notes, KeyFileEnv+" is not set")
	}
	if ring := s.legacyRing(legacyPubring); ring != nil {
		files = append(files[:len(files):len(files)], ring)
	}
	for _, kf := range files {
		if kf.err != nil {
			notes = append(notes, kf.err.Error())
			continue
		}
		e, err := findEntity(kf.entities, spec)
		if err != nil {
			return nil, fmt.Errorf("pgp: %s in %s: %w", spec.text, kf.name, err)
		}
		if e != nil {
			return encryptionKey(e, spec, now, kf.name)
		}
		if len(kf.entities) > 0 {
			notes = append(notes, "not in "+kf.name)
		}
	}
	return nil, fmt.Errorf("pgp: no public key %s (%s): import it with gpg --import, or list a file holding it in %s",
		spec.text, strings.Join(notes, "; "), KeyFileEnv)
}

// findEntity returns the key in list that spec names, by its own
// fingerprint or one of its subkeys', or nil. A key ID that two different
// keys share is an error; the same key twice (public and secret copies in
// one file) is not.
func findEntity(list openpgp.EntityList, spec keySpec) (*openpgp.Entity, error) {
	var found *openpgp.Entity
	for _, e := range list {
		if !entityMatches(e, spec) {
			continue
		}
		if found != nil && fingerprint(found.PrimaryKey) != fingerprint(e.PrimaryKey) {
			return nil, fmt.Errorf("two keys match, %s and %s: give the full fingerprint",
				fingerprint(found.PrimaryKey), fingerprint(e.PrimaryKey))
		}
		if found == nil {
			found = e
		}
	}
	return found, nil
}

func entityMatches(e *openpgp.Entity, spec keySpec) bool {
	if spec.matches(e.PrimaryKey) {
		return true
	}
	for _, sk := range e.Subkeys {
		if spec.matches(sk.PublicKey) {
			return true
		}
	}
	return false
}

// encryptionKey checks that e can be encrypted to at now, and returns it,
// or, for a spec ending in "!", a copy of it reduced to the one (sub)key
// named. Errors say which key and where it came from, and why it is
// refused.
func encryptionKey(e *openpgp.Entity, spec keySpec, now time.Time, from string) (*openpgp.Entity, error) {
	refuse := func(why string) error {
		return fmt.Errorf("pgp: key %s (from %s) %s", spec.text, from, why)
	}
	sig, id := e.PrimarySelfSignature()
	switch {
	case sig == nil:
		return nil, refuse("has no valid self-signature")
	case e.Revoked(now):
		return nil, refuse("is revoked")
	case e.PrimaryKey.KeyExpired(sig, now):
		return nil, refuse("expired on " + expiry(e.PrimaryKey, sig))
	case sig.SigExpired(now):
		return nil, refuse("has an expired self-signature")
	case id != nil && id.Revoked(now):
		return nil, refuse("has its user ID revoked")
	}
	if spec.exact {
		reduced, err := exactKey(e, spec, now)
		if err != nil {
			return nil, refuse(err.Error())
		}
		e = reduced
	}
	if _, ok := e.EncryptionKey(now); !ok {
		return nil, refuse("has no valid encryption key" + subkeyState(e, now))
	}
	return e, nil
}

// exactKey returns a copy of e whose only encryption candidate is the
// (sub)key spec names, as gpg does for "FINGERPRINT!".
func exactKey(e *openpgp.Entity, spec keySpec, now time.Time) (*openpgp.Entity, error) {
	c := *e
	if spec.matches(e.PrimaryKey) {
		c.Subkeys = nil
		if _, ok := c.EncryptionKey(now); !ok {
			return nil, errors.New("is a primary key that cannot encrypt (drop the \"!\" to use its encryption subkey)")
		}
		return &c, nil
	}
	for _, sk := range e.Subkeys {
		if !spec.matches(sk.PublicKey) {
			continue
		}
		c.Subkeys = []openpgp.Subkey{sk}
		if _, ok := c.EncryptionKey(now); !ok {
			return nil, errors.New("names a subkey that is not valid for encryption" + subkeyState(&c, now))
		}
		return &c, nil
	}
	return nil, errors.New("names no (sub)key of it")
}

// subkeyState explains, in a parenthesis, why none of e's subkeys can
// encrypt.
func subkeyState(e *openpgp.Entity, now time.Time) string {
	var revoked, expired, other int
	for _, sk := range e.Subkeys {
		if sk.Sig == nil || !sk.Sig.FlagsValid || !(sk.Sig.FlagEncryptCommunications || sk.Sig.FlagEncryptStorage) {
			continue
		}
		switch {
		case sk.Revoked(now):
			revoked++
		case sk.PublicKey.KeyExpired(sk.Sig, now) || sk.Sig.SigExpired(now):
			expired++
		default:
			other++
		}
	}
	switch {
	case revoked+expired+other == 0:
		return " (it has no encryption subkey)"
	case other > 0:
		return " (its encryption subkey is not usable for encrypting communications)"
	case revoked > 0 && expired > 0:
		return " (its encryption subkeys are revoked or expired)"
	case revoked > 0:
		return " (its encryption subkey is revoked)"
	}
	return " (its encryption subkey has expired)"
}

// expiry is the date a key expires, as gpg prints it.
func expiry(pub *packet.PublicKey, sig *packet.Signature) string {
	if sig.KeyLifetimeSecs == nil {
		return "an unknown date"
	}
	return pub.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second).UTC().Format(time.DateOnly)
}
