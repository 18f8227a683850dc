package pgp

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// keySpec is a configured fingerprint and the key it selects.
type keySpec struct {
	// text is the string as stored in the metadata: what was configured,
	// with spaces removed as sops removes them, case and any "0x" or "!"
	// kept.
	text string
	// hex is the key's hexadecimal name in upper case: a v4 fingerprint
	// (40 digits), a v5 or v6 fingerprint (64) or a long key ID (16).
	hex string
	// exact is set by a trailing "!": as in gpg, encrypt to this very
	// (sub)key rather than to the key's preferred encryption subkey.
	exact bool
}

// parseSpec reads a fingerprint as given to --pgp, SOPS_PGP_FP or
// .sops.yaml. Fingerprints are often copied with the spaces gpg prints
// between groups, so spaces anywhere are dropped; surrounding whitespace
// too. The string may start with "0x" and end with "!".
//
// Only names that pick one key are accepted. gpg would also take a short
// key ID or an e-mail address, but those can match a key other than the one
// meant, and the metadata is where the choice is recorded for good.
func parseSpec(s string) (keySpec, error) {
	text := strings.TrimSpace(strings.ReplaceAll(s, " ", ""))
	if text == "" {
		return keySpec{}, errors.New("pgp: empty fingerprint")
	}
	spec := keySpec{text: text}
	h := text
	if rest, ok := strings.CutSuffix(h, "!"); ok {
		spec.exact = true
		h = rest
	}
	if len(h) > 2 && h[0] == '0' && (h[1] == 'x' || h[1] == 'X') {
		h = h[2:]
	}
	if !isHex(h) {
		if strings.Contains(h, "@") {
			return keySpec{}, fmt.Errorf("pgp: %q is not a fingerprint: name the key by its fingerprint (gpg --list-keys --fingerprint shows it), not by a user ID", text)
		}
		return keySpec{}, fmt.Errorf("pgp: %q is not a fingerprint (want 40 hexadecimal digits)", text)
	}
	switch len(h) {
	case 40, 64, 16:
	case 8:
		return keySpec{}, fmt.Errorf("pgp: %q is a short key ID, which many keys share: use the full fingerprint", text)
	default:
		return keySpec{}, fmt.Errorf("pgp: %q is not a fingerprint (want 40 hexadecimal digits, or 64 for a v5 or v6 key; it has %d)", text, len(h))
	}
	spec.hex = strings.ToUpper(h)
	return spec, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// matches reports whether pub is the (sub)key the spec names.
func (k keySpec) matches(pub *packet.PublicKey) bool {
	if pub == nil {
		return false
	}
	if len(k.hex) == 16 {
		return keyID(pub.KeyId) == k.hex
	}
	return strings.EqualFold(hex.EncodeToString(pub.Fingerprint), k.hex)
}

// keyID spells a key ID as gpg does: 16 upper-case hexadecimal digits.
func keyID(id uint64) string { return fmt.Sprintf("%016X", id) }

// fingerprint spells a key's fingerprint as gpg does.
func fingerprint(pub *packet.PublicKey) string {
	return strings.ToUpper(hex.EncodeToString(pub.Fingerprint))
}
