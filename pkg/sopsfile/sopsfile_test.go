package sopsfile

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/rules"
)

// fixedKey is a test key source: it "wraps" by prefixing a marker, so the
// tests exercise the whole path without an age identity.
type fixedKey struct{ id string }

func (k fixedKey) Wrap(p []byte) (keys.Stanza, error) {
	return keys.Stanza{Type: keys.Age, Recipient: k.id, Enc: k.id + ":" + string(p)}, nil
}
func (k fixedKey) Identity() string { return k.id }
func (k fixedKey) Type() keys.Type  { return keys.Age }

type fixedUnwrapper struct{ ids map[string]bool }

func (u fixedUnwrapper) Unwrap(s *keys.Stanza) ([]byte, error) {
	if !u.ids[s.Recipient] {
		return nil, keys.ErrNoIdentity
	}
	return []byte(strings.TrimPrefix(s.Enc, s.Recipient+":")), nil
}

func encryptYAML(t *testing.T, text string, r rules.Config) (*File, []byte) {
	t.Helper()
	docs, err := yaml.Store{}.LoadPlain([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}}, Rules: r})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Emit(yaml.Store{})
	if err != nil {
		t.Fatal(err)
	}
	return f, out
}

func decryptYAML(t *testing.T, data []byte, ignoreMAC bool) (string, error) {
	t.Helper()
	f, err := Load(data, yaml.Store{}, false)
	if err != nil {
		return "", err
	}
	err = f.Decrypt(DecryptOptions{Sources: map[keys.Type]keys.Unwrapper{keys.Age: fixedUnwrapper{map[string]bool{"k1": true}}}, IgnoreMAC: ignoreMAC})
	if err != nil {
		return "", err
	}
	out, err := yaml.Store{}.EmitPlain(f.Docs)
	return string(out), err
}

// TestCommentRegexExample is the example of the spec's section 3.3,
// checked there against sops 3.13.2: which items each comment selector
// encrypts.
func TestCommentRegexExample(t *testing.T) {
	const input = `# sops:enc
a: 1
# normal comment
b: 2
c: 3 # sops:enc
d:
  # sops:enc
  e: 4
  f: 5
g:
  h: 6
`
	for _, c := range []struct {
		name      string
		r         rules.Config
		encrypted []string // keys whose values are encrypted
		clear     []string
	}{
		{"encrypted_comment_regex", rules.Config{EncryptedCommentRegex: "sops:enc"}, []string{"a", "c", "e"}, []string{"b", "f", "h", "normal comment"}},
		{"unencrypted_comment_regex", rules.Config{UnencryptedCommentRegex: "sops:enc"}, []string{"b", "f", "h"}, []string{"a", "c", "e"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, out := encryptYAML(t, input, c.r)
			text := string(out)
			if n := strings.Count(text, "#sops:enc") + strings.Count(text, "# sops:enc"); n != 3 {
				t.Errorf("the three marker comments should stay readable, found %d:\n%s", n, text)
			}
			isEnc := func(k string) bool {
				return regexp.MustCompile(`(?m)^\s*` + k + `: ENC\[`).MatchString(text)
			}
			for _, k := range c.encrypted {
				if !isEnc(k) {
					t.Errorf("%s should be encrypted:\n%s", k, text)
				}
			}
			for _, k := range c.clear {
				if isEnc(k) {
					t.Errorf("%s should be clear:\n%s", k, text)
				}
			}
			if c.name == "encrypted_comment_regex" && !strings.Contains(text, "# normal comment") {
				t.Errorf("the normal comment should stay clear:\n%s", text)
			}
			if c.name == "unencrypted_comment_regex" && strings.Contains(text, "normal comment") {
				t.Errorf("the normal comment should be encrypted:\n%s", text)
			}
			if _, err := decryptYAML(t, out, false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRoundTripAndTamper(t *testing.T) {
	const input = "# top\nname: alice\nport: 8080\nlist:\n  - a\n  - b\nclear_unencrypted: visible\n"
	_, out := encryptYAML(t, input, rules.Config{})
	got, err := decryptYAML(t, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := "# top\nname: alice\nport: 8080\nlist:\n    - a\n    - b\nclear_unencrypted: visible\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// A changed clear value breaks the MAC, which --ignore-mac skips.
	tampered := []byte(strings.Replace(string(out), "visible", "changed", 1))
	if _, err := decryptYAML(t, tampered, false); CodeOf(err) != CodeMACMismatch {
		t.Errorf("changed clear value: %v, want a MAC mismatch", err)
	}
	if _, err := decryptYAML(t, tampered, true); err != nil {
		t.Errorf("--ignore-mac: %v", err)
	}
	// Swapped list items decrypt (same key path) but fail the MAC.
	lines := strings.Split(string(out), "\n")
	var items []int
	for i, l := range lines {
		if strings.HasPrefix(l, "    - ENC[") {
			items = append(items, i)
		}
	}
	lines[items[0]], lines[items[1]] = lines[items[1]], lines[items[0]]
	if _, err := decryptYAML(t, []byte(strings.Join(lines, "\n")), false); CodeOf(err) != CodeMACMismatch {
		t.Errorf("swapped list items: %v, want a MAC mismatch", err)
	}
	// A value moved to another key does not decrypt, and the error names
	// the key path but not the value.
	moved := strings.Replace(string(out), "name: ENC", "nome: ENC", 1)
	_, err = decryptYAML(t, []byte(moved), false)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeErrorDecryptingTree || e.Path != `["nome"]` || strings.Contains(err.Error(), "alice") {
		t.Errorf("moved value: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	_, out := encryptYAML(t, "a: b\n", rules.Config{})
	f, err := Load(out, yaml.Store{}, false)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Decrypt(DecryptOptions{Sources: map[keys.Type]keys.Unwrapper{keys.Age: fixedUnwrapper{}}})
	if CodeOf(err) != CodeCouldNotRetrieveKey {
		t.Errorf("got %v, want code 128", err)
	}
}

func TestMACOnlyEncrypted(t *testing.T) {
	r := rules.Config{EncryptedRegex: "^secret", MACOnlyEncrypted: true}
	_, out := encryptYAML(t, "secret: s\nplain: p\n", r)
	tampered := strings.Replace(string(out), "plain: p", "plain: q", 1)
	if _, err := decryptYAML(t, []byte(tampered), false); err != nil {
		t.Errorf("clear values are outside the MAC with mac_only_encrypted: %v", err)
	}
}

func TestNonStringKeyAndBigInt(t *testing.T) {
	for _, text := range []string{"123: x\n", "big: 18446744073709551615\n"} {
		docs, err := yaml.Store{}.LoadPlain([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}}})
		if CodeOf(err) != CodeErrorEncryptingTree {
			t.Errorf("%q: %v, want code 23", text, err)
		}
	}
}

func TestShamirGroups(t *testing.T) {
	docs, _ := yaml.Store{}.LoadPlain([]byte("a: b\n"))
	f, err := Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}, {fixedKey{"k2"}}, {fixedKey{"k3"}}}, ShamirThreshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := f.Emit(yaml.Store{})
	for _, c := range []struct {
		ids  map[string]bool
		code Code
	}{
		{map[string]bool{"k1": true, "k3": true}, 0},
		{map[string]bool{"k2": true}, CodeCouldNotRetrieveKey},
	} {
		g, _ := Load(out, yaml.Store{}, false)
		err := g.Decrypt(DecryptOptions{Sources: map[keys.Type]keys.Unwrapper{keys.Age: fixedUnwrapper{c.ids}}})
		if (c.code == 0 && err != nil) || (c.code != 0 && CodeOf(err) != c.code) {
			t.Errorf("%v: %v", c.ids, err)
		}
	}
	if _, err := Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}, {fixedKey{"k2"}}}, ShamirThreshold: 1}); err == nil {
		t.Error("threshold 1 with two groups was accepted")
	}
}

func TestVersionCheck(t *testing.T) {
	for v, ok := range map[string]bool{"3.13.2": true, "v3.7.1": true, "1.14": true, "3.13": false, "": false, "three": false, "3.1.2-rc1": true} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}

// FuzzDecryptMutated flips bytes of an encrypted file: decryption must
// fail cleanly or succeed, never panic.
func FuzzDecryptMutated(f *testing.F) {
	docs, _ := yaml.Store{}.LoadPlain([]byte("# c\na: b\nn: 1\nl: [x, {y: z}]\n"))
	file, err := Encrypt(docs, EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{"k1"}}}})
	if err != nil {
		f.Fatal(err)
	}
	out, _ := file.Emit(yaml.Store{})
	f.Add(out, 0, byte(0))
	f.Fuzz(func(t *testing.T, data []byte, pos int, b byte) {
		if len(data) > 0 {
			if pos < 0 {
				pos = -pos
			}
			data = append([]byte(nil), data...)
			data[pos%len(data)] ^= b
		}
		decryptYAML(t, data, false)
	})
}
