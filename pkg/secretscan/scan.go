package secretscan

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
)

// Finding is one suspected secret. It never holds the secret text, so that
// printing it (to a terminal, a CI log) cannot leak what it found.
type Finding struct {
	Line        int    // 1-based
	Column      int    // 1-based byte column where the match starts
	Rule        string // rule ID, e.g. "private-key", "aws-access-key-id"
	Description string // short human text, e.g. "an AWS access key ID"
}

// Defaults of the Options knobs, chosen so that random tokens of 20 or more
// characters are reported and typical placeholders are not (see entropy.go
// for the measurements behind them).
const (
	// DefaultEntropyThreshold is the Shannon entropy, in bits per byte, a
	// non-hexadecimal value must reach to count as random.
	DefaultEntropyThreshold = 3.3
	// DefaultHexEntropyThreshold is the same for hexadecimal values (and
	// UUIDs), whose 16-letter alphabet caps entropy at 4 bits per byte.
	DefaultHexEntropyThreshold = 2.7
	// DefaultMinSecretLength is the shortest value, in bytes, the key-based
	// rules report: shorter values are mostly flags, names and placeholders,
	// and their entropy says too little.
	DefaultMinSecretLength = 16
)

// Options configures a Scanner. The zero value runs every rule with the
// documented defaults.
type Options struct {
	// DisabledRules lists rule IDs not to run. IDs that are not in Rules()
	// are ignored, so that a caller with checks of its own (kura scan's
	// must-encrypt) can pass one list; such a caller should reject typos
	// against Rules() and its own IDs.
	DisabledRules []string
	// AllowPatterns are regular expressions (Go syntax); a finding whose
	// matched text matches one of them is dropped.
	AllowPatterns []string
	// EntropyThreshold overrides DefaultEntropyThreshold when > 0.
	EntropyThreshold float64
	// HexEntropyThreshold overrides DefaultHexEntropyThreshold when > 0.
	HexEntropyThreshold float64
	// MinSecretLength overrides DefaultMinSecretLength when > 0.
	MinSecretLength int
}

// Scanner scans contents for secrets. It is immutable after New and safe
// for concurrent use by many goroutines.
type Scanner struct {
	enabled    [numRules]bool
	allow      []*regexp.Regexp
	entropy    float64
	hexEntropy float64
	minLen     int
}

// New returns a Scanner for opts.
func New(opts Options) (*Scanner, error) {
	s := &Scanner{
		entropy:    DefaultEntropyThreshold,
		hexEntropy: DefaultHexEntropyThreshold,
		minLen:     DefaultMinSecretLength,
	}
	for i := range s.enabled {
		s.enabled[i] = true
	}
	for _, id := range opts.DisabledRules {
		if r, ok := ruleByID(id); ok {
			s.enabled[r] = false
		}
	}
	for _, p := range opts.AllowPatterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("secretscan: allow pattern %q: %w", p, err)
		}
		s.allow = append(s.allow, re)
	}
	if t := opts.EntropyThreshold; t != 0 {
		if t < 0 || math.IsNaN(t) || t > 8 {
			return nil, fmt.Errorf("secretscan: entropy threshold %v is outside 0..8", t)
		}
		s.entropy = t
	}
	if t := opts.HexEntropyThreshold; t != 0 {
		if t < 0 || math.IsNaN(t) || t > 4 {
			return nil, fmt.Errorf("secretscan: hex entropy threshold %v is outside 0..4", t)
		}
		s.hexEntropy = t
	}
	if n := opts.MinSecretLength; n != 0 {
		if n < 0 {
			return nil, fmt.Errorf("secretscan: negative minimum secret length %d", n)
		}
		s.minLen = n
	}
	return s, nil
}

// binarySniff is how much of the content is searched for a NUL byte, the
// same heuristic git uses to call a file binary.
const binarySniff = 8 << 10

// allowMarker on a line silences every finding reported on that line.
const allowMarker = "kura:allow"

// match is a finding before it is turned into a Finding: [start, end) is
// the matched text, which never leaves the package.
type match struct {
	start, end int
	rule       ruleIdx
}

// state is the per-call scratch space; it lives on the caller's stack.
type state struct {
	s       *Scanner
	c       content
	matches []match
	// runFrom and runEnd memoise the last unquoted value measured by
	// valueAfter: [runFrom, runEnd) holds no byte that ends a value.
	runFrom, runEnd int
}

func (st *state) add(start, end int, r ruleIdx) {
	st.matches = append(st.matches, match{start, end, r})
}

// Scan returns the suspected secrets in content, sorted by line and column.
func (s *Scanner) Scan(content []byte) []Finding {
	if len(content) == 0 || bytes.IndexByte(content[:min(len(content), binarySniff)], 0) >= 0 {
		return nil
	}
	st := state{s: s, c: content}
	st.detect()
	if len(st.matches) == 0 {
		return nil
	}
	return st.finish()
}

// finish drops the matches inside SOPS ciphertexts, those a more specific
// rule already covers and the allowlisted ones, and converts the rest.
func (st *state) finish() []Finding {
	c := st.c
	ms := st.matches
	slices.SortFunc(ms, func(a, b match) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end), cmp.Compare(a.rule, b.rule))
	})
	ms = dropInCiphertext(c, ms)
	ms = dedupe(ms)
	var out []Finding
	// Matches are sorted by start, so lines are counted and each line is
	// searched for the marker once overall, even with many matches on one
	// long line.
	line, lineStart, lineEnd, pos := 1, 0, -1, 0
	lineAllowed := false
	for _, m := range ms {
		if st.allowed(c[m.start:m.end]) {
			continue
		}
		if m.start > lineEnd {
			line += bytes.Count(c[pos:m.start], nl)
			if i := bytes.LastIndexByte(c[pos:m.start], '\n'); i >= 0 {
				lineStart = pos + i + 1
			}
			lineEnd = len(c)
			if i := bytes.IndexByte(c[m.start:], '\n'); i >= 0 {
				lineEnd = m.start + i
			}
			lineAllowed = bytes.Contains(c[lineStart:lineEnd], []byte(allowMarker))
		}
		pos = m.start
		if lineAllowed {
			continue
		}
		info := ruleTable[m.rule]
		out = append(out, Finding{Line: line, Column: m.start - lineStart + 1, Rule: info.id, Description: info.desc})
	}
	return out
}

var nl = []byte{'\n'}

func (st *state) allowed(text []byte) bool {
	for _, re := range st.s.allow {
		if re.Match(text) {
			return true
		}
	}
	return false
}

// sopsPrefix opens a SOPS ciphertext value. Anything from it to the closing
// bracket is encrypted data whose base64 may look like anything.
var sopsPrefix = []byte("ENC[AES256_GCM,")

// dropInCiphertext removes the matches that overlap a SOPS ciphertext.
func dropInCiphertext(c []byte, ms []match) []match {
	if !bytes.Contains(c, sopsPrefix) {
		return ms
	}
	out := ms[:0]
	// Both the spans and the matches are in content order: one merge pass.
	spanStart, spanEnd, next := -1, -1, 0
	for _, m := range ms {
		for spanEnd <= m.start && next < len(c) {
			i := bytes.Index(c[next:], sopsPrefix)
			if i < 0 {
				spanStart, spanEnd, next = len(c), len(c), len(c)
				break
			}
			spanStart = next + i
			spanEnd = len(c)
			if j := bytes.IndexAny(c[spanStart:], "]\n"); j >= 0 {
				spanEnd = spanStart + j + 1
			}
			next = spanEnd
		}
		if m.start < spanEnd && m.end > spanStart {
			continue
		}
		out = append(out, m)
	}
	return out
}

// dedupe keeps, of overlapping matches, the one of the most specific rule
// (lowest priority number), and of equally specific ones the first. So
// GITHUB_TOKEN=ghp_… is a github-token, not also a high-entropy value, and
// a service account's private_key is reported once.
func dedupe(ms []match) []match {
	if len(ms) < 2 {
		return ms
	}
	var kept []match // sorted by start, never overlapping
	for prio := 0; prio <= maxPriority; prio++ {
		n := len(kept)
		for _, m := range ms {
			if ruleTable[m.rule].prio != prio {
				continue
			}
			// The first kept match starting at or after m.end, and the one
			// before it, are the only ones m can overlap.
			i := sort.Search(n, func(i int) bool { return kept[i].start >= m.end })
			if i > 0 && kept[i-1].end > m.start {
				continue
			}
			if l := len(kept); l > n && kept[l-1].end > m.start {
				continue // overlaps one of this priority, kept just before
			}
			kept = append(kept, m)
		}
		slices.SortFunc(kept, func(a, b match) int { return cmp.Compare(a.start, b.start) })
	}
	return kept
}
