// Package rules decides which values of a document are encrypted: the
// suffix, regex and comment-regex selectors SOPS records in a file's
// metadata, and mac_only_encrypted, which narrows the MAC to the values the
// selectors encrypt.
package rules

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// DefaultUnencryptedSuffix is the rule in force when none is configured.
const DefaultUnencryptedSuffix = "_unencrypted"

// Config is the selection as written in metadata, .sops.yaml or flags. At
// most one of the six selectors may be set.
type Config struct {
	UnencryptedSuffix       string
	EncryptedSuffix         string
	UnencryptedRegex        string
	EncryptedRegex          string
	UnencryptedCommentRegex string
	EncryptedCommentRegex   string
	MACOnlyEncrypted        bool
}

// ErrConflict means more than one selector is set.
var ErrConflict = errors.New("cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex")

func (c Config) count() int {
	n := 0
	for _, s := range []string{c.UnencryptedSuffix, c.EncryptedSuffix, c.UnencryptedRegex, c.EncryptedRegex, c.UnencryptedCommentRegex, c.EncryptedCommentRegex} {
		if s != "" {
			n++
		}
	}
	return n
}

// Validate checks that at most one selector is set.
func (c Config) Validate() error {
	if c.count() > 1 {
		return ErrConflict
	}
	return nil
}

// CheckRegexes reports a selector regex that does not compile. Files
// written by others are read with such a regex matching nothing, as sops
// does; but encrypting with one would silently leave every value of an
// encrypted_regex in clear, so new encryptions refuse it.
func (c Config) CheckRegexes() error {
	for _, r := range []struct{ name, re string }{
		{"unencrypted_regex", c.UnencryptedRegex}, {"encrypted_regex", c.EncryptedRegex},
		{"unencrypted_comment_regex", c.UnencryptedCommentRegex}, {"encrypted_comment_regex", c.EncryptedCommentRegex},
	} {
		if r.re == "" {
			continue
		}
		if _, err := regexp.Compile(r.re); err != nil {
			return fmt.Errorf("%s %q is not a valid regular expression: %w", r.name, r.re, err)
		}
	}
	return nil
}

// IsZero reports whether no selector is set.
func (c Config) IsZero() bool { return c.count() == 0 }

// WithDefault returns c with the default unencrypted suffix when no
// selector is set.
func (c Config) WithDefault() Config {
	if c.IsZero() {
		c.UnencryptedSuffix = DefaultUnencryptedSuffix
	}
	return c
}

// Merge returns c with every selector that o sets replacing c's, as flags
// override a creation rule field by field.
func (c Config) Merge(o Config) Config {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.UnencryptedSuffix, o.UnencryptedSuffix)
	set(&c.EncryptedSuffix, o.EncryptedSuffix)
	set(&c.UnencryptedRegex, o.UnencryptedRegex)
	set(&c.EncryptedRegex, o.EncryptedRegex)
	set(&c.UnencryptedCommentRegex, o.UnencryptedCommentRegex)
	set(&c.EncryptedCommentRegex, o.EncryptedCommentRegex)
	c.MACOnlyEncrypted = c.MACOnlyEncrypted || o.MACOnlyEncrypted
	return c
}

// keyRule is how a selector judges a key path.
type keyRule uint8

const (
	keyNone keyRule = iota
	keyUnencrypted
	keyEncrypted
)

// Selector evaluates a Config while a document is walked. Keys are judged
// once, when the walk enters them; comments accumulate on a stack, one
// level per map or list, as SOPS keeps them.
type Selector struct {
	cfg        Config
	key        keyRule
	suffix     string
	re         *regexp.Regexp
	commentRe  *regexp.Regexp
	encComment bool // the comment rule is encrypted_comment_regex
	hasComment bool
}

// NewSelector compiles c. A regex that does not compile matches nothing,
// as in SOPS; .sops.yaml and flag parsing report such regexes before this.
func NewSelector(c Config) *Selector {
	s := &Selector{cfg: c}
	compile := func(r string) *regexp.Regexp {
		re, err := regexp.Compile(r)
		if err != nil {
			return nil
		}
		return re
	}
	switch {
	case c.UnencryptedSuffix != "":
		s.key, s.suffix = keyUnencrypted, c.UnencryptedSuffix
	case c.EncryptedSuffix != "":
		s.key, s.suffix = keyEncrypted, c.EncryptedSuffix
	case c.UnencryptedRegex != "":
		s.key, s.re = keyUnencrypted, compile(c.UnencryptedRegex)
	case c.EncryptedRegex != "":
		s.key, s.re = keyEncrypted, compile(c.EncryptedRegex)
	case c.UnencryptedCommentRegex != "":
		s.hasComment, s.commentRe = true, compile(c.UnencryptedCommentRegex)
	case c.EncryptedCommentRegex != "":
		s.hasComment, s.encComment, s.commentRe = true, true, compile(c.EncryptedCommentRegex)
	}
	return s
}

// Config returns the selection the Selector evaluates.
func (s *Selector) Config() Config { return s.cfg }

// KeyMatches reports whether a key, as one path component, matches the
// key selector (suffix or regex). The walk counts matching components on
// the current path.
func (s *Selector) KeyMatches(key string) bool {
	switch {
	case s.key == keyNone:
		return false
	case s.re != nil:
		return s.re.MatchString(key)
	case s.suffix != "":
		return strings.HasSuffix(key, s.suffix)
	}
	return false
}

// CommentMatches reports whether a comment's text matches the comment
// selector.
func (s *Selector) CommentMatches(text string) bool {
	return s.commentRe != nil && s.commentRe.MatchString(text)
}

// HasCommentRule reports whether a comment-regex selector is in force, so
// the walk must track comments.
func (s *Selector) HasCommentRule() bool { return s.hasComment }

// Encrypt decides for one leaf. matchingKeys is the number of components
// of its path that KeyMatches; comments is the number of comments on the
// stack that CommentMatches, and selfMatches says whether the leaf is a
// comment that matches itself (the marker comment of an
// encrypted_comment_regex stays readable).
func (s *Selector) Encrypt(matchingKeys, matchingComments int, selfMatches bool) bool {
	switch s.key {
	case keyUnencrypted:
		return matchingKeys == 0
	case keyEncrypted:
		return matchingKeys > 0
	}
	if s.hasComment {
		if s.encComment {
			if selfMatches {
				matchingComments--
			}
			return matchingComments > 0
		}
		return matchingComments == 0
	}
	return true
}

// UnencryptedCommentRegex returns the compiled unencrypted comment regex,
// or nil: an encrypted comment that matched it could never be decrypted,
// so encryption checks its output against it.
func (s *Selector) UnencryptedCommentRegex() *regexp.Regexp {
	if s.hasComment && !s.encComment {
		return s.commentRe
	}
	return nil
}
