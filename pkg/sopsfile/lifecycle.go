package sopsfile

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
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
	if sameGroups(f.Meta.KeyGroups, groups) && threshold == f.Meta.ShamirThreshold {
		return nil
	}
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

// sameGroups reports whether recipients name exactly the keys of the
// groups, group by group and in order.
func sameGroups(have []keys.Group, want [][]keys.Recipient) bool {
	if len(have) != len(want) {
		return false
	}
	for i := range have {
		if len(have[i]) != len(want[i]) {
			return false
		}
		for j := range have[i] {
			if have[i][j].Type != want[i][j].Type() || have[i][j].Identity() != want[i][j].Identity() {
				return false
			}
		}
	}
	return true
}

// Reseal encrypts a decrypted file's values again under its data key,
// after they were changed (edit, set, unset). A value whose plaintext,
// type and key path did not change gets its old ENC text back, byte for
// byte, so a diff shows only what changed; the MAC and lastmodified are
// new.
func (f *File) Reseal(now time.Time) error {
	if f.cipher == nil {
		return errors.New("reseal needs a decrypted file")
	}
	return f.seal(now)
}

// AdoptCiphertexts lets f keep the ENC text other had for a value, as it
// keeps its own, when both are decrypted and share the data key (two
// branches of one file usually do: edits keep the key). It reports
// whether they do.
func (f *File) AdoptCiphertexts(other *File) bool {
	if f.cipher == nil || other.cipher == nil || !bytes.Equal(f.dataKey, other.dataKey) {
		return false
	}
	f.cipher.Adopt(other.cipher)
	return true
}

// BumpVersion records that kura wrote the file, as sops edit does: an
// older version is raised to the one kura writes. Newer or unparsable
// versions are kept.
func (f *File) BumpVersion() {
	if versionLess(f.Meta.Version, metadata.Version) {
		f.Meta.Version = metadata.Version
	}
}

// versionLess compares two Major.Minor.Patch versions; anything that
// does not parse is not less.
func versionLess(a, b string) bool {
	pa, oka := semver(a)
	pb, okb := semver(b)
	if !oka || !okb {
		return false
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semver(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// SameEncryption reports whether encrypting new content with opts would
// record what f records: the same key groups, threshold and selection.
// Then re-encrypting unchanged content can keep the file as it is.
func (f *File) SameEncryption(opts EncryptOptions) bool {
	if opts.Binary || f.Binary {
		return opts.Binary == f.Binary && sameGroups(f.Meta.KeyGroups, opts.Groups)
	}
	r := opts.Rules.WithDefault()
	t := opts.ShamirThreshold
	if t == 0 {
		t = f.Meta.ShamirThreshold
	}
	return r == f.Meta.Rules && t == f.Meta.ShamirThreshold && sameGroups(f.Meta.KeyGroups, opts.Groups)
}

// Forget zeroes the data key the file holds and drops its cipher, for a
// caller done with the file's secrets (a read that ends, a command that
// runs on with the plaintext handed over). The file can then no longer
// be written back. The AES key schedule inside the dropped cipher
// belongs to crypto/aes, which offers no way to clear it.
func (f *File) Forget() {
	clear(f.dataKey)
	f.dataKey, f.cipher = nil, nil
}
