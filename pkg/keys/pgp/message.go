package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kura-secrets/kura/internal/terminal"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxMessage bounds the decoded size of a stanza's message. A wrapped data
// key takes a few hundred bytes; a large keyring's worth of recipients a
// few kilobytes.
const maxMessage = 1 << 20

// message is a stanza's enc, checked to be what SOPS stores: an armored
// OpenPGP message encrypted to one or more public keys.
type message struct {
	armored string
	body    []byte   // the binary message
	keyIDs  []uint64 // the recipients' key IDs, 0 for a hidden recipient
}

// parseMessage reads enc up to the start of its encrypted data, so that
// gpg is only ever given what it would decrypt with a public key: not a
// passphrase-encrypted message (for which it would prompt) nor a plain one
// (whose content it would print as if decrypted).
func parseMessage(enc string) (*message, error) {
	if !strings.Contains(enc, "-----BEGIN PGP MESSAGE-----") {
		return nil, errors.New("it is not an ASCII-armored OpenPGP message")
	}
	block, err := armor.Decode(strings.NewReader(enc))
	if err != nil {
		return nil, fmt.Errorf("bad armor: %w", err)
	}
	if block.Type != openpgp.MessageType {
		return nil, fmt.Errorf("armored %q, not a PGP MESSAGE", terminal.Printable(block.Type))
	}
	body, err := io.ReadAll(io.LimitReader(block.Body, maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("bad armor: %w", err)
	}
	if len(body) > maxMessage {
		return nil, errors.New("the message is too large for a wrapped data key")
	}
	m := &message{armored: enc, body: body}
	packets := packet.NewReader(bytes.NewReader(body))
	for {
		p, err := packets.Next()
		if err == io.EOF {
			return nil, errors.New("the message ends before its encrypted data")
		}
		if err != nil {
			return nil, fmt.Errorf("bad OpenPGP data: %w", err)
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			m.keyIDs = append(m.keyIDs, p.KeyId)
		case *packet.SymmetricKeyEncrypted:
			return nil, errors.New("it is encrypted with a passphrase, not to a key")
		case *packet.SymmetricallyEncrypted, *packet.AEADEncrypted:
			if len(m.keyIDs) == 0 {
				return nil, errors.New("it is not encrypted to any key")
			}
			return m, nil
		default:
			return nil, errors.New("it is not an encrypted message")
		}
	}
}

// recipients lists the message's key IDs for an error message.
func (m *message) recipients() string {
	ids := make([]string, len(m.keyIDs))
	for i, id := range m.keyIDs {
		if id == 0 {
			ids[i] = "a hidden recipient"
			continue
		}
		ids[i] = keyID(id)
	}
	return strings.Join(ids, ", ")
}
