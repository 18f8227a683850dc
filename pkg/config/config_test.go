package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRules(t *testing.T) {
	c, err := Parse([]byte(`
creation_rules:
  - path_regex: \.ini$
    age: " age1aaa , age1bbb,,"
  - path_regex: secrets/.*\.yaml$
    encrypted_regex: ^(data|stringData)$
    pgp: ["AB CD"]
    age:
      - age1ccc
  - key_groups:
      - age: [age1ddd, "age1eee,age1ddd"]
        merge:
          - age: [age1fff]
      - pgp: [FP]
    shamir_threshold: 2
stores:
  yaml:
    indent: 2
  json:
    indent: 0
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CreationRules[0].Age; strings.Join(got, ",") != "age1aaa,age1bbb" {
		t.Errorf("string form: %q", got)
	}
	r := c.CreationRules[1]
	if r.Rules.EncryptedRegex != "^(data|stringData)$" || r.PGP[0] != "ABCD" || r.Age[0] != "age1ccc" {
		t.Errorf("rule 1: %+v", r)
	}
	g := c.CreationRules[2].KeyGroups
	if len(g) != 2 || strings.Join(g[0].Age, ",") != "age1fff,age1ddd,age1eee" || c.CreationRules[2].ShamirThreshold != 2 {
		t.Errorf("key groups: %+v", g)
	}
	if c.Stores.YAMLIndent != 2 || c.Stores.JSONIndent != 0 || c.Stores.JSONBinaryIndent != -1 {
		t.Errorf("stores: %+v", c.Stores)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"creation_rules:\n  - path_regex: '('\n", "path_regex"},
		{"creation_rules:\n  - encrypted_regex: a\n    unencrypted_suffix: b\n", "more than one"},
		{"creation_rules:\n  - age: [1, {a: b}]\n", "list items must be strings"},
		{"stores:\n  yaml:\n    indent: -2\n", "negative"},
		{"creation_rules: [\n", "did not find"},
	} {
		_, err := Parse([]byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error containing %q", c.text, err, c.want)
		}
	}
}

func TestRuleMatching(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("creation_rules:\n  - path_regex: ^prod/\n    age: age1prod\n  - path_regex: \\.yaml$\n    age: age1any\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		filepath.Join(dir, "prod", "a.yaml"): "age1prod",
		filepath.Join(dir, "dev", "a.yaml"):  "age1any",
	} {
		r, err := c.Rule(file)
		if err != nil || r.Age[0] != want {
			t.Errorf("%s: %+v %v, want %s", file, r, err, want)
		}
	}
	if _, err := c.Rule(filepath.Join(dir, "a.json")); err == nil || !strings.Contains(err.Error(), "no matching creation rules") {
		t.Errorf("no match: %v", err)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(root, FileName), []byte{}, 0o644)
	os.WriteFile(filepath.Join(root, "a", ".sops.yml"), []byte{}, 0o644)
	p, ignored, err := Find(sub)
	if err != nil || p != filepath.Join(root, FileName) || len(ignored) != 1 {
		t.Errorf("Find = %q, %q, %v", p, ignored, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("creation_rules:\n  - path_regex: x\n    age: a,b\n    key_groups:\n      - merge: [{age: [c]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(data)
	})
}
