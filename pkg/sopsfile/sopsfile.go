// Package sopsfile is the whole operation on a SOPS file: loading it in
// its format, recovering the data key, decrypting and verifying the
// values, and encrypting new content with fresh metadata.
//
// It ties the other packages together and owns none of their details:
// formats come from pkg/format, value encryption and the MAC from
// pkg/cipher, selection from pkg/rules, key wrapping from pkg/keys.
package sopsfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

// File is a SOPS file in memory: its documents and its metadata. After
// Decrypt the documents hold plaintext values.
type File struct {
	Docs []tree.Document
	Meta *metadata.Metadata
	// Binary marks the binary format, whose metadata records no selection
	// rule and whose single value is always encrypted.
	Binary bool

	dataKey []byte
	cipher  *cipher.Cipher
	// Warnings lists what Decrypt accepted, as sops does, but a careful
	// reader should know: comments that do not authenticate (kept as they
	// are in the file) and values whose text is not the canonical form of
	// their type tag. DecryptOptions.Strict turns the first into an error.
	Warnings []Warning
}

// Warning is something Decrypt accepted but reports. It names a place in
// the file, never a value.
type Warning struct {
	// Path is the key path in --extract syntax; empty for the top level.
	Path string
	// Msg says what is wrong, without any value's content.
	Msg string
}

// String formats the warning as PATH: message, with "top level" for the
// empty path.
func (w Warning) String() string {
	p := w.Path
	if p == "" {
		p = "top level"
	}
	return p + ": " + w.Msg
}

// ErrNotSOPS matches the load failures that mean the data is not a SOPS
// file in the format tried: it does not parse, or has no metadata.
var ErrNotSOPS = errors.New("not a SOPS file")

type notSOPSError struct{ err error }

func (e notSOPSError) Error() string        { return e.err.Error() }
func (e notSOPSError) Unwrap() error        { return e.err }
func (e notSOPSError) Is(target error) bool { return target == ErrNotSOPS }

// Load parses an encrypted file with the given store.
func Load(data []byte, store format.Store, binary bool) (*File, error) {
	return load(data, store, binary, false)
}

// LoadShared is Load for a caller that keeps data unchanged while it uses
// the File: the store may leave the tree's strings in data rather than
// copy them (format.SharedLoader).
func LoadShared(data []byte, store format.Store, binary bool) (*File, error) {
	return load(data, store, binary, true)
}

func load(data []byte, store format.Store, binary, shared bool) (*File, error) {
	loadEncrypted := store.LoadEncrypted
	if sl, ok := store.(format.SharedLoader); ok && shared {
		loadEncrypted = sl.LoadEncryptedShared
	}
	docs, meta, err := loadEncrypted(data)
	if err != nil {
		if errors.Is(err, format.ErrNoMetadata) {
			return nil, &Error{Code: CodeGeneric, Err: notSOPSError{err}, Hint: "the file is not encrypted, or its format was not recognised: use --input-type"}
		}
		return nil, &Error{Code: CodeGeneric, Err: notSOPSError{err}}
	}
	m, err := metadata.FromTree(meta)
	if err != nil {
		return nil, Wrap(CodeGeneric, err)
	}
	if err := checkVersion(m.Version); err != nil {
		return nil, Wrap(CodeGeneric, err)
	}
	return &File{Docs: docs, Meta: m, Binary: binary}, nil
}

// checkVersion refuses metadata whose version is not a semantic version,
// as sops does: such a file was not written by a SOPS implementation.
func checkVersion(v string) error {
	if v == "" {
		return errors.New("sops metadata: version is missing")
	}
	if strings.HasPrefix(v, "1.") {
		return nil // sops 1.x did not use semantic versions
	}
	s := strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return fmt.Errorf("sops metadata: version %q is not a semantic version (Major.Minor.Patch)", v)
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return fmt.Errorf("sops metadata: version %q is not a semantic version (Major.Minor.Patch)", v)
		}
	}
	return nil
}

// DecryptOptions says how to recover the data key and what to verify.
type DecryptOptions struct {
	// Sources unwrap the stanzas of each key type. A type without a
	// source is skipped.
	Sources map[keys.Type]keys.Unwrapper
	// Order is the preferred order of key types within a group; types
	// not listed follow in SOPS's load order. Empty means age, then pgp.
	Order []keys.Type
	// IgnoreMAC skips the MAC check.
	IgnoreMAC bool
	// ReadOnly says the file will not be encrypted again (decrypt,
	// exec-env...): the cipher then does not remember each value's IV,
	// which costs a copy of every key path and plaintext.
	ReadOnly bool
	// Strict refuses, with CodeErrorDecryptingTree, what sops accepts and
	// Decrypt otherwise only reports in File.Warnings: an encrypted
	// comment that does not authenticate, and a value whose text is not
	// the canonical form of its type tag.
	Strict bool
}

// Decrypt recovers the data key and decrypts every value in place, then
// checks the MAC unless told not to.
func (f *File) Decrypt(opts DecryptOptions) error {
	dataKey, err := keys.Recover(f.Meta.KeyGroups, f.Meta.ShamirThreshold, opts.Order, opts.Sources)
	if err != nil {
		return &Error{Code: CodeCouldNotRetrieveKey, Err: err, Hint: keys.RecoverHint(err)}
	}
	return f.decryptKey(dataKey, opts.IgnoreMAC, !opts.ReadOnly, opts.Strict)
}

// DecryptWithKey decrypts with a data key already recovered.
func (f *File) DecryptWithKey(dataKey []byte, ignoreMAC bool) error {
	return f.decryptWithKey(dataKey, ignoreMAC, true)
}

func (f *File) decryptWithKey(dataKey []byte, ignoreMAC, remember bool) error {
	return f.decryptKey(dataKey, ignoreMAC, remember, false)
}

func (f *File) decryptKey(dataKey []byte, ignoreMAC, remember, strict bool) error {
	c, err := cipher.New(dataKey)
	if err != nil {
		return &Error{Code: CodeCouldNotRetrieveKey, Err: err}
	}
	c.RememberIVs(remember)
	w := newWalker(f.selector(), c, true)
	w.strict = strict
	// A Cipher that remembers IVs is not safe for concurrent use: only a
	// file that is just read is decrypted on every core.
	walk := true
	if !remember {
		var jobs []valueJob
		var complete bool
		w.done, jobs, complete = f.decryptOnEveryCore(c)
		if complete {
			// Every value the MAC covers was decrypted, and there is no
			// comment to decrypt or warn about: the MAC is the jobs'
			// values in document order, and no walk is needed.
			for _, j := range jobs {
				w.mac.Add(*j.v)
			}
			walk = false
		}
	}
	if walk {
		for _, doc := range f.Docs {
			if err := w.document(doc); err != nil {
				return err
			}
		}
	}
	f.Warnings = w.warnings
	f.dataKey, f.cipher = dataKey, c
	stored, decErr := c.DecryptMAC(f.Meta.MAC, f.Meta.LastModifiedText())
	if ignoreMAC {
		return nil
	}
	if decErr != nil {
		return &Error{Code: CodeMACMismatch, Err: errors.New("cannot decrypt the MAC: the file's MAC or lastmodified was changed, or the MAC was written with another data key")}
	}
	if computed := w.mac.Sum(); stored != computed {
		// Neither MAC is printed: each is a hash of the values, which the
		// file keeps encrypted.
		what := "the values do not give the file's MAC"
		if stored == "" {
			what = "the file has no MAC"
		}
		return &Error{Code: CodeMACMismatch, Err: errors.New("MAC mismatch: " + what + "; the file was changed after it was encrypted"),
			Hint: "use --ignore-mac to decrypt anyway"}
	}
	return nil
}

// decryptOnEveryCore decrypts the values of a large file on every core,
// and returns which, numbered among the encrypted values in document
// order (nil for a file too small for it): the walk that follows hashes
// them, and decrypts the others one at a time, naming any that fails. It
// also returns the jobs, and whether they are complete: every job was
// decrypted, they are every value the MAC covers, and the tree holds no
// comment (which the walk would decrypt, or warn about).
func (f *File) decryptOnEveryCore(c *cipher.Cipher) (done []uint64, jobs []valueJob, complete bool) {
	n := countLeaves(f.Docs)
	w := newWalker(f.selector(), c, true)
	if !w.deferFor(n) {
		return nil, nil, false
	}
	for _, doc := range f.Docs {
		if err := w.document(doc); err != nil {
			// (a tree the walk refuses: the walk that follows says why)
			return nil, nil, false
		}
	}
	done = w.decryptJobs()
	decrypted := 0
	for _, word := range done {
		decrypted += bits.OnesCount64(word)
	}
	complete = decrypted == len(w.jobs) && n.comments == 0 && (w.macOnly || len(w.jobs) == n.leaves)
	return done, w.jobs, complete
}

func (f *File) selector() *rules.Selector {
	if f.Binary {
		return rules.NewSelector(rules.Config{})
	}
	return rules.NewSelector(f.Meta.Rules)
}

// EncryptOptions describes new encrypted content.
type EncryptOptions struct {
	// Groups are the key groups: each recipient of a group wraps the same
	// payload (the data key itself with one group, a Shamir share with
	// several).
	Groups [][]keys.Recipient
	// ShamirThreshold is the number of groups needed to decrypt; 0 means
	// all of them.
	ShamirThreshold int
	// Rules selects what is encrypted; the default suffix applies when no
	// selector is set. Ignored for the binary format.
	Rules rules.Config
	// Binary marks the binary format.
	Binary bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Reuse is an earlier, decrypted version of the same file. Its data
	// key is kept, its key entries are kept for the keys that stay, and a
	// value whose plaintext and key path did not change keeps its ENC
	// text byte for byte: re-encrypting an edited plaintext changes only
	// the lines that changed.
	Reuse *File
}

// Encrypt encrypts plaintext documents in place under a new data key and
// returns the file with its new metadata.
func Encrypt(docs []tree.Document, opts EncryptOptions) (*File, error) {
	r := opts.Rules.WithDefault()
	if opts.Binary {
		r = rules.Config{}
	}
	if err := r.Validate(); err != nil {
		return nil, &Error{Code: CodeConflictingParameters, Err: err}
	}
	if err := r.CheckRegexes(); err != nil {
		return nil, &Error{Code: CodeGeneric, Err: err}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	if prev := opts.Reuse; prev != nil && prev.cipher != nil {
		f := &File{
			Docs:   docs,
			Binary: opts.Binary,
			Meta: &metadata.Metadata{
				KeyGroups:       prev.Meta.KeyGroups,
				ShamirThreshold: prev.Meta.ShamirThreshold,
				Rules:           r,
				Version:         metadata.Version,
			},
			dataKey: prev.dataKey,
			cipher:  prev.cipher,
		}
		threshold := opts.ShamirThreshold
		if threshold == 0 {
			threshold = prev.Meta.ShamirThreshold
			if n := len(opts.Groups); n > 1 && (threshold < 2 || threshold > n) {
				threshold = n
			}
		}
		if err := f.Rewrap(prev.dataKey, opts.Groups, threshold); err != nil {
			return nil, err
		}
		return f, f.seal(now())
	}
	dataKey := make([]byte, cipher.DataKeySize)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, fmt.Errorf("generating the data key: %w", err)
	}
	groups, threshold, err := keys.Wrap(dataKey, opts.Groups, opts.ShamirThreshold)
	if err != nil {
		return nil, &Error{Code: CodeGeneric, Err: fmt.Errorf("could not generate data key: %w", err)}
	}
	f := &File{
		Docs:   docs,
		Binary: opts.Binary,
		Meta: &metadata.Metadata{
			KeyGroups:       groups,
			ShamirThreshold: threshold,
			Rules:           r,
			Version:         metadata.Version,
		},
		dataKey: dataKey,
	}
	if f.cipher, err = cipher.New(dataKey); err != nil {
		return nil, err
	}
	return f, f.seal(now())
}

// seal encrypts the plaintext documents with the file's data key and
// writes a fresh MAC and lastmodified.
func (f *File) seal(now time.Time) error {
	w := newWalker(f.selector(), f.cipher, false)
	// Values are encrypted on every core when there are enough of them
	// and the cipher reuses no IVs, which it hands out in document order.
	if !f.cipher.RemembersIVs() {
		w.deferFor(countLeaves(f.Docs))
	}
	for _, doc := range f.Docs {
		if err := w.document(doc); err != nil {
			return err
		}
	}
	if w.deferred {
		if err := w.encryptJobs(); err != nil {
			return err
		}
	}
	f.Meta.LastModified = now.UTC().Truncate(time.Second)
	mac, err := f.cipher.EncryptMAC(w.mac.Sum(), f.Meta.LastModifiedText())
	if err != nil {
		return &Error{Code: CodeErrorEncryptingMAC, Err: err}
	}
	f.Meta.MAC = mac
	return nil
}

// Emit writes the encrypted file in the given store's format.
func (f *File) Emit(store format.Store) ([]byte, error) {
	return f.EmitLike(store, nil)
}

// EmitLike writes the encrypted file in the layout of original, the text
// its documents were loaded from (a plaintext, an edited text or the
// earlier encrypted file), where the store can keep a layout and the
// documents still fit it; otherwise, or with no original, as Emit does.
func (f *File) EmitLike(store format.Store, original []byte) ([]byte, error) {
	m := *f.Meta
	if f.Binary {
		m.Rules = rules.Config{}
	}
	if k, ok := store.(format.LayoutKeeper); ok && original != nil && !f.Binary {
		if out, ok := k.EmitEncryptedLike(original, f.Docs, m.ToTree()); ok {
			return out, nil
		}
	}
	out, err := store.EmitEncrypted(f.Docs, m.ToTree())
	if err != nil {
		return nil, &Error{Code: CodeErrorDumpingTree, Err: fmt.Errorf("could not write the encrypted file: %w", err)}
	}
	return out, nil
}
