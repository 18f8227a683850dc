package secretscan

import "bytes"

// The detectors of the rules with a fixed shape. Each searches for a
// literal anchor and checks the precise shape only there.

// privateKeys finds -----BEGIN … PRIVATE KEY----- headers followed by a key
// body. A header without a body is how code and docs mention keys, and the
// body is what would leak, so the body is required.
func (st *state) privateKeys() {
	c := st.c
	nextEnd := -1 // offset of the next "-----END " at or after the last header; len(c) if none
	for i := 0; i < len(c); {
		k := bytes.Index(c[i:], []byte("PRIVATE KEY"))
		if k < 0 {
			return
		}
		i += k
		p := i
		i += len("PRIVATE KEY")
		// Between BEGIN and PRIVATE KEY: the key type (RSA, EC, DSA, OPENSSH,
		// ENCRYPTED, PGP, …), upper-case words of bounded length.
		j := p
		for j > 0 && p-j <= 24 && (class[c[j-1]]&(cUpper|cDigit) != 0 || c[j-1] == ' ') {
			j--
		}
		b := bytes.LastIndex(c[j:p], []byte("BEGIN "))
		if b < 0 {
			continue
		}
		start := j + b - 5
		if !hasAt(c, start, "-----") {
			continue
		}
		e := i
		if hasAt(c, e, " BLOCK") {
			e += len(" BLOCK")
		}
		if !hasAt(c, e, "-----") {
			continue
		}
		e += 5
		if !keyBody(c, e) {
			continue
		}
		// The match runs to the END line, when there is one nearby: that is
		// the text an allow pattern sees. The next END is remembered, so
		// many headers without one cost one search, not one each.
		if nextEnd < e {
			nextEnd = len(c)
			if k := bytes.Index(c[e:], []byte("-----END ")); k >= 0 {
				nextEnd = e + k
			}
		}
		end := e
		if nextEnd < len(c) && nextEnd-e <= 64<<10 && !bytes.Contains(c[e:nextEnd], []byte("-----BEGIN ")) {
			end = nextEnd + len("-----END ")
			if l := bytes.Index(c[end:min(len(c), end+64)], []byte("-----")); l >= 0 {
				end += l + 5
			}
		}
		st.add(start, end, rulePrivateKey)
		i = end
	}
}

// keyBody reports whether a key body follows a PEM header ending at e: a
// long base64 run soon after it. PGP armour and legacy encrypted PEM put a
// few header lines first; JSON writes the newlines as \n, which only
// lengthens the run.
func keyBody(c []byte, e int) bool {
	limit := min(len(c), e+320)
	for k := e; k < limit; {
		if class[c[k]]&cB64 == 0 {
			k++
			continue
		}
		r := run(c[:limit], k, cB64)
		if r-k >= 40 {
			return true
		}
		k = r
	}
	return false
}

// awsPrefixes are the four-letter prefixes of AWS access key IDs (user,
// temporary, group, role, … keys).
var awsPrefixes = [...]string{"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"}

// capitalA handles every rule whose token starts with 'A' in one IndexByte
// pass: AWS key IDs, Google API keys and age identities.
func (st *state) capitalA() {
	c := st.c
	en := &st.s.enabled
	for i := 0; i < len(c); {
		j := bytes.IndexByte(c[i:], 'A')
		if j < 0 {
			return
		}
		i += j
		p := i
		i++
		// The boundary excludes '-' and '_' too: AIza keys run over them, and
		// a run must never start inside another run, or AIza-AIza-… would
		// cost quadratic time.
		if is(c, p-1, cB64URL) || p+4 > len(c) {
			continue
		}
		switch c[p+1] {
		case 'I':
			if en[ruleGoogleAPIKey] && c[p+2] == 'z' && c[p+3] == 'a' {
				e := run(c, p+4, cB64URL)
				if e-p == 4+35 && tokenBody(c[p+4:e]) {
					st.add(p, e, ruleGoogleAPIKey)
					i = e
					continue
				}
			}
		case 'G':
			if en[ruleAgeSecretKey] && hasAt(c, p, "AGE-SECRET-KEY-") {
				b := p + len("AGE-SECRET-KEY-")
				if hasAt(c, b, "PQ-") {
					b += 3
				}
				if !hasAt(c, b, "1") {
					continue
				}
				e := run(c, b+1, cBech32)
				if e-b-1 == 58 && !is(c, e, cAlnum) && tokenBody(c[b+1:e]) {
					st.add(p, e, ruleAgeSecretKey)
					i = e
				}
				continue
			}
		}
		if !en[ruleAWSAccessKeyID] {
			continue
		}
		for _, pre := range awsPrefixes {
			if string(c[p:p+4]) != pre {
				continue
			}
			e := run(c, p+4, cB32)
			if e-p == 20 && !is(c, e, cAlnum) && tokenBody(c[p+4:e]) {
				st.add(p, e, ruleAWSAccessKeyID)
				i = e
			}
			break
		}
	}
}

// gitHub finds classic (ghp_, gho_, ghu_, ghs_, ghr_) and fine-grained
// (github_pat_) GitHub tokens.
func (st *state) gitHub() {
	c := st.c
	eachIndex(c, "gh", func(p int) {
		if p+4 > len(c) || is(c, p-1, cAlnum) || c[p+3] != '_' {
			return
		}
		switch c[p+2] {
		case 'p', 'o', 'u', 's', 'r':
		default:
			return
		}
		e := run(c, p+4, cAlnum)
		if e-p-4 >= 36 && c.at(e) != '_' && tokenBody(c[p+4:e]) {
			st.add(p, e, ruleGitHubToken)
		}
	})
	eachIndex(c, "github_pat_", func(p int) {
		if is(c, p-1, cAlnum|cDashUS) {
			return
		}
		b := p + len("github_pat_")
		e := b
		for e < len(c) && (class[c[e]]&cAlnum != 0 || c[e] == '_') {
			e++
		}
		if e-b < 82 {
			return
		}
		if tokenBody(c[b:e]) {
			st.add(p, e, ruleGitHubToken)
		}
	})
}

// gitLab finds GitLab personal access tokens.
func (st *state) gitLab() {
	c := st.c
	eachIndex(c, "glpat-", func(p int) {
		if is(c, p-1, cB64URL) {
			return
		}
		b := p + len("glpat-")
		e := run(c, b, cB64URL)
		if e-b >= 20 && tokenBody(c[b:e]) {
			st.add(p, e, ruleGitLabToken)
		}
	})
}

// slack finds Slack API tokens and incoming-webhook URLs.
func (st *state) slack() {
	c := st.c
	eachIndex(c, "xox", func(p int) {
		if p+5 > len(c) || is(c, p-1, cAlnum|cDashUS) || c[p+4] != '-' {
			return
		}
		switch c[p+3] {
		case 'b', 'p', 'a', 'r', 's':
		default:
			return
		}
		b := p + 5
		e := run(c, b, cAlnum|cDashUS)
		if e-b >= 20 && bytes.IndexByte(c[b:e], '-') >= 0 && hasDigit(c[b:e]) && tokenBody(c[b:e]) {
			st.add(p, e, ruleSlackToken)
		}
	})
	const hook = "hooks.slack.com/services/"
	eachIndex(c, hook, func(p int) {
		// T<team>/B<bot>/<secret>: the secret part is what matters, and the
		// documentation's TXXXXXXXX/BXXXXXXXX/XXXX… must not match.
		k := p + len(hook)
		for _, lead := range []byte{'T', 'B'} {
			if c.at(k) != lead {
				return
			}
			e := run(c, k+1, cUpper|cDigit)
			if e-k-1 < 6 || c.at(e) != '/' {
				return
			}
			k = e + 1
		}
		e := run(c, k, cAlnum)
		if e-k >= 20 && tokenBody(c[k:e]) {
			st.add(p, e, ruleSlackToken)
		}
	})
}

// stripe finds live secret (sk_live_) and restricted (rk_live_) keys; test
// keys (sk_test_) unlock nothing real and are left alone.
func (st *state) stripe() {
	c := st.c
	eachIndex(c, "k_live_", func(i int) {
		p := i - 1
		if p < 0 || (c[p] != 's' && c[p] != 'r') || is(c, p-1, cAlnum) {
			return
		}
		b := i + len("k_live_")
		e := run(c, b, cAlnum)
		if e-b >= 24 && tokenBody(c[b:e]) {
			st.add(p, e, ruleStripeKey)
		}
	})
}

// gcpServiceAccount reports a service account key file: JSON with "type":
// "service_account" and a non-empty "private_key". The finding is at the
// private_key line since that is what to remove.
func (st *state) gcpServiceAccount() {
	c := st.c
	found := false
	eachIndex(c, `"service_account"`, func(i int) {
		if found {
			return
		}
		j := skipSpaceBack(c, i)
		if j == 0 || c[j-1] != ':' {
			return
		}
		j = skipSpaceBack(c, j-1)
		if !hasAt(c, j-len(`"type"`), `"type"`) {
			return
		}
		found = true
	})
	if !found {
		return
	}
	eachIndex(c, `"private_key"`, func(p int) {
		k := skipSpace(c, p+len(`"private_key"`))
		if c.at(k) != ':' {
			return
		}
		k = skipSpace(c, k+1)
		if c.at(k) != '"' {
			return
		}
		e := closingQuote(c, k)
		if e < 0 {
			return
		}
		if v := c[k+1 : e]; len(v) >= 64 && !bytes.Contains(v, []byte("ENC[")) {
			st.add(p, e+1, ruleGCPServiceAccount)
		}
	})
}

// jwt finds JSON Web Tokens: base64url header (a JSON object, hence eyJ),
// payload and signature. Unsigned tokens (empty signature) are not
// credentials anyone would accept and are left alone.
func (st *state) jwt() {
	c := st.c
	// Anchored on the rare upper-case J of eyJ: bytes.Index("eyJ") would
	// stop at every 'e', the commonest letter.
	for i := 0; i < len(c); {
		j := bytes.IndexByte(c[i:], 'J')
		if j < 0 {
			return
		}
		p := i + j - 2
		i += j + 1
		if !hasAt(c, p, "eyJ") || is(c, p-1, cB64URL) {
			continue
		}
		e1 := run(c, p, cB64URL)
		if e1-p < 15 || c.at(e1) != '.' {
			continue
		}
		e2 := run(c, e1+1, cB64URL)
		if e2-e1-1 < 10 || c.at(e2) != '.' {
			continue
		}
		e3 := run(c, e2+1, cB64URL)
		if e3-e2-1 < 16 || c.at(e3) == '.' {
			continue
		}
		st.add(p, e3, ruleJWT)
		i = e3
	}
}
