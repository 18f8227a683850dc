package secretscan

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Alphabets of the fabricated secrets. Every secret in these tests is built
// at run time (fake, pem, jwtOf), so that the test files hold none and the
// repository's own `kura scan` stays quiet.
const (
	upper   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerAZ = "abcdefghijklmnopqrstuvwxyz"
	digits  = "0123456789"
	alnum   = upper + lowerAZ + digits
	b64     = alnum + "+/"
	b64url  = alnum + "-_"
	hexLow  = "0123456789abcdef"
	b32     = upper + "234567"
	bech32U = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
)

// fake returns n pseudo-random bytes of alphabet, the same for the same
// seed. It retries until the result has a digit and a letter (when the
// alphabet has both) and none of the placeholder words, as a real token
// would, and no keyword stem, so that a test never depends on a lucky
// draw.
func fake(alphabet string, n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 0x6b757261))
	hasBoth := strings.ContainsAny(alphabet, digits) && strings.ContainsAny(alphabet, upper+lowerAZ)
	for {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if hasPlaceholderWord(b) || slices.ContainsFunc(keywordStems[:], func(w string) bool { return containsFold(b, w) }) {
			continue
		}
		if hasBoth && (!strings.ContainsAny(string(b), digits) || !strings.ContainsAny(string(b), upper+lowerAZ)) {
			continue
		}
		return string(b)
	}
}

// pem returns a fabricated PEM block of the given type ("RSA PRIVATE KEY").
func pem(typ string, seed uint64) string {
	body := fake(b64, 64*3, seed)
	return "-----BEGIN " + typ + "-----\n" + body[:64] + "\n" + body[64:128] + "\n" + body[128:] + "\n-----END " + typ + "-----\n"
}

// jwtOf returns a fabricated signed JWT.
func jwtOf(seed uint64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(`{"sub":"1234567890","name":"kura","iat":1516239022}`)) + "." +
		fake(b64url, 43, seed)
}

// hit is an expected finding; line and column 0 mean "don't check".
type hit struct {
	rule         string
	line, column int
}

type scanCase struct {
	name string
	in   string
	want []hit
}

func h(rule string) []hit                 { return []hit{{rule: rule}} }
func at(rule string, line, col int) []hit { return []hit{{rule, line, col}} }

func mustNew(t testing.TB, opts Options) *Scanner {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func runCases(t *testing.T, s *Scanner, cases []scanCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.Scan([]byte(c.in))
			if !matches(got, c.want) {
				t.Errorf("Scan(%q)\n got %v\nwant %v", c.in, got, c.want)
			}
			checkFindings(t, c.in, got)
		})
	}
}

func matches(got []Finding, want []hit) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		g := got[i]
		if g.Rule != w.rule || (w.line != 0 && g.Line != w.line) || (w.column != 0 && g.Column != w.column) {
			return false
		}
	}
	return true
}

// checkFindings checks what must hold of any result: positions inside the
// content, order, known rules, and no secret text in a Finding.
func checkFindings(t testing.TB, in string, got []Finding) {
	t.Helper()
	lines := strings.Split(in, "\n")
	rules := map[string]string{}
	for _, r := range Rules() {
		rules[r.ID] = r.Description
	}
	for i, f := range got {
		if f.Line < 1 || f.Line > len(lines) {
			t.Fatalf("finding %v: line outside 1..%d", f, len(lines))
		}
		if f.Column < 1 || f.Column > len(lines[f.Line-1]) {
			t.Fatalf("finding %v: column outside 1..%d", f, len(lines[f.Line-1]))
		}
		if desc, ok := rules[f.Rule]; !ok || desc != f.Description {
			t.Fatalf("finding %v: unknown rule or wrong description", f)
		}
		if strings.Contains(lines[f.Line-1], allowMarker) {
			t.Fatalf("finding %v on a line with %s", f, allowMarker)
		}
		if i > 0 {
			p := got[i-1]
			if p.Line > f.Line || (p.Line == f.Line && p.Column >= f.Column) {
				t.Fatalf("findings out of order: %v before %v", p, f)
			}
		}
	}
}

func TestFakeIsDeterministic(t *testing.T) {
	a, b, c := fake(b64, 40, 7), fake(b64, 40, 7), fake(b64, 40, 8)
	if a != b || a == c {
		t.Fatal("fake is not a deterministic function of its seed")
	}
}

func (h hit) String() string { return fmt.Sprintf("%s@%d:%d", h.rule, h.line, h.column) }
