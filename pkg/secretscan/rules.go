package secretscan

import (
	"bytes"
)

// RuleInfo describes one rule, for documentation and `kura scan
// --list-rules`.
type RuleInfo struct {
	ID          string
	Description string
}

type ruleIdx uint8

const (
	rulePrivateKey ruleIdx = iota
	ruleAgeSecretKey
	ruleAWSAccessKeyID
	ruleAWSSecretAccessKey
	ruleGitHubToken
	ruleGitLabToken
	ruleSlackToken
	ruleStripeKey
	ruleGoogleAPIKey
	ruleGCPServiceAccount
	ruleJWT
	ruleGenericPassword
	ruleHighEntropy
	numRules
)

// maxPriority is the largest prio in ruleTable.
const maxPriority = 2

// ruleTable gives each rule its ID, description and priority. When matches
// overlap, the lowest prio wins: a service account file beats the PEM key
// inside it, and any precise rule beats the key-based guesses.
var ruleTable = [numRules]struct {
	id, desc string
	prio     int
}{
	rulePrivateKey:         {"private-key", "a PEM or OpenSSH private key", 1},
	ruleAgeSecretKey:       {"age-secret-key", "an age secret key", 1},
	ruleAWSAccessKeyID:     {"aws-access-key-id", "an AWS access key ID", 1},
	ruleAWSSecretAccessKey: {"aws-secret-access-key", "an AWS secret access key", 1},
	ruleGitHubToken:        {"github-token", "a GitHub token", 1},
	ruleGitLabToken:        {"gitlab-token", "a GitLab personal access token", 1},
	ruleSlackToken:         {"slack-token", "a Slack token or webhook URL", 1},
	ruleStripeKey:          {"stripe-key", "a Stripe live secret or restricted key", 1},
	ruleGoogleAPIKey:       {"google-api-key", "a Google API key", 1},
	ruleGCPServiceAccount:  {"gcp-service-account", "a GCP service account key with its private key", 0},
	ruleJWT:                {"jwt", "a JSON Web Token", 1},
	ruleGenericPassword:    {"generic-password", "a plaintext password assigned to a password key", 2},
	ruleHighEntropy:        {"high-entropy", "a random-looking value assigned to a secret-looking key", 2},
}

// Rules returns the ID and description of every rule, in a stable order.
func Rules() []RuleInfo {
	out := make([]RuleInfo, numRules)
	for i, r := range ruleTable {
		out[i] = RuleInfo{ID: r.id, Description: r.desc}
	}
	return out
}

func ruleByID(id string) (ruleIdx, bool) {
	for i, r := range ruleTable {
		if r.id == id {
			return ruleIdx(i), true
		}
	}
	return 0, false
}

// Byte classes, one bit each, so that the hot checks are a table load.
const (
	cUpper  = 1 << iota // A-Z
	cLower              // a-z
	cDigit              // 0-9
	cB32                // A-Z 2-7: AWS key IDs
	cBech32             // upper-case bech32: age keys
	cDashUS             // - _
	cB64Sym             // + / =
	cKey                // characters of a key name: A-Za-z0-9 _ - .
)

const (
	cAlnum  = cUpper | cLower | cDigit
	cB64URL = cAlnum | cDashUS
	cB64    = cAlnum | cB64Sym
)

var class = func() (t [256]uint8) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] |= cUpper | cB32 | cKey
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= cLower | cKey
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= cDigit | cKey
	}
	for c := '2'; c <= '7'; c++ {
		t[c] |= cB32
	}
	for _, c := range "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" {
		t[c] |= cBech32
	}
	t['-'] |= cDashUS | cKey
	t['_'] |= cDashUS | cKey
	t['.'] |= cKey
	t['+'] |= cB64Sym
	t['/'] |= cB64Sym
	t['='] |= cB64Sym
	return t
}()

// is reports whether c[i] exists and is in one of the classes in mask.
func is(c []byte, i int, mask uint8) bool {
	return i >= 0 && i < len(c) && class[c[i]]&mask != 0
}

// run returns the end of the run of mask bytes starting at i.
func run(c []byte, i int, mask uint8) int {
	for i < len(c) && class[c[i]]&mask != 0 {
		i++
	}
	return i
}

// hasAt reports whether c has lit at offset i.
func hasAt(c []byte, i int, lit string) bool {
	return i >= 0 && i+len(lit) <= len(c) && string(c[i:i+len(lit)]) == lit
}

// eachIndex calls f with the offset of every occurrence of anchor in c.
func eachIndex(c []byte, anchor string, f func(i int)) {
	a := []byte(anchor)
	for i := 0; i < len(c); {
		j := bytes.Index(c[i:], a)
		if j < 0 {
			return
		}
		f(i + j)
		i += j + 1
	}
}

// detect runs every enabled detector. Each finds the matches of one or
// more rules from a literal anchor. (Plain calls rather than a table of
// method values keep the state on the caller's stack.)
func (st *state) detect() {
	en := &st.s.enabled
	if en[rulePrivateKey] {
		st.privateKeys()
	}
	if en[ruleAgeSecretKey] || en[ruleAWSAccessKeyID] || en[ruleGoogleAPIKey] {
		st.capitalA()
	}
	if en[ruleGitHubToken] {
		st.gitHub()
	}
	if en[ruleGitLabToken] {
		st.gitLab()
	}
	if en[ruleSlackToken] {
		st.slack()
	}
	if en[ruleStripeKey] {
		st.stripe()
	}
	if en[ruleGCPServiceAccount] {
		st.gcpServiceAccount()
	}
	if en[ruleJWT] {
		st.jwt()
	}
	if en[ruleAWSSecretAccessKey] || en[ruleGenericPassword] || en[ruleHighEntropy] {
		st.keyedRules()
	}
}

// content is the scanned bytes with a bounds-checked accessor, which keeps
// the detectors free of length checks that are easy to get wrong.
type content []byte

func (c content) at(i int) byte {
	if i < 0 || i >= len(c) {
		return 0
	}
	return c[i]
}

func skipSpace(c []byte, i int) int {
	for i < len(c) && (c[i] == ' ' || c[i] == '\t') {
		i++
	}
	return i
}

func skipSpaceBack(c []byte, i int) int {
	for i > 0 && (c[i-1] == ' ' || c[i-1] == '\t') {
		i--
	}
	return i
}

// closingQuote returns the offset of the quote closing the one at c[i], on
// the same line, honouring backslash escapes; -1 if there is none.
func closingQuote(c []byte, i int) int {
	q := c[i]
	for k := i + 1; k < len(c); k++ {
		switch c[k] {
		case '\\':
			if q != '\'' {
				k++
			}
		case '\n':
			return -1
		case q:
			return k
		}
	}
	return -1
}

func hasDigit(b []byte) bool {
	for _, ch := range b {
		if class[ch]&cDigit != 0 {
			return true
		}
	}
	return false
}
