package sopsfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/keys"
)

// DataKey recovers the file's data key without decrypting its values, as
// updatekeys and groups need. The key is checked by decrypting the MAC
// with it, so a wrong combination of Shamir shares is caught before
// anything is re-wrapped.
func (f *File) DataKey(opts DecryptOptions) ([]byte, error) {
	if f.dataKey != nil {
		return f.dataKey, nil
	}
	dataKey, err := keys.Recover(f.Meta.KeyGroups, f.Meta.ShamirThreshold, opts.Order, opts.Sources)
	if err != nil {
		return nil, &Error{Code: CodeCouldNotRetrieveKey, Err: err, Hint: keys.RecoverHint(err)}
	}
	c, err := cipher.New(dataKey)
	if err != nil {
		return nil, &Error{Code: CodeCouldNotRetrieveKey, Err: err}
	}
	if f.Meta.MAC != "" {
		if _, err := c.DecryptMAC(f.Meta.MAC, f.Meta.LastModifiedText()); err != nil && !opts.IgnoreMAC {
			return nil, &Error{Code: CodeMACMismatch, Err: errors.New("the recovered data key does not decrypt the file's MAC: the key stanzas or the MAC were changed")}
		}
	}
	f.dataKey, f.cipher = dataKey, c
	return dataKey, nil
}

// Rewrap wraps the data key for new key groups, keeping the values, the
// MAC and lastmodified: only the metadata's key entries change.
//
// With one group before and after, the data key itself is what every key
// wraps, so the entries of keys that stay are kept as they are and only
// new keys wrap it: a reviewer sees exactly who was added and removed.
// Otherwise the key is split afresh and every key wraps its new share.
func (f *File) Rewrap(dataKey []byte, groups [][]keys.Recipient, threshold int) error {
	if len(groups) == 1 && len(f.Meta.KeyGroups) == 1 && threshold <= 1 {
		kept := map[string]keys.Stanza{}
		for _, s := range f.Meta.KeyGroups[0] {
			kept[s.Identity()] = s
		}
		var g keys.Group
		for _, r := range groups[0] {
			if s, ok := kept[r.Identity()]; ok {
				g = append(g, s)
				continue
			}
			s, err := r.Wrap(dataKey)
			if err != nil {
				return &Error{Code: CodeGeneric, Err: fmt.Errorf("wrapping the data key for %s: %w", r.Identity(), err)}
			}
			g = append(g, s)
		}
		if len(g) == 0 {
			return &Error{Code: CodeGeneric, Err: errors.New("no keys left to wrap the data key for")}
		}
		f.Meta.KeyGroups = []keys.Group{g}
		f.Meta.ShamirThreshold = threshold
		return nil
	}
	wrapped, t, err := keys.Wrap(dataKey, groups, threshold)
	if err != nil {
		return &Error{Code: CodeGeneric, Err: err}
	}
	f.Meta.KeyGroups, f.Meta.ShamirThreshold = wrapped, t
	return nil
}

// Rotate gives a decrypted file a new data key: every value is encrypted
// again under it with fresh IVs, with a new MAC, and the key is wrapped
// for groups.
func (f *File) Rotate(groups [][]keys.Recipient, threshold int, now time.Time) error {
	if f.cipher == nil {
		return errors.New("rotate needs a decrypted file")
	}
	dataKey := make([]byte, cipher.DataKeySize)
	if _, err := rand.Read(dataKey); err != nil {
		return fmt.Errorf("generating the data key: %w", err)
	}
	wrapped, t, err := keys.Wrap(dataKey, groups, threshold)
	if err != nil {
		return &Error{Code: CodeGeneric, Err: fmt.Errorf("could not generate data key: %w", err)}
	}
	c, err := cipher.New(dataKey)
	if err != nil {
		return err
	}
	f.dataKey, f.cipher = dataKey, c
	f.Meta.KeyGroups, f.Meta.ShamirThreshold = wrapped, t
	return f.seal(now)
}
