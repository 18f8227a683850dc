package secretscan

import (
	"bytes"
	"math"
)

// shannon returns the Shannon entropy of b in bits per byte, measured over
// b's own byte frequencies: 0 for "xxxx", log2(len(b)) at most.
//
// For short strings it mostly measures repetition, not randomness: a
// 16-byte English phrase and a 16-byte token both score about 3.4-4. The
// defaults come from sampling (TestEntropyDefaults checks them): of random
// 20-byte base64 or alphanumeric tokens 99.9% score 3.48 or more (median
// 4.0); of random 20-byte hex 99.9% score 2.71 or more (median 3.4), longer
// tokens score higher. So DefaultEntropyThreshold (3.3) and
// DefaultHexEntropyThreshold (2.7) let through all but about one in a
// thousand random tokens of 20+ bytes (and ~98% of 16-byte ones), while
// repeated or patterned fill (xxxx…, 0000…, abcabc…, deadbeef×3) scores
// under 2.5. Entropy cannot reject phrases; the structural checks of
// randomValue do that.
func shannon(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]uint32
	for _, ch := range b {
		counts[ch]++
	}
	n := float64(len(b))
	h := 0.0
	for _, k := range counts {
		if k != 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// minTokenEntropy is the entropy a vendor token's body must reach. The
// prefixes make those rules precise already; this only drops bodies such as
// XXXXXXXXXXXXXXXX or 0000… that documentation uses as fill.
const minTokenEntropy = 2.5

// tokenBody reports whether the body of a prefixed token (what follows
// ghp_, AKIA, …) could be real rather than documentation fill.
func tokenBody(b []byte) bool {
	return shannon(b) >= minTokenEntropy && !hasPlaceholderWord(b)
}

// placeholderWords, found anywhere in a value (case-insensitively), mark it
// as a placeholder or sample rather than a secret. A 20-byte random base64
// token contains a given 4-letter word with odds of about 1 in 60,000, so
// these cost next to nothing in missed secrets.
var placeholderWords = []string{
	"example", "changeme", "change_me", "change-me", "changeit",
	"replace", "placeholder", "your", "here", "dummy", "sample", "fake",
	"redacted", "xxxx", "****", "....", "todo", "fixme", "lorem",
	"notasecret", "not_a_secret", "insert", "123456", "abcdef", "qwerty",
	"test", "random",
}

func hasPlaceholderWord(v []byte) bool {
	for _, w := range placeholderWords {
		if containsFold(v, w) {
			return true
		}
	}
	return false
}

// containsFold reports whether v contains the lower-case ASCII word w,
// ignoring ASCII case in v, without allocating.
func containsFold(v []byte, w string) bool {
	n := len(w)
	for i := 0; i+n <= len(v); i++ {
		k := 0
		for k < n && lower(v[i+k]) == w[k] {
			k++
		}
		if k == n {
			return true
		}
	}
	return false
}

func lower(ch byte) byte {
	if 'A' <= ch && ch <= 'Z' {
		return ch + 'a' - 'A'
	}
	return ch
}

// placeholderPrefixes open values that are templates, variable references
// or references to a secret store, not the secret itself.
var placeholderPrefixes = []string{
	"${", "$(", "{{", "{%", "<%", "%(", "#{", "@{", "ENC[", "vault:",
	"ref+", "arn:", "urn:", "op://", "sm://", "awssm", "gcpsm", "azkv", "secret:",
	"file:", "env:", "!",
}

// placeholderShape reports values that are references or templates by their
// shape: the prefixes above, <your-token>, %VAR%, __VAR__, [REDACTED], and
// $VAR.
func placeholderShape(v []byte) bool {
	for _, p := range placeholderPrefixes {
		if len(v) >= len(p) && string(v[:len(p)]) == p {
			return true
		}
	}
	first, last := v[0], v[len(v)-1]
	switch {
	case first == '<' && last == '>',
		first == '%' && last == '%',
		first == '[' && last == ']',
		bytes.HasPrefix(v, []byte("__")) && bytes.HasSuffix(v, []byte("__")):
		return true
	case first == '$':
		// $VAR or $var_name: a shell or Terraform-style reference.
		return run(v, 1, cAlnum|cDashUS) == len(v)
	}
	return false
}

// pathLike reports file paths and secret-store paths (/run/secrets/db,
// ~/.aws/credentials, secret/data/app/v2), which name where a secret lives.
// Standard base64 contains '/' too (a 20-byte token starts with one once in
// 64), but never '.', and is never all lower case; so a path must start
// like one and be lower case or name a file, or be all lower case.
func pathLike(v []byte) bool {
	if bytes.ContainsAny(v, "+=") {
		return false
	}
	hasUpper := false
	for _, ch := range v {
		if class[ch]&cUpper != 0 {
			hasUpper = true
			break
		}
	}
	switch {
	case bytes.IndexByte(v, '/') < 0:
		return len(v) > 2 && v[1] == ':' && v[2] == '\\' // C:\…
	case bytes.HasPrefix(v, []byte("./")), bytes.HasPrefix(v, []byte("../")), bytes.HasPrefix(v, []byte("~/")):
		return true
	case v[0] == '/':
		if bytes.Contains(v, []byte("//")) {
			return false
		}
		return !hasUpper || bytes.IndexByte(v[bytes.LastIndexByte(v, '/'):], '.') >= 0 || bytes.Contains(v, []byte("/."))
	}
	return !hasUpper
}

// randomValue reports whether v, assigned to a secret-looking key, looks
// like a generated secret rather than a placeholder, a reference or code.
// (valueAfter has already dropped unquoted values that look like code.)
func (s *Scanner) randomValue(v []byte) bool {
	if len(v) < s.minLen || placeholderShape(v) || hasPlaceholderWord(v) {
		return false
	}
	// Anything naming the SOPS cipher is ciphertext, or a pattern for it
	// (grep '^password: ENC\[AES256_GCM,' in a test script).
	if index(v, "AES256_GCM") >= 0 {
		return false
	}
	// A UUID is an identifier far more often than a credential.
	if isUUID(v) {
		return false
	}
	var letters, digits, hexLetters, other int
	for _, ch := range v {
		switch k := class[ch]; {
		case k&cDigit != 0:
			digits++
		case k&(cUpper|cLower) != 0:
			letters++
			if l := lower(ch); 'a' <= l && l <= 'f' {
				hexLetters++
			}
		case ch <= ' ' || ch == 0x7f:
			return false // white space or control: prose, not a token
		default:
			other++
		}
	}
	// Tokens are generated from letters and digits. A value without letters
	// is a number or punctuation; one without digits is a word or an
	// identifier (cfg.AuthToken, tls.RequireAnyClientCert, myDatabaseUser)
	// unless it mixes cases without a '.' and without reading as words
	// (wordy, below), as a random token without a digit does (3% of 20-byte
	// base64 tokens).
	if letters == 0 || digits == 0 && (!mixedCase(v) || bytes.IndexByte(v, '.') >= 0 || wordy(v, 4, 70)) {
		return false
	}
	if bytes.Contains(v, []byte("://")) || pathLike(v) || hostLike(v) || queryLike(v) {
		return false
	}
	// JWT-shaped values are the jwt rule's to judge.
	if bytes.HasPrefix(v, []byte("eyJ")) && bytes.IndexByte(v, '.') > 0 {
		return false
	}
	if letters == hexLetters && other == bytes.Count(v, []byte{'-'}) {
		// Hex, possibly a UUID: measure the digits without the dashes.
		var buf [128]byte
		h := buf[:0]
		for _, ch := range v {
			if ch != '-' {
				h = append(h, ch)
			}
		}
		return len(h) >= s.minLen && shannon(h) >= s.hexEntropy
	}
	// Mostly digits and punctuation: timestamps, addresses, versions
	// (2016-09-24T16:18:07Z, [fe80::1]:8443). Random tokens are mostly
	// letters: 52 of the 64 base64 characters.
	if 4*letters < len(v) {
		return false
	}
	if enumLike(v) || wordy(v, 4, 80) {
		return false
	}
	return shannon(v) >= s.entropy
}

// enumLike reports SCREAMING_SNAKE constants (POSTGRES_SCRAM_SHA_256):
// upper case, digits and '_' only, with a '_'. Random tokens of that
// alphabet (base32) have no '_'.
func enumLike(v []byte) bool {
	if bytes.IndexByte(v, '_') < 0 {
		return false
	}
	for _, ch := range v {
		if class[ch]&(cUpper|cDigit) == 0 && ch != '_' {
			return false
		}
	}
	return true
}

// wordy reports mixed-case values that read as CamelCase words
// (X509ClientCertificate, SignatureVersion4): at least two words of
// minWord or more letters (a capital then lower case, or an all-caps run)
// holding at least pct% of the letters. With 4 and 80%, sampling puts 0.4%
// of random 20-byte base64 tokens above that line, 0.05% of 32-byte ones;
// the looser 70% is applied only to values without a digit
// (MaxNumberOfDomains), which random tokens rarely are. Single-case values
// are not judged: random base36 has long letter runs too.
func wordy(v []byte, minWord, pct int) bool {
	if !mixedCase(v) {
		return false
	}
	letters, inWords, words := 0, 0, 0
	for i := 0; i < len(v); {
		if class[v[i]]&(cUpper|cLower) == 0 {
			i++
			continue
		}
		j := i + 1
		switch {
		case class[v[i]]&cUpper != 0 && j < len(v) && class[v[j]]&cUpper != 0:
			for j < len(v) && class[v[j]]&cUpper != 0 {
				j++
			}
			if j < len(v) && class[v[j]]&cLower != 0 {
				j-- // the last capital starts the next CamelCase word
			}
		default:
			for j < len(v) && class[v[j]]&cLower != 0 {
				j++
			}
		}
		letters += j - i
		if j-i >= minWord {
			inWords += j - i
			words++
		}
		i = j
	}
	return words >= 2 && 100*inWords >= pct*letters
}

// hostLike reports host names, with an optional port
// (traffic-director.xds.googleapis.com, db-2.internal:5432): lower-case
// labels and dots, ending in an alphabetic top-level label. Base64 has no
// '.'.
func hostLike(v []byte) bool {
	if i := bytes.LastIndexByte(v, ':'); i > 0 && run(v, i+1, cDigit) == len(v) {
		v = v[:i]
	}
	dot := bytes.LastIndexByte(v, '.')
	if dot <= 0 || len(v)-dot-1 < 2 {
		return false
	}
	for _, ch := range v[dot+1:] {
		if class[ch]&cLower == 0 {
			return false
		}
	}
	for _, ch := range v {
		if class[ch]&(cLower|cDigit) == 0 && ch != '-' && ch != '.' {
			return false
		}
	}
	return true
}

// queryLike reports query strings (a=1&b=2, also JSON-escaped as
// a=1\u0026b=2): an '&' and two '='. Base64 has neither '&' nor '=' but at
// its end.
func queryLike(v []byte) bool {
	return (bytes.IndexByte(v, '&') >= 0 || bytes.Contains(v, []byte(`\u0026`))) && bytes.Count(v, []byte{'='}) >= 2
}

// isUUID reports whether v is a canonical 8-4-4-4-12 hex UUID.
func isUUID(v []byte) bool {
	if len(v) != 36 {
		return false
	}
	for i, ch := range v {
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if l := lower(ch); !('0' <= l && l <= '9' || 'a' <= l && l <= 'f') {
				return false
			}
		}
	}
	return true
}

func mixedCase(v []byte) bool {
	var upper, lower bool
	for _, ch := range v {
		upper = upper || class[ch]&cUpper != 0
		lower = lower || class[ch]&cLower != 0
	}
	return upper && lower
}
