package secretscan

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAllowMarker(t *testing.T) {
	id := "AKIA" + fake(b32, 16, 300)
	pw := fake(alnum, 20, 301)
	runCases(t, mustNew(t, Options{}), []scanCase{
		{"yaml comment", "aws_key: " + id + " # kura:allow test fixture\n", nil},
		{"only that line", "a: " + id + " # kura:allow\nb: " + id + "\n", at("aws-access-key-id", 2, 4)},
		{"go comment", `const fixture = "` + id + `" // kura:allow`, nil},
		{"before the secret", "# kura:allow\npassword: " + pw, at("generic-password", 2, 11)},
		{"generic", "password: " + pw + " # kura:allow", nil},
		{"pem on begin line", strings.Replace(pem("RSA PRIVATE KEY", 302), "-----\n", "----- kura:allow\n", 1), nil},
		{"misspelt", "aws_key: " + id + " # kura-allow\n", h("aws-access-key-id")},
	})
}

func TestAllowPatterns(t *testing.T) {
	id := "AKIA" + fake(b32, 16, 310)
	other := "AKIA" + fake(b32, 16, 311)
	pw := fake(alnum, 20, 312)
	s := mustNew(t, Options{AllowPatterns: []string{"^" + id + "$", `^` + pw[:6]}})
	runCases(t, s, []scanCase{
		{"allowed id", "k: " + id, nil},
		{"other id", "k: " + other, at("aws-access-key-id", 1, 4)},
		{"allowed value", "password: " + pw, nil},
		{"both", "k: " + id + "\nk: " + other + "\n", at("aws-access-key-id", 2, 4)},
	})
	pemAllowed := mustNew(t, Options{AllowPatterns: []string{`-----END OPENSSH PRIVATE KEY-----$`}})
	runCases(t, pemAllowed, []scanCase{{"whole pem block is the match", pem("OPENSSH PRIVATE KEY", 313), nil}})
}

func TestNew(t *testing.T) {
	for _, opts := range []Options{
		{AllowPatterns: []string{"("}},
		{EntropyThreshold: -1},
		{EntropyThreshold: 9},
		{HexEntropyThreshold: 5},
		{MinSecretLength: -1},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
	// IDs of the caller's own checks are not an error.
	if _, err := New(Options{DisabledRules: []string{"must-encrypt", "broken-sops"}}); err != nil {
		t.Errorf("foreign rule IDs: %v", err)
	}
	var all []string
	for _, r := range Rules() {
		all = append(all, r.ID)
	}
	s := mustNew(t, Options{DisabledRules: all})
	in := "aws_key: AKIA" + fake(b32, 16, 320) + "\npassword: " + fake(alnum, 20, 321) + "\n" + pem("EC PRIVATE KEY", 322)
	if got := s.Scan([]byte(in)); got != nil {
		t.Fatalf("every rule disabled: %v", got)
	}
}

func TestRules(t *testing.T) {
	rules := Rules()
	if len(rules) != int(numRules) {
		t.Fatalf("%d rules, want %d", len(rules), numRules)
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if r.ID == "" || r.Description == "" || seen[r.ID] || strings.ToLower(r.ID) != r.ID {
			t.Errorf("bad or duplicate rule %+v", r)
		}
		seen[r.ID] = true
		// The package comment documents every rule.
		doc, err := os.ReadFile("doc.go")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(doc), r.ID+":") && !strings.Contains(string(doc), "  - "+r.ID) {
			t.Errorf("rule %s is not documented in doc.go", r.ID)
		}
	}
	rules[0].ID = "changed"
	if Rules()[0].ID == "changed" {
		t.Error("Rules returns shared state")
	}
}

// TestFindingHoldsNoSecret checks, over every kind of finding, that nothing
// in a Finding (nor its printed form) carries a piece of the secret.
func TestFindingHoldsNoSecret(t *testing.T) {
	secrets := []string{
		pem("RSA PRIVATE KEY", 330),
		"AGE-SECRET-KEY-1" + fake(bech32U, 58, 331),
		"AKIA" + fake(b32, 16, 332),
		"aws_secret_access_key = " + fake(b64, 40, 333),
		"ghp_" + fake(alnum, 36, 334),
		"glpat-" + fake(b64url, 20, 335),
		"xoxb-" + fake(digits, 12, 336) + "-" + fake(alnum, 24, 337),
		"sk_" + "live_" + fake(alnum, 24, 338),
		"AIza" + fake(b64url, 35, 339),
		jwtOf(340),
		"password: " + fake(alnum, 20, 341),
		"token: " + fake(b64, 32, 342),
	}
	s := mustNew(t, Options{})
	for _, in := range secrets {
		got := s.Scan([]byte(in))
		if len(got) != 1 {
			t.Fatalf("Scan(%q) = %v, want one finding", in, got)
		}
		printed := fmt.Sprintf("%v %+v %#v", got[0], got[0], got[0])
		// Any 8 consecutive bytes of the input's last line would be a leak.
		fields := strings.Fields(in)
		secret := fields[len(fields)-1]
		if strings.HasPrefix(in, "-----BEGIN") {
			secret = strings.Split(in, "\n")[1]
		}
		for i := 0; i+8 <= len(secret); i++ {
			if strings.Contains(printed, secret[i:i+8]) {
				t.Fatalf("finding %s contains %q of the secret", printed, secret[i:i+8])
			}
		}
	}
}

func TestSopsCiphertextNeverFires(t *testing.T) {
	// Ciphertext whose base64 holds token-shaped text, as it may by chance.
	shapes := []string{
		"AKIA" + fake(b32, 16, 350),
		"ghp_" + fake(alnum, 36, 351),
		"AIza" + fake(b64url, 35, 352),
		jwtOf(353),
		"glpat-" + fake(b64url, 20, 354),
	}
	s := mustNew(t, Options{})
	for _, sh := range shapes {
		for _, in := range []string{
			"password: ENC[AES256_GCM,data:" + sh + "=,iv:" + fake(b64, 43, 355) + "=,tag:" + fake(b64, 22, 356) + "==,type:str]\n",
			`{"token": "ENC[AES256_GCM,data:` + fake(b64, 12, 357) + "/" + sh + `,iv:x,tag:y,type:str]"}`,
			"API_KEY=ENC[AES256_GCM,data:" + sh + ",iv:a,tag:b,type:str]",
		} {
			if got := s.Scan([]byte(in)); got != nil {
				t.Errorf("Scan(%q) = %v", in, got)
			}
		}
	}
	// Outside the ciphertext the same shape is still found.
	in := "a: ENC[AES256_GCM,data:" + fake(b64, 20, 358) + ",type:str]\nb: " + shapes[0] + "\n"
	if got := s.Scan([]byte(in)); !matches(got, at("aws-access-key-id", 2, 4)) {
		t.Errorf("Scan(%q) = %v", in, got)
	}
}

func TestPreciseRuleWins(t *testing.T) {
	s := mustNew(t, Options{})
	runCases(t, s, []scanCase{
		{"github token in token key", "GITHUB_TOKEN=ghp_" + fake(alnum, 36, 360), at("github-token", 1, 14)},
		{"jwt in auth header", "Authorization: Bearer " + jwtOf(361), at("jwt", 1, 23)},
		{"google key as apiKey", `apiKey: "AIza` + fake(b64url, 35, 362) + `"`, at("google-api-key", 1, 10)},
	})
	noGH := mustNew(t, Options{DisabledRules: []string{"github-token"}})
	runCases(t, noGH, []scanCase{{"github disabled", "GITHUB_TOKEN=ghp_" + fake(alnum, 36, 360), at("high-entropy", 1, 14)}})
}

func TestBinaryAndEmpty(t *testing.T) {
	s := mustNew(t, Options{})
	id := "AKIA" + fake(b32, 16, 370)
	if got := s.Scan(nil); got != nil {
		t.Errorf("nil: %v", got)
	}
	if got := s.Scan([]byte("\x00\x01" + id)); got != nil {
		t.Errorf("binary: %v", got)
	}
	// A NUL past the sniffed prefix does not make the content binary.
	late := strings.Repeat("a\n", binarySniff) + "\x00\n" + id
	if got := s.Scan([]byte(late)); !matches(got, at("aws-access-key-id", binarySniff+2, 1)) {
		t.Errorf("late NUL: %v", got)
	}
}

func TestLineAndColumn(t *testing.T) {
	s := mustNew(t, Options{})
	id := "AKIA" + fake(b32, 16, 380)
	// Hits at assorted offsets, far into a large file, and stems at the
	// very end of the content.
	const foldChunk = 16 << 10
	for _, off := range []int{0, 1, foldChunk - 20, foldChunk - 3, foldChunk, foldChunk + 5, 3*foldChunk + 7} {
		pad := strings.Repeat("x", off%97) + "\n"
		for len(pad) < off {
			pad += strings.Repeat("y", 50) + "\n"
		}
		pad = pad[:off]
		if off > 0 {
			pad = pad[:off-1] + "\n"
		}
		line := strings.Count(pad, "\n") + 1
		in := pad + "key: " + id + "\npassword: " + fake(alnum, 20, 381) + "\n"
		want := []hit{{"aws-access-key-id", line, 6}, {"generic-password", line + 1, 11}}
		if got := s.Scan([]byte(in)); !matches(got, want) {
			t.Errorf("offset %d: %v, want %v", off, got, want)
		}
	}
	for d := 1; d < len("credential"); d++ {
		in := strings.Repeat("z", foldChunk-d) + " credential: " + fake(b64, 24, 382)
		if got := s.Scan([]byte(in)); !matches(got, at("high-entropy", 1, foldChunk-d+14)) {
			t.Errorf("offset %d: %v", foldChunk-d, got)
		}
		if got := s.Scan([]byte("x: 1\ncredential"[:5+d])); got != nil {
			t.Errorf("truncated stem: %v", got)
		}
	}
}

// TestOwnSourceIsClean scans this package's files: the rules and their tests
// must not trip `kura scan` on this repository.
func TestOwnSourceIsClean(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	s := mustNew(t, Options{})
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Scan(b); got != nil {
			t.Errorf("%s: %v", f, got)
		}
	}
}

func TestConcurrentScans(t *testing.T) {
	s := mustNew(t, Options{AllowPatterns: []string{"^never$"}})
	in := []byte(typicalYAML() + "password: " + fake(alnum, 20, 390) + "\n" + "ghp_" + fake(alnum, 36, 391) + "\n")
	want := s.Scan(in)
	if len(want) != 2 {
		t.Fatalf("want 2 findings, got %v", want)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got := s.Scan(in); !slices.Equal(got, want) {
					t.Errorf("concurrent Scan = %v, want %v", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzScan(f *testing.F) {
	f.Add([]byte(typicalYAML()))
	f.Add([]byte(pem("RSA PRIVATE KEY", 400)))
	f.Add([]byte("password: " + fake(alnum, 20, 401) + " # kura:allow\ntoken: " + fake(b64, 30, 402)))
	f.Add([]byte(`{"type":"service_account","private_key":"` + strings.ReplaceAll(pem("PRIVATE KEY", 403), "\n", `\n`) + `"}`))
	f.Add([]byte("AKIA" + fake(b32, 16, 404) + " AIza" + fake(b64url, 35, 405) + " " + jwtOf(406)))
	f.Add([]byte("a: ENC[AES256_GCM,data:AKIA" + fake(b32, 16, 407) + ",type:str]\nxoxb-" + fake(digits, 10, 408) + "-" + fake(alnum, 20, 409)))
	f.Add([]byte("AGE-SECRET-KEY-1" + fake(bech32U, 58, 410) + "\r\nsk_" + "live_" + fake(alnum, 30, 411)))
	s := mustNew(f, Options{AllowPatterns: []string{"Q{3}"}})
	f.Fuzz(func(t *testing.T, in []byte) {
		got := s.Scan(in)
		checkFindings(t, string(in), got)
		if again := s.Scan(in); !slices.Equal(got, again) {
			t.Fatalf("Scan is not deterministic: %v then %v", got, again)
		}
	})
}

// TestPathologicalInputsAreLinear feeds inputs built to make a careless
// scanner quadratic (runs restarting inside runs, values rescanned for each
// stem inside them, many findings on one line); each must scan about as
// fast as clean content.
func TestPathologicalInputsAreLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	const size = 256 << 10
	rep := func(unit string) []byte {
		return []byte(strings.Repeat(unit, size/len(unit)+1)[:size])
	}
	inputs := map[string][]byte{
		"slack":         rep("xoxb-"),
		"gitlab":        rep("glpat-"),
		"google":        rep("AIza-"),
		"github pat":    rep("github_pat_"),
		"gh":            rep("ghp_"),
		"unquoted":      rep("token:x"),
		"quoted":        rep(`"token":"`),
		"keys":          rep("password"),
		"stems":         rep("pAsSwOrDsEcReTtOkEnKeYaUtHcReDeNtIaLpWd"),
		"capital A":     rep("A"),
		"aws one line":  rep("AKIA" + fake(b32, 16, 500) + " "),
		"pem no end":    rep("-----BEGIN RSA PRIVATE KEY-----\n" + fake(b64, 64, 501) + "\n"),
		"private keys":  rep("PRIVATE KEY"),
		"jwt":           rep("eyJ" + fake(b64url, 20, 502) + "."),
		"gcp":           []byte(`{"type":"service_account",` + strings.Repeat(`"private_key":"`, size/15)),
		"sops":          rep("ENC[AES256_GCM,data:AKIA" + fake(b32, 16, 503) + ","),
		"allow markers": rep("kura:allow AKIA" + fake(b32, 16, 504) + " "),
		"xml":           rep("<password>"),
	}
	s := mustNew(t, Options{AllowPatterns: []string{"^x$"}})
	clean := mixedCorpus(size)
	base := measure(func() { s.Scan(clean) })
	for name, in := range inputs {
		d := measure(func() { s.Scan(in) })
		// Linear inputs cost a small multiple of clean content; quadratic
		// ones cost thousands of times more at this size.
		if d > 50*base+20*time.Millisecond {
			t.Errorf("%s: %v for %d bytes (clean content: %v)", name, d, size, base)
		}
	}
}

// measure returns the fastest of three runs of f.
func measure(f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}
