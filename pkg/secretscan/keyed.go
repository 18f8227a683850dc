package secretscan

import (
	"bytes"
)

// keywordStems find the keys that may name a secret. They are stems, not
// the keyword list itself: "key" stands for api_key, apikey, access_key and
// private_key, and "pass" for password, passwd, passphrase and DB_PASS. The
// key around each hit is then classified exactly by classifyKey.
var keywordStems = [...]string{"pass", "pwd", "secret", "token", "key", "auth", "credential"}

const (
	// maxKeyLen bounds the keys considered; longer "keys" are not config.
	maxKeyLen = 128
	// maxValueLen bounds the unquoted values considered.
	maxValueLen = 4096
)

// stemFirst and stemSecond find the stems' first two letters in one pass,
// case-insensitively and without folding the content: bit k is set in
// stemFirst[x] and stemSecond[y] when stem k starts with xy, so a position
// may start a stem only if stemFirst[c[i]]&stemSecond[c[i+1]] != 0. Two
// 256-byte tables stay in L1, and the branch is rarely taken (the bigrams
// pa, pw, se, to, ke, au, cr are a few percent of text), which beats one
// bytes.Index pass per stem on text where p, s, t, k, a, c are everywhere.
var stemFirst, stemSecond = func() (f, s [256]uint8) {
	for k, stem := range keywordStems {
		for _, ch := range []byte{stem[0], stem[0] - 'a' + 'A'} {
			f[ch] |= 1 << k
		}
		for _, ch := range []byte{stem[1], stem[1] - 'a' + 'A'} {
			s[ch] |= 1 << k
		}
	}
	return f, s
}()

// keyedRules runs aws-secret-access-key, generic-password and high-entropy:
// find stems, then parse the key around each one and the value assigned to
// it.
func (st *state) keyedRules() {
	c := st.c
	keyEnd := 0
	for i := 0; i+1 < len(c); i++ {
		bits := stemFirst[c[i]] & stemSecond[c[i+1]]
		if bits == 0 || i < keyEnd {
			continue // keyEnd: a stem inside the key or value just handled
		}
		found := false
		for k, stem := range keywordStems {
			if bits&(1<<k) != 0 && hasFoldAt(c, i, stem) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		ks, ke := i, i
		for ks > keyEnd && class[c[ks-1]]&cKey != 0 && i-ks < maxKeyLen {
			ks--
		}
		for ke < len(c) && class[c[ke]]&cKey != 0 && ke-i < maxKeyLen {
			ke++
		}
		keyEnd = st.assignment(ks, ke)
	}
}

// hasFoldAt reports whether c has the lower-case word w at i, ignoring
// ASCII case.
func hasFoldAt(c []byte, i int, w string) bool {
	if i+len(w) > len(c) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if c[i+k]|0x20 != w[k] {
			return false
		}
	}
	return true
}

// keyKind tells what a key name suggests.
type keyKind uint8

const (
	kindNone keyKind = iota
	kindPassword
	kindSecret
	kindAWSSecret
)

// secretStems, in a key lowered and stripped of '_', '-' and '.', make it a
// secret-looking key (after the password stems, checked first); so does
// auth, see hasAuth.
var secretStems = []string{"secret", "token", "apikey", "accesskey", "privatekey", "credential"}

// notSecretSuffixes end keys that name, locate or describe a secret
// without holding it: secretKeyRef, password_file, token_url,
// access_key_id, auth_type, …
var notSecretSuffixes = []string{
	"ref", "name", "file", "path", "dir", "url", "uri", "endpoint", "id",
	"type", "mode", "method", "provider", "policy", "header", "field",
	"format", "version", "ttl", "timeout", "expiry", "expires", "length",
	"size", "count", "enabled", "required", "hash", "env", "var", "used",
	"date", "time", "at", "algorithm", "scheme", "prefix", "pattern",
}

// notSecretParts make a key that mentions a token a pagination cursor
// (NextToken, nextPageToken, ContinuationToken), not a credential.
var notSecretParts = []string{"next", "page", "continuation", "cursor"}

// classifyKey returns what kind of secret key k (as written) names.
func classifyKey(k []byte) keyKind {
	var buf [2*maxKeyLen + 16]byte
	n := buf[:0]
	for _, ch := range k {
		if ch != '_' && ch != '-' && ch != '.' {
			n = append(n, lower(ch))
		}
	}
	for _, suf := range notSecretSuffixes {
		if hasSuffix(n, suf) {
			return kindNone
		}
	}
	for _, part := range notSecretParts {
		if index(n, part) >= 0 {
			return kindNone
		}
	}
	if index(n, "secret") >= 0 && (index(n, "aws") >= 0 || index(n, "secretaccesskey") >= 0) {
		return kindAWSSecret
	}
	for _, w := range passwordStems {
		if index(n, w) >= 0 {
			return kindPassword
		}
	}
	if hasSuffix(n, "pass") {
		return kindPassword
	}
	for _, w := range secretStems {
		if index(n, w) >= 0 {
			return kindSecret
		}
	}
	if hasAuth(n) {
		return kindSecret
	}
	return kindNone
}

// hasAuth reports whether the normalised key n mentions auth as in
// credentials (auth, authToken, authorization, oauth), not author,
// authority or authentication (a mechanism, not a secret).
func hasAuth(n []byte) bool {
	for i := 0; ; {
		k := index(n[i:], "auth")
		if k < 0 {
			return false
		}
		rest := n[i+k+4:]
		switch {
		case bytes.HasPrefix(rest, []byte("oriz")), bytes.HasPrefix(rest, []byte("oris")):
			return true // authorization, authorisation
		case bytes.HasPrefix(rest, []byte("or")), bytes.HasPrefix(rest, []byte("entic")):
		default:
			return true
		}
		i += k + 4
	}
}

var passwordStems = []string{"password", "passwd", "passphrase", "pwd"}

// index and hasSuffix are bytes.Index and bytes.HasSuffix for a string
// needle: keys are short, and converting the needles would cost more than
// the search.
func index(b []byte, w string) int {
	for i := 0; i+len(w) <= len(b); i++ {
		if string(b[i:i+len(w)]) == w {
			return i
		}
	}
	return -1
}

func hasSuffix(b []byte, w string) bool {
	return len(b) >= len(w) && string(b[len(b)-len(w):]) == w
}

// assignment checks the key c[ks:ke]: if a value is assigned to it and the
// key names a secret, the value is judged. It returns where the search for
// stems resumes: at the first stem inside the value, if any, else after it.
func (st *state) assignment(ks, ke int) int {
	c := st.c
	// Command-line flags (--password=…) and dotted paths keep their names.
	for ks < ke && (c[ks] == '-' || c[ks] == '.') {
		ks++
	}
	if ks == ke {
		return ke
	}
	// The value first: most stems in code and prose are not keys, and
	// parsing what follows is cheaper than classifying the name.
	vs, ve, ok := st.valueAfter(ks, ke)
	if !ok {
		return max(ke, ve)
	}
	// A value that itself says token, secret, pass, … is a name or a
	// reference (token = accessToken2, s3AuthKey = "s3_session_auth",
	// "my-api-token-2024"), not generated: a random 20-byte token holds a
	// given 3-letter stem about once in 2,000 draws. Or it holds another
	// assignment (token=a;password=b), which the search resumes at.
	if q := firstStem(c, vs, ve); q >= 0 {
		return q
	}
	if ve-vs < min(st.s.minLen, 40) {
		return ve
	}
	kind := classifyKey(c[ks:ke])
	if kind == kindNone {
		return ve
	}
	v := c[vs:ve]
	en := &st.s.enabled
	if kind == kindAWSSecret {
		if en[ruleAWSSecretAccessKey] && len(v) == 40 && run(v, 0, cB64) == 40 && bytes.IndexByte(v, '=') < 0 && tokenBody(v) {
			st.add(vs, ve, ruleAWSSecretAccessKey)
			return ve
		}
		kind = kindSecret
	}
	r := ruleHighEntropy
	if kind == kindPassword {
		r = ruleGenericPassword
	}
	if en[r] && st.s.randomValue(v) {
		st.add(vs, ve, r)
	}
	return ve
}

// firstStem returns the offset of the first keyword stem in c[from:to], or
// -1.
func firstStem(c []byte, from, to int) int {
	for i := from; i+1 < to; i++ {
		if bits := stemFirst[c[i]] & stemSecond[c[i+1]]; bits != 0 {
			for k, stem := range keywordStems {
				if bits&(1<<k) != 0 && i+len(stem) <= to && hasFoldAt(c, i, stem) {
					return i
				}
			}
		}
	}
	return -1
}

// valueAfter parses what follows the key c[ks:ke]: an optional closing
// quote, a separator (: = := => or XML's >), and a value on the same line.
// It returns the value's bounds, without quotes; when !ok, ve is still how
// far it read.
func (st *state) valueAfter(ks, ke int) (vs, ve int, ok bool) {
	c := st.c
	p := ke
	if q := c.at(ks - 1); q == '"' || q == '\'' || q == '`' {
		if c.at(p) != q {
			return 0, 0, false
		}
		p++
	}
	p = skipSpace(c, p)
	xml := false
	switch c.at(p) {
	case ':':
		switch c.at(p + 1) {
		case ':':
			return 0, 0, false // Go/C++/Rust path, not a key
		case '=':
			p++
		}
		p++
	case '=':
		switch c.at(p + 1) {
		case '=', '~':
			return 0, 0, false // a comparison
		case '>':
			p++
		}
		p++
	case '>':
		if c.at(ks-1) != '<' {
			return 0, 0, false
		}
		xml = true
		p++
	default:
		return 0, 0, false
	}
	if !xml {
		p = skipSpace(c, p)
	}
	// Authorization: Bearer <token> and friends: judge the credential.
	for _, scheme := range []string{"Bearer ", "Basic ", "Token ", "bearer ", "basic ", "token "} {
		if hasAt(c, p, scheme) {
			p = skipSpace(c, p+len(scheme))
			break
		}
	}
	switch q := c.at(p); {
	case xml:
		e := p
		for e < len(c) && c[e] != '<' && c[e] != '\n' {
			e++
		}
		return p, e, true
	case q == '"' || q == '\'' || q == '`':
		e := closingQuote(c, p)
		if e < 0 {
			return 0, 0, false
		}
		vs, ve = p+1, e
		// A scheme inside the quotes: "Bearer <token>".
		for _, scheme := range []string{"Bearer ", "Basic ", "Token ", "bearer ", "basic ", "token "} {
			if hasAt(c[:ve], vs, scheme) {
				vs = skipSpace(c[:ve], vs+len(scheme))
				break
			}
		}
		return vs, ve, true
	default:
		// Unquoted: up to white space; comments and the trailing , ; of
		// code are not part of it. A run longer than any secret is data.
		// (Connection strings, token=a;password=b, are judged whole: the
		// search for stems resumes after the value, so that no byte is
		// parsed twice.)
		// A query-string parameter (?token=…&…) ends at the next '&', a
		// connection-string field (…;Password=…;…) at the next ';'.
		var sep byte
		switch c.at(ks - 1) {
		case '?', '&':
			sep = '&'
		case ';':
			sep = ';'
		}
		var e int
		if sep == 0 && st.runFrom <= p && p < st.runEnd {
			// Inside the run measured for an earlier key: it ends at the
			// same place, and measuring it again for every stem inside it
			// (token:xtoken:x…) would cost quadratic time.
			e = st.runEnd
		} else {
			e = p
			for e < len(c) && c[e] > ' ' && c[e] != 0x7f && c[e] != sep && !valueStop(c, e) {
				e++
			}
			if sep == 0 {
				st.runFrom, st.runEnd = p, e
			}
		}
		if e-p > maxValueLen {
			return 0, e, false
		}
		if p < e && c[p] == '#' {
			return 0, e, false // a comment: nothing assigned
		}
		// Code, not a literal: a trailing , or ; (Go, JS and C struct
		// fields and statements; config formats do not end values so), an
		// address or dereference (&T{…}, *p), brackets (calls, literals,
		// indexing). Literal secrets in code are quoted.
		if e > p && (c[e-1] == ',' || c[e-1] == ';' || c[p] == '&' || c[p] == '*' ||
			bytes.ContainsAny(c[p:e], "(){}[]")) {
			return 0, e, false
		}
		return p, e, true
	}
}

// valueStop reports whether an unquoted value ends at c[e] although it is
// not white space: at a quote, or at an escape sequence, which mean the
// "assignment" is text inside a string literal (a YAML document in a Go
// string, "password: x\nuser: y"; a regular expression in a test script).
func valueStop(c []byte, e int) bool {
	switch c[e] {
	case '"', '\'', '`':
		return true
	case '\\':
		switch content(c).at(e + 1) {
		case 'n', 'r', 't', '"', '\'':
			return true
		}
	}
	return false
}
