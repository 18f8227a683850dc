package age

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/kura-secrets/kura/pkg/keys"
)

// Identities unwraps age stanzas with every identity the user has, from
// all the places sops 3.13.2 looks, combined:
//
//  1. the SSH key in SOPS_AGE_SSH_PRIVATE_KEY_FILE;
//  2. the SSH key printed by SOPS_AGE_SSH_PRIVATE_KEY_CMD;
//  3. ~/.ssh/id_ed25519 and 4. ~/.ssh/id_rsa, when they exist;
//  5. the identities in SOPS_AGE_KEY, several per line;
//  6. the identity file named by SOPS_AGE_KEY_FILE;
//  7. the identities printed by SOPS_AGE_KEY_CMD;
//  8. the default keys file, <user config dir>/sops/age/keys.txt, when it
//     exists, even if the variables above are set.
//
// An identity file or command output may itself be a passphrase-encrypted
// age file; its passphrase is asked on the terminal when it is first needed.
//
// Nothing is read until the first Unwrap, and every source is read once.
// The two commands are told which recipient is being decrypted (in
// SOPS_AGE_RECIPIENT), so they run once per recipient instead.
//
// A source that is set but broken does not stop the others: a stanza one of
// them opens is unwrapped, as sops does. When none opens it, the error
// names the broken sources and does not claim ErrNoIdentity, since the
// missing identity may well be in one of them.
//
// An Identities is safe for concurrent use; calls are serialised, so that
// at most one prompt is on the terminal.
type Identities struct {
	env Env

	mu      sync.Mutex
	sources []source // set by the first Unwrap
	cache   map[cacheKey]loaded
}

var _ keys.Unwrapper = (*Identities)(nil)

// NewIdentities returns an Unwrapper for age stanzas that finds identities
// through env. It reads nothing yet.
func NewIdentities(env Env) *Identities {
	return &Identities{env: env}
}

// source is one place identities come from. name says where, for messages:
// a variable, a variable and the path it holds, or a path.
type source struct {
	name string
	// perRecipient sources are commands told the recipient, so their
	// result holds for that recipient only.
	perRecipient bool
	load         func(recipient string) ([]age.Identity, error)
}

type cacheKey struct {
	source    int
	recipient string
}

type loaded struct {
	ids []age.Identity
	err error
}

// Unwrap returns the payload wrapped in an age stanza. Its error wraps
// keys.ErrNoIdentity when the user has no identity for the stanza's
// recipient and every source could be read.
func (i *Identities) Unwrap(s *keys.Stanza) ([]byte, error) {
	if s == nil || s.Type != keys.Age {
		return nil, errors.New("age: not an age stanza")
	}
	i.mu.Lock()
	defer i.mu.Unlock()

	ids, from, errs := i.identitiesFor(s.Recipient)
	if len(ids) == 0 {
		if len(errs) > 0 {
			return nil, &loadError{recipient: s.Recipient, errs: errs}
		}
		return nil, &noIdentityError{recipient: s.Recipient, keysPath: i.env.KeysPath()}
	}

	r, err := age.Decrypt(armor.NewReader(strings.NewReader(s.Enc)), ids...)
	if _, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
		if len(errs) > 0 {
			return nil, &loadError{recipient: s.Recipient, errs: errs}
		}
		return nil, &noIdentityError{recipient: s.Recipient, tried: from}
	}
	if err != nil {
		return nil, fmt.Errorf("age: decrypting the data key for %s: %w", s.Recipient, err)
	}
	payload, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("age: decrypting the data key for %s: %w", s.Recipient, err)
	}
	return payload, nil
}

// identitiesFor loads, or takes from the cache, the identities that may
// open a stanza for recipient, in sops' order. It also returns the names of
// the sources that gave some, and the errors of those that failed.
func (i *Identities) identitiesFor(recipient string) (ids []age.Identity, from []string, errs []error) {
	if i.sources == nil {
		i.sources = i.listSources()
		i.cache = make(map[cacheKey]loaded)
	}
	for n, src := range i.sources {
		key := cacheKey{source: n}
		if src.perRecipient {
			key.recipient = recipient
		}
		l, ok := i.cache[key]
		if !ok {
			l.ids, l.err = src.load(recipient)
			i.cache[key] = l
		}
		if l.err != nil {
			errs = append(errs, l.err)
			continue
		}
		if len(l.ids) > 0 {
			ids = append(ids, l.ids...)
			from = append(from, src.name)
		}
	}
	return ids, from, errs
}

// noIdentityError is ErrNoIdentity for one recipient, saying where kura
// looked.
type noIdentityError struct {
	recipient string
	tried     []string // sources that gave identities; none if empty
	keysPath  string
}

func (e *noIdentityError) Error() string {
	if len(e.tried) > 0 {
		return fmt.Sprintf("age: no identity for recipient %s (none of those from %s matches)",
			e.recipient, strings.Join(e.tried, ", "))
	}
	where := "the default keys file"
	if e.keysPath != "" {
		where = e.keysPath
	}
	return fmt.Sprintf("age: no identity for recipient %s: no age identities found (set %s, %s or %s, or create %s)",
		e.recipient, KeyFileEnv, KeyEnv, KeyCmdEnv, where)
}

func (e *noIdentityError) Unwrap() error { return keys.ErrNoIdentity }

// loadError is a failure to unwrap while some identity source was broken.
type loadError struct {
	recipient string
	errs      []error
}

func (e *loadError) Error() string {
	msgs := make([]string, len(e.errs))
	for n, err := range e.errs {
		msgs[n] = err.Error()
	}
	return fmt.Sprintf("age: no identity for recipient %s, and some identities could not be loaded: %s",
		e.recipient, strings.Join(msgs, "; "))
}

func (e *loadError) Unwrap() []error { return e.errs }
