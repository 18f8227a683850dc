package keys

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kura-secrets/kura/pkg/keys/shamir"
)

// Wrap wraps a data key for key groups. With one group every recipient
// wraps the data key itself; with several, the key is split with Shamir's
// scheme into one share per group and every recipient of a group wraps
// that group's share. threshold 0 means every group is needed. It returns
// the stanzas and the threshold to record.
func Wrap(dataKey []byte, groups [][]Recipient, threshold int) ([]Group, int, error) {
	if len(groups) == 0 {
		return nil, 0, errors.New("no key groups provided: name at least one recipient")
	}
	for i, g := range groups {
		if len(g) == 0 {
			return nil, 0, fmt.Errorf("key group %d is empty", i)
		}
	}
	payloads := make([][]byte, len(groups))
	if len(groups) == 1 {
		payloads[0] = dataKey
	} else {
		if threshold == 0 {
			threshold = len(groups)
		}
		shares, err := shamir.Split(dataKey, len(groups), threshold)
		if err != nil {
			return nil, 0, fmt.Errorf("could not split data key into parts for Shamir: %w", err)
		}
		payloads = shares
		// The shares are wrapped below and then not needed: cleared.
		defer func() {
			for _, s := range shares {
				clear(s)
			}
		}()
	}
	out := make([]Group, len(groups))
	for i, g := range groups {
		for _, r := range g {
			s, err := r.Wrap(payloads[i])
			if err != nil {
				return nil, 0, fmt.Errorf("wrapping the data key for %s: %w", r.Identity(), err)
			}
			out[i] = append(out[i], s)
		}
	}
	return out, threshold, nil
}

// DefaultOrder is the order key types are tried in when none is given.
var DefaultOrder = []Type{Age, PGP}

// ParseOrder parses a comma-separated --decryption-order list. As in sops,
// empty entries (a trailing comma) are skipped and a type named twice is
// an error. Names that are not key types are returned in unknown, for the
// caller to warn about: sops accepts them silently, and scripts written
// for it must keep working.
func ParseOrder(s string) (order []Type, unknown []string, err error) {
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if seen[name] {
			return nil, nil, &DuplicateTypeError{Name: name}
		}
		seen[name] = true
		if t, ok := ParseType(name); ok {
			order = append(order, t)
		} else {
			unknown = append(unknown, name)
		}
	}
	return order, unknown, nil
}

// DuplicateTypeError is a decryption order that names a type twice.
type DuplicateTypeError struct{ Name string }

func (e *DuplicateTypeError) Error() string {
	return fmt.Sprintf("the decryption order names %s twice", e.Name)
}

// sortForDecryption orders a group's stanzas: the types of order first, in
// that order, then the rest in load order. The sort is stable, so keys of
// one type keep the file's order.
func sortForDecryption(g Group, order []Type) Group {
	sorted := append(Group(nil), g...)
	sort.SliceStable(sorted, func(i, j int) bool { return typeRank(sorted[i].Type, order) < typeRank(sorted[j].Type, order) })
	return sorted
}

// KeyFailure is why one master key did not give its payload.
type KeyFailure struct {
	Group    int
	Identity string
	Type     Type
	Err      error
}

// RecoverError explains why the data key could not be recovered: every
// key that was tried, and how it failed.
type RecoverError struct {
	Groups    int
	Succeeded int
	Threshold int
	// Failures lists every key that failed, also in groups that another
	// key of theirs decrypted.
	Failures []KeyFailure
	// decrypted marks the groups that gave their share.
	decrypted map[int]bool
}

func reason(err error) string {
	if errors.Is(err, ErrNoIdentity) {
		msg := err.Error()
		if msg == ErrNoIdentity.Error() {
			return "no matching identity"
		}
		return msg
	}
	return err.Error()
}

func (e *RecoverError) Error() string {
	if e.Groups > 1 {
		return fmt.Sprintf("could not recover the data key: %d of %d key groups decrypted, %d needed", e.Succeeded, e.Groups, e.Threshold)
	}
	if len(e.Failures) == 0 {
		return "could not recover the data key: the file names no usable key"
	}
	var parts []string
	for _, f := range e.Failures {
		parts = append(parts, fmt.Sprintf("%s %s: %s", f.Type, f.Identity, reason(f.Err)))
	}
	return "could not recover the data key: " + strings.Join(parts, "; ")
}

// Details gives one line per failed key group of a Shamir file, saying
// which keys were tried and why each failed.
func (e *RecoverError) Details() []string {
	if e.Groups < 2 {
		return nil
	}
	byGroup := map[int][]string{}
	for _, f := range e.Failures {
		if !e.decrypted[f.Group] {
			byGroup[f.Group] = append(byGroup[f.Group], fmt.Sprintf("%s %s: %s", f.Type, f.Identity, reason(f.Err)))
		}
	}
	var lines []string
	for g := 0; g < e.Groups; g++ {
		if msgs, ok := byGroup[g]; ok {
			lines = append(lines, fmt.Sprintf("key group %d failed: %s", g, strings.Join(msgs, "; ")))
		}
	}
	return lines
}

// Recover unwraps the data key with the sources at hand: the first key of
// the single group that works, or Shamir shares from enough groups. With
// several groups, those whose keys come first in the decryption order are
// tried first, and recovery stops as soon as the threshold is met, so a
// slow cloud key is not asked when local keys suffice.
func Recover(groups []Group, threshold int, order []Type, sources map[Type]Unwrapper) ([]byte, error) {
	rerr := &RecoverError{Groups: len(groups), decrypted: map[int]bool{}}
	need := 1
	if len(groups) > 1 {
		need = threshold
		if need < 2 {
			need = 2
		}
		rerr.Threshold = need
	}
	var payloads [][]byte
	for _, gi := range groupOrder(groups, order) {
		if len(payloads) >= need {
			break
		}
		for _, s := range sortForDecryption(groups[gi], order) {
			src := sources[s.Type]
			if src == nil {
				rerr.Failures = append(rerr.Failures, KeyFailure{gi, s.Identity(), s.Type, fmt.Errorf("%w (kura has no %s key source configured)", ErrNoIdentity, s.Type)})
				continue
			}
			p, err := src.Unwrap(&s)
			if err != nil {
				rerr.Failures = append(rerr.Failures, KeyFailure{gi, s.Identity(), s.Type, err})
				continue
			}
			payloads = append(payloads, p)
			rerr.decrypted[gi] = true
			break
		}
	}
	rerr.Succeeded = len(payloads)
	if len(groups) == 1 && len(payloads) == 1 {
		return payloads[0], nil
	}
	// Shares are not needed once combined, or when too few were found.
	defer func() {
		for _, p := range payloads {
			clear(p)
		}
	}()
	if len(payloads) < need {
		return nil, rerr
	}
	key, err := shamir.Combine(payloads)
	if err != nil {
		return nil, fmt.Errorf("combining Shamir shares: %w", err)
	}
	return key, nil
}

// groupOrder returns the indices of groups, those whose best key comes
// earliest in the decryption order first; ties keep the file's order.
func groupOrder(groups []Group, order []Type) []int {
	idx := make([]int, len(groups))
	best := make([]int, len(groups))
	for i, g := range groups {
		idx[i] = i
		best[i] = 1 << 30
		if sorted := sortForDecryption(g, order); len(sorted) > 0 {
			best[i] = typeRank(sorted[0].Type, order)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return best[idx[a]] < best[idx[b]] })
	return idx
}

func typeRank(t Type, order []Type) int {
	if len(order) == 0 {
		order = DefaultOrder
	}
	for i, o := range order {
		if o == t {
			return i
		}
	}
	for i, o := range LoadOrder {
		if o == t {
			return len(order) + i
		}
	}
	return 1 << 20
}

// RecoverHint suggests what to do about a failed recovery.
func RecoverHint(err error) string {
	var rerr *RecoverError
	if !errors.As(err, &rerr) {
		return ""
	}
	types := map[Type]bool{}
	for _, f := range rerr.Failures {
		if errors.Is(f.Err, ErrNoIdentity) {
			types[f.Type] = true
		}
	}
	switch {
	case types[Age]:
		return "no age identity matched: set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) to the key of one of the file's age recipients"
	case types[PGP]:
		return "no PGP secret key matched: import the secret key of one of the file's PGP recipients into gpg"
	}
	return ""
}
