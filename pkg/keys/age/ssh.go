package age

import (
	"errors"
	"fmt"
	"io"
	"os"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/kura-secrets/kura/internal/keyperm"
)

// sshKeyFile loads the SSH private key at path as an identity. An
// encrypted key becomes an identity that asks for its passphrase only when a
// stanza is addressed to it; its public key comes from the key file (OpenSSH
// format) or else from path.pub, as with ssh-keygen. A key file others may
// read gets a warning on stderr.
func sshKeyFile(name, path string, term Terminal, stderr io.Writer) (age.Identity, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if st, err := os.Stat(path); err == nil {
		keyperm.Check(path, st, stderr)
	}
	id, err := agessh.ParseIdentity(pem)
	if missing, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		pub := missing.PublicKey
		if pub == nil {
			pub, err = sshPublicKeyFile(path + ".pub")
			if err != nil {
				return nil, fmt.Errorf("%s is passphrase-protected and its public key is needed: %w", name, err)
			}
		}
		e := &encryptedSSHKey{}
		ask := func() ([]byte, error) {
			if term == nil {
				e.askErr = fmt.Errorf("%s is passphrase-protected: %w", name, ErrNoTerminal)
				return nil, e.askErr
			}
			pass, err := term.ReadSecret(fmt.Sprintf("Enter passphrase for SSH key %s:", path))
			if err != nil {
				e.askErr = fmt.Errorf("%s: reading the passphrase: %w", name, err)
			}
			return pass, e.askErr
		}
		e.EncryptedSSHIdentity, err = agessh.NewEncryptedSSHIdentity(pub, pem, ask)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return e, nil
	}
	// The identity holds the parsed key; the PEM text is not needed any
	// more (an encrypted key, above, keeps it to decrypt it later).
	clear(pem)
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable SSH private key: %w", name, err)
	}
	return id, nil
}

// encryptedSSHKey is agessh's encrypted key identity, with the prompt's own
// error passed on intact (agessh flattens it to text), so that callers can
// still tell ErrNoTerminal.
type encryptedSSHKey struct {
	*agessh.EncryptedSSHIdentity
	askErr error
}

func (e *encryptedSSHKey) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	e.askErr = nil
	key, err := e.EncryptedSSHIdentity.Unwrap(stanzas)
	if err != nil && e.askErr != nil {
		return nil, e.askErr
	}
	return key, err
}

func sshPublicKeyFile(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// sshKeyOutput parses the SSH private key a command printed. There is no
// file next to it to find the public key of an encrypted key in, and sops
// does not accept one either.
func sshKeyOutput(name string, pem []byte) (age.Identity, error) {
	id, err := agessh.ParseIdentity(pem)
	if _, ok := errors.AsType[*ssh.PassphraseMissingError](err); ok {
		return nil, fmt.Errorf("%s printed a passphrase-protected SSH key, which is not supported", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s did not print a usable SSH private key: %w", name, err)
	}
	return id, nil
}
