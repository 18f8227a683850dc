package pgp

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/kura-secrets/kura/pkg/keys"
)

// recipient is one PGP master key to wrap payloads for. Its public key is
// looked up on the first Wrap and kept.
type recipient struct {
	src  *Source
	spec keySpec

	key *openpgp.Entity // once found
}

// ParseRecipient parses a PGP fingerprint as given to --pgp or in
// .sops.yaml, for the running process's environment ([DefaultEnv]).
//
// Spaces are removed, as sops removes them, and the result is what the
// metadata stores and [keys.Recipient.Identity] returns. A "0x" prefix and
// a trailing "!" (gpg's "this very subkey") are kept. The fingerprint must
// be 40 hexadecimal digits (64 for v5 and v6 keys); a 16-digit long key ID
// is accepted too. The public key is not looked for until Wrap.
func ParseRecipient(fingerprint string) (keys.Recipient, error) {
	return NewSource(DefaultEnv()).ParseRecipient(fingerprint)
}

// ParseRecipients parses a comma-separated list of fingerprints, as sops
// splits --pgp, SOPS_PGP_FP and .sops.yaml strings. Empty pieces are
// dropped, so "" gives none.
func ParseRecipients(list string) ([]keys.Recipient, error) {
	return NewSource(DefaultEnv()).ParseRecipients(list)
}

// ParseRecipient is [ParseRecipient] with the Source's environment, whose
// gpg and key files then provide the public key.
func (s *Source) ParseRecipient(fingerprint string) (keys.Recipient, error) {
	spec, err := parseSpec(fingerprint)
	if err != nil {
		return nil, err
	}
	return &recipient{src: s, spec: spec}, nil
}

// ParseRecipients is [ParseRecipients] with the Source's environment.
func (s *Source) ParseRecipients(list string) ([]keys.Recipient, error) {
	var out []keys.Recipient
	for _, fp := range strings.Split(list, ",") {
		if strings.TrimSpace(fp) == "" {
			continue
		}
		r, err := s.ParseRecipient(fp)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Identity returns the fingerprint as the metadata stores it.
func (r *recipient) Identity() string { return r.spec.text }

// Type is keys.PGP.
func (r *recipient) Type() keys.Type { return keys.PGP }

// Wrap encrypts payload to the key's encryption subkey: an armored OpenPGP
// message with the payload as binary literal data, stored without a
// trailing newline as sops stores it. Every call uses a fresh session key,
// so the result differs each time.
//
// The encryption itself is go-crypto's and produces what gpg 2.2 and
// later, and sops, decrypt: an integrity-protected (SEIPD v1) packet, as
// AEAD packets are read by neither gpg 2.2 nor every other OpenPGP tool.
func (r *recipient) Wrap(payload []byte) (keys.Stanza, error) {
	s := r.src
	s.mu.Lock()
	defer s.mu.Unlock()

	now := s.env.now()
	if r.key == nil {
		key, err := s.publicKey(r.spec, now)
		if err != nil {
			return keys.Stanza{}, err
		}
		r.key = key
	}
	var buf bytes.Buffer
	aw, err := armor.Encode(&buf, openpgp.MessageType, nil)
	if err != nil {
		return keys.Stanza{}, r.wrapError(err)
	}
	config := &packet.Config{Time: func() time.Time { return now }}
	w, err := openpgp.Encrypt(aw, []*openpgp.Entity{r.key}, nil, &openpgp.FileHints{IsBinary: true}, config)
	if err != nil {
		return keys.Stanza{}, r.wrapError(err)
	}
	if _, err := w.Write(payload); err != nil {
		return keys.Stanza{}, r.wrapError(err)
	}
	if err := w.Close(); err != nil {
		return keys.Stanza{}, r.wrapError(err)
	}
	if err := aw.Close(); err != nil {
		return keys.Stanza{}, r.wrapError(err)
	}
	return keys.Stanza{
		Type:        keys.PGP,
		Fingerprint: r.spec.text,
		Enc:         strings.TrimRight(buf.String(), "\r\n"),
		CreatedAt:   now.UTC().Truncate(time.Second).Format(time.RFC3339),
	}, nil
}

func (r *recipient) wrapError(err error) error {
	return fmt.Errorf("pgp: wrapping the data key for %s: %w", r.spec.text, err)
}
