package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// Valid key strings for the cloud key types, which are checked by syntax.
const (
	kmsARN   = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	kmsAlias = "arn:aws:kms:eu-west-1:111122223333:alias/sops"
	roleARN  = "arn:aws:iam::111122223333:role/sops"
	gcpID    = "projects/p/locations/global/keyRings/r/cryptoKeys/k"
	azureURL = "https://v.vault.azure.net/keys/k/0123"
	vaultURI = "https://vault.example.com:8200/v1/transit/keys/k"
	hckmsID  = "ap-southeast-1:0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c01"
)

// TestRefused: every file is refused, and the message names the line and
// the field.
func TestRefused(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		// Unknown fields, at every level, with a suggestion when one is near.
		{"top-level field", "creation_rule:\n  - age: x\n",
			`line 1: unknown field "creation_rule" (did you mean "creation_rules"?)`},
		{"top-level rule field", "path_regex: x\n",
			`line 1: unknown field "path_regex" (path_regex belongs in a creation rule, under creation_rules)`},
		{"top-level anchors near a known name", "stores: {}\nstore:\n  - &a age1x\n",
			`line 2: unknown field "store" (did you mean "stores"?)`},
		{"rule field", "creation_rules:\n  - path_regex: x\n    agee: y\n",
			`line 3: creation_rules[0]: unknown field "agee" (did you mean "age"?)`},
		{"rule field, far", "creation_rules:\n  - colour: blue\n",
			`line 2: creation_rules[0]: unknown field "colour"`},
		{"filename_regex", "creation_rules:\n  - filename_regex: x\n",
			`line 2: creation_rules[0]: unknown field "filename_regex" (sops 3.13.2 has no filename_regex; path_regex matches the path relative to .sops.yaml)`},
		{"hc_vault in a rule", "creation_rules:\n  - hc_vault: [x]\n",
			`line 2: creation_rules[0]: unknown field "hc_vault" (a creation rule takes hc_vault_transit_uri; hc_vault is for key groups)`},
		{"key group field", "creation_rules:\n  - path_regex: a\n    age: age1x\n  - path_regex: b\n    key_groups:\n      - age: [age1x]\n      - agee: [age1y]\n",
			`line 7: creation_rules[1].key_groups[1]: unknown field "agee" (did you mean "age"?)`},
		{"merged group field", "creation_rules:\n  - key_groups:\n      - merge:\n          - pgpp: [FP]\n",
			`line 4: creation_rules[0].key_groups[0].merge[0]: unknown field "pgpp" (did you mean "pgp"?)`},
		{"kms entry field", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "\n            contxt: {a: b}\n",
			`line 5: creation_rules[0].key_groups[0].kms[0]: unknown field "contxt" (did you mean "context"?)`},
		{"azure entry field", "creation_rules:\n  - key_groups:\n      - azure_keyvault:\n          - vaultURL: https://v.vault.azure.net\n",
			`line 4: creation_rules[0].key_groups[0].azure_keyvault[0]: unknown field "vaultURL" (did you mean "vaultUrl"?)`},
		{"gcp entry field", "creation_rules:\n  - key_groups:\n      - gcp_kms:\n          - resourceId: x\n",
			`line 4: creation_rules[0].key_groups[0].gcp_kms[0]: unknown field "resourceId" (did you mean "resource_id"?)`},
		{"hckms entry field", "creation_rules:\n  - key_groups:\n      - hckms:\n          - id: x\n",
			`line 4: creation_rules[0].key_groups[0].hckms[0]: unknown field "id" (known fields: key_id)`},
		{"stores field", "stores:\n  yml:\n    indent: 2\n",
			`line 2: stores: unknown field "yml" (did you mean "yaml"?)`},
		{"store option", "stores:\n  json:\n    indnet: 2\n",
			`line 3: stores.json: unknown field "indnet" (did you mean "indent"?)`},
		{"store without options", "stores:\n  dotenv:\n    indent: 2\n",
			`line 3: stores.dotenv: unknown field "indent" (no options exist here)`},
		{"destination field", "destination_rules:\n  - s3bucket: b\n",
			`line 2: destination_rules[0]: unknown field "s3bucket" (did you mean "s3_bucket"?)`},
		{"recreation_rule field", "destination_rules:\n  - s3_bucket: b\n    recreation_rule:\n      path_regex: x\n",
			`line 4: destination_rules[0].recreation_rule: unknown field "path_regex" (a recreation_rule has no path_regex: the destination rule's path_regex chooses the files)`},

		// Wrong types.
		{"list for a string", "creation_rules:\n  - path_regex: [a]\n",
			`line 2: creation_rules[0].path_regex: must be a string, got a list`},
		{"mapping for a key field", "creation_rules:\n  - pgp: {a: b}\n",
			`line 2: creation_rules[0].pgp: must be a string or a list of strings, got a mapping`},
		{"number for a key field", "creation_rules:\n  - age: 12\n",
			`line 2: creation_rules[0].age: must be a string or a list of strings, got 12`},
		{"non-string list item", "creation_rules:\n  - age:\n      - age1x\n      - 1\n",
			`line 4: creation_rules[0].age[1]: list items must be strings, got 1`},
		{"null list item", "creation_rules:\n  - pgp: [FP, ~]\n",
			`line 2: creation_rules[0].pgp[1]: list items must be strings, got null`},
		{"non-integer threshold", "creation_rules:\n  - shamir_threshold: two\n",
			`line 2: creation_rules[0].shamir_threshold: must be a number, got "two"`},
		{"fractional threshold", "creation_rules:\n  - shamir_threshold: 2.5\n",
			`line 2: creation_rules[0].shamir_threshold: must be a whole number, got 2.5`},
		{"non-bool mac_only_encrypted", "creation_rules:\n  - mac_only_encrypted: maybe\n",
			`line 2: creation_rules[0].mac_only_encrypted: must be true or false, got "maybe"`},
		{"hckms as a string", "creation_rules:\n  - hckms: " + hckmsID + "\n",
			`line 2: creation_rules[0].hckms: must be a list of strings, got "` + hckmsID + `" (sops does not accept a single string here)`},
		{"string in a key group", "creation_rules:\n  - key_groups:\n      - age: age1x\n",
			`line 3: creation_rules[0].key_groups[0].age: must be a list of strings, got "age1x" (in a key group sops reads lists only)`},
		{"creation_rules not a list", "creation_rules:\n  age: x\n",
			`line 2: creation_rules: must be a list, got a mapping`},
		{"key_groups not a list", "creation_rules:\n  - key_groups: age1x\n",
			`line 2: creation_rules[0].key_groups: must be a list, got "age1x"`},
		{"rule not a mapping", "creation_rules:\n  - age1x\n",
			`line 2: creation_rules[0]: must be a mapping, got "age1x"`},
		{"indent not a number", "stores:\n  yaml:\n    indent: four\n",
			`line 3: stores.yaml.indent: must be a number, got "four"`},
		{"store not a mapping", "stores:\n  yaml: [2]\n",
			`line 2: stores.yaml: must be a mapping, got a list`},
		{"field name not a string", "creation_rules:\n  - ? [a]\n    : b\n",
			`line 2: creation_rules[0]: field names must be strings, got a list`},
		{"context not a mapping", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "\n            context: [a]\n",
			`line 5: creation_rules[0].key_groups[0].kms[0].context: must be a mapping, got a list`},
		{"null context value", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "\n            context: {app: ~}\n",
			`line 5: creation_rules[0].key_groups[0].kms[0].context.app: must be a string, got null`},

		// Regular expressions.
		{"bad path_regex", "creation_rules:\n  - age: age1x\n    path_regex: (\n",
			`line 3: creation_rules[0].path_regex: invalid regular expression "(": missing closing )`},
		{"bad encrypted_regex", "creation_rules:\n  - encrypted_regex: '[a'\n",
			`line 2: creation_rules[0].encrypted_regex: invalid regular expression "[a": missing closing ]`},
		{"bad unencrypted_regex", "creation_rules:\n  - unencrypted_regex: 'a**'\n",
			`line 2: creation_rules[0].unencrypted_regex: invalid regular expression "a**": invalid nested repetition operator "**"`},
		{"bad encrypted_comment_regex", "creation_rules:\n  - encrypted_comment_regex: '\\q'\n",
			`line 2: creation_rules[0].encrypted_comment_regex: invalid regular expression "\\q": invalid escape sequence`},
		{"bad unencrypted_comment_regex", "creation_rules:\n  - unencrypted_comment_regex: 'x{2,1}'\n",
			`line 2: creation_rules[0].unencrypted_comment_regex: invalid regular expression "x{2,1}": invalid repeat count "{2,1}"`},

		// Rule semantics.
		{"two selectors", "creation_rules:\n  - encrypted_regex: a\n    age: age1x\n    unencrypted_suffix: _u\n",
			`line 4: creation_rules[0].unencrypted_suffix: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule (encrypted_regex is set too)`},
		{"negative threshold", "creation_rules:\n  - shamir_threshold: -1\n",
			`line 2: creation_rules[0].shamir_threshold: must not be negative, got -1`},
		{"empty key group", "creation_rules:\n  - key_groups:\n      - age: [age1x]\n      - {}\n",
			`line 4: creation_rules[0].key_groups[1]: empty key group: it names no keys, and sops cannot encrypt for it`},
		{"key group of empty merges", "creation_rules:\n  - key_groups:\n      - merge: [{}, {age: []}]\n",
			`line 3: creation_rules[0].key_groups[0]: empty key group: it names no keys, and sops cannot encrypt for it`},
		{"null key group", "creation_rules:\n  - key_groups:\n      -\n      - age: [age1x]\n",
			`line 3: creation_rules[0].key_groups[0]: empty key group: it names no keys, and sops cannot encrypt for it`},
		{"single keys beside key_groups", "creation_rules:\n  - age: age1x\n    key_groups:\n      - age: [age1y]\n",
			`line 2: creation_rules[0].age: sops ignores the rule's single keys when key_groups is set: move them into a key group`},
		{"aws_profile beside key_groups", "creation_rules:\n  - aws_profile: p\n    key_groups:\n      - age: [age1y]\n",
			`line 2: creation_rules[0].aws_profile: sops ignores it when key_groups is set: give aws_profile on each kms entry of the key groups`},
		{"null rule", "creation_rules:\n  - age: age1x\n  -\n",
			`line 3: creation_rules[1]: empty creation rule (write {} for a rule that matches every file and names no keys)`},
		{"merge cycle", "creation_rules:\n  - key_groups:\n      - &g\n        age: [age1x]\n        merge: [*g]\n",
			`line 5: creation_rules[0].key_groups[0].merge[0]: the mapping includes itself through an alias (merge)`},
		{"<< cycle", "creation_rules:\n  - &r\n    age: age1x\n    <<: *r\n",
			`line 4: creation_rules[0]: the mapping includes itself through an alias (<<)`},

		// Mapping and document structure.
		{"duplicate rule field", "creation_rules:\n  - age: age1x\n    path_regex: a\n    age: age1y\n",
			`line 4: creation_rules[0]: duplicate field "age" (first set at line 2)`},
		{"duplicate top-level field", "creation_rules: []\nstores: {}\ncreation_rules: []\n",
			`line 3: duplicate field "creation_rules" (first set at line 1)`},
		{"duplicate group field", "creation_rules:\n  - key_groups:\n      - age: [age1x]\n        age: [age1y]\n",
			`line 4: creation_rules[0].key_groups[0]: duplicate field "age" (first set at line 3)`},
		{"duplicate context key", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "\n            context:\n              a: x\n              a: y\n",
			`line 7: creation_rules[0].key_groups[0].kms[0].context: duplicate field "a" (first set at line 6)`},
		{"list document", "- age: x\n",
			`line 1: the file must be a mapping of creation_rules, destination_rules and stores, got a list`},
		{"scalar document", "\n\ncreation_rules\n",
			`line 3: the file must be a mapping of creation_rules, destination_rules and stores, got "creation_rules"`},
		{"second document", "creation_rules: []\n---\nstores: {}\n",
			`line 3: a second YAML document (after ---) is ignored by sops; move its content into the first one`},
		{"syntax error", "creation_rules:\n  - age: [x\n",
			`line 2: did not find expected ',' or ']'`},
		{"unknown alias", "creation_rules:\n  - age: *nope\n",
			`line 2: unknown anchor 'nope' referenced`},

		// Key strings checked by syntax.
		{"kms ARN", "creation_rules:\n  - kms: " + kmsARN + ", arn:aws:s3:::bucket\n",
			`line 2: creation_rules[0].kms[1]: "arn:aws:s3:::bucket" is not an AWS KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME)`},
		{"gcp resource ID", "creation_rules:\n  - gcp_kms:\n      - projects/p/keyRings/r\n",
			`line 3: creation_rules[0].gcp_kms[0]: "projects/p/keyRings/r" is not a GCP KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K)`},
		{"azure URL", "creation_rules:\n  - azure_keyvault: http://v.vault.azure.net/keys/k\n",
			`line 2: creation_rules[0].azure_keyvault[0]: "http://v.vault.azure.net/keys/k" is not an Azure Key Vault key URL (https://VAULT.vault.azure.net/keys/NAME[/VERSION])`},
		{"vault URI without scheme", "creation_rules:\n  - hc_vault_transit_uri: vault.example.com/v1/transit/keys/k\n",
			`line 2: creation_rules[0].hc_vault_transit_uri[0]: "vault.example.com/v1/transit/keys/k" is not a Vault transit key URI: it needs a scheme and host, like https://vault.example.com:8200/v1/transit/keys/NAME`},
		{"prefixed vault URI", "creation_rules:\n  - key_groups:\n      - hc_vault: [\"https://vault.example.com/prefix/v1/transit/keys/k\"]\n",
			`line 3: creation_rules[0].key_groups[0].hc_vault[0]: "https://vault.example.com/prefix/v1/transit/keys/k": Vault behind a path prefix is not supported (the path must start with /v1/)`},
		{"vault URI without key", "creation_rules:\n  - hc_vault_transit_uri: https://vault.example.com/v1/transit\n",
			`line 2: creation_rules[0].hc_vault_transit_uri[0]: "https://vault.example.com/v1/transit" is not a Vault transit key URI (https://vault.example.com:8200/v1/transit/keys/NAME)`},
		{"hckms key ID", "creation_rules:\n  - hckms: [nocolon]\n",
			`line 2: creation_rules[0].hckms[0]: "nocolon" is not a HuaweiCloud KMS key (REGION:KEY-UUID)`},
		{"group kms without arn", "creation_rules:\n  - key_groups:\n      - kms:\n          - role: " + roleARN + "\n",
			`line 4: creation_rules[0].key_groups[0].kms[0]: missing field "arn"`},
		{"group kms role in arn", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "+" + roleARN + "\n",
			`line 4: creation_rules[0].key_groups[0].kms[0].arn: "` + kmsARN + "+" + roleARN + `": give the role in the role field (ARN+ROLE is the form of a rule's kms field)`},
		{"group kms role", "creation_rules:\n  - key_groups:\n      - kms:\n          - arn: " + kmsARN + "\n            role: sops\n",
			`line 5: creation_rules[0].key_groups[0].kms[0].role: "sops" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)`},
		{"group azure without key", "creation_rules:\n  - key_groups:\n      - azure_keyvault:\n          - vaultUrl: https://v.vault.azure.net\n",
			`line 4: creation_rules[0].key_groups[0].azure_keyvault[0]: missing field "key"`},
		{"group azure URL", "creation_rules:\n  - key_groups:\n      - azure_keyvault:\n          - vaultUrl: https://v.vault.azure.net/x\n            key: k\n",
			`line 4: creation_rules[0].key_groups[0].azure_keyvault[0]: "https://v.vault.azure.net/x/keys/k" is not an Azure Key Vault key URL (https://VAULT.vault.azure.net/keys/NAME[/VERSION])`},
		{"group gcp without resource_id", "creation_rules:\n  - key_groups:\n      - gcp_kms: [{}]\n",
			`line 3: creation_rules[0].key_groups[0].gcp_kms[0]: missing field "resource_id"`},
		{"empty list item", "creation_rules:\n  - age: [age1x, '']\n",
			`line 2: creation_rules[0].age[1]: empty key in ""`},
		{"empty piece in a group", "creation_rules:\n  - key_groups:\n      - age: [\"age1x,,age1y\"]\n",
			`line 3: creation_rules[0].key_groups[0].age[0]: empty key in "age1x,,age1y"`},

		// Stores.
		{"negative yaml indent", "stores:\n  yaml:\n    indent: -2\n",
			`line 3: stores.yaml.indent: must not be negative, got -2 (0 means the default, 4)`},
		{"json indent below -1", "stores:\n  json_binary:\n    indent: -2\n",
			`line 3: stores.json_binary.indent: must be -1 (TAB) or more, got -2`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text))
			if err == nil {
				t.Fatalf("accepted:\n%s", c.text)
			}
			if err.Error() != c.want {
				t.Errorf("got  %s\nwant %s", err, c.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line == 0 {
				t.Errorf("not an *Error with a line: %#v", err)
			}
		})
	}
}

// TestAccepted: files that sops accepts and that are valid stay accepted.
func TestAccepted(t *testing.T) {
	for _, c := range []struct {
		name, text string
		check      func(*Config) string // "" when fine
	}{
		{"empty", "", noRules},
		{"comment only", "# nothing yet\n", noRules},
		{"null document", "~\n", noRules},
		{"explicit document", "---\ncreation_rules:\n  - age: age1x\n...\n", nil},
		{"trailing empty document", "creation_rules:\n  - age: age1x\n---\n", nil},
		{"empty mapping", "{}\n", noRules},
		{"null creation_rules", "creation_rules:\nstores:\n", noRules},
		{"empty creation_rules", "creation_rules: []\n", func(c *Config) string {
			if c.CreationRules == nil || len(c.CreationRules) != 0 {
				return fmt.Sprintf("want an empty, non-nil list: %#v", c.CreationRules)
			}
			return ""
		}},
		{"rule without keys", "creation_rules:\n  - path_regex: ''\n  - {}\n", nil},
		{"anchor holder at top level (sops-nix)", "keys:\n  - &alice age1alice\n  - &bob age1bob\ncreation_rules:\n  - path_regex: x\n    key_groups:\n      - age: [*alice, *bob]\n",
			func(c *Config) string { return want(c.CreationRules[0].KeyGroups[0].Age, "age1alice", "age1bob") }},
		{"<< merge keys", "base: &base\n  encrypted_regex: ^data$\n  age: age1x\ncreation_rules:\n  - <<: *base\n    path_regex: a\n  - <<: [*base]\n    age: age1y\n",
			func(c *Config) string {
				r0, r1 := c.CreationRules[0], c.CreationRules[1]
				if r0.Rules.EncryptedRegex != "^data$" || r0.PathRegex != "a" || r1.Rules.EncryptedRegex != "^data$" {
					return fmt.Sprintf("%+v %+v", r0, r1)
				}
				return want(append(r0.Age, r1.Age...), "age1x", "age1y")
			}},
		{"scalars for strings, as yaml.v3 reads them", "creation_rules:\n  - path_regex: 2024\n    aws_profile: true\n", func(c *Config) string {
			if r := c.CreationRules[0]; r.PathRegex != "2024" || r.AWSProfile != "true" {
				return fmt.Sprintf("%+v", r)
			}
			return ""
		}},
		{"yes for true", "creation_rules:\n  - mac_only_encrypted: yes\n", func(c *Config) string {
			if !c.CreationRules[0].Rules.MACOnlyEncrypted {
				return "mac_only_encrypted not set"
			}
			return ""
		}},
		{"null indent keeps the default", "stores:\n  json:\n    indent: ~\n  yaml:\n  dotenv: {}\n  ini:\n", func(c *Config) string {
			if c.Stores != (Stores{YAMLIndent: 0, JSONIndent: -1, JSONBinaryIndent: -1}) {
				return fmt.Sprintf("%+v", c.Stores)
			}
			return ""
		}},
		{"threshold with one group is kept", "creation_rules:\n  - shamir_threshold: 3\n    age: age1x\n", nil},
		{"threshold 0 with groups", "creation_rules:\n  - shamir_threshold: 0\n    key_groups: [{age: [a]}, {age: [b]}]\n", nil},
		{"empty key_groups, single keys used", "creation_rules:\n  - key_groups: []\n    age: age1x\n", func(c *Config) string {
			return want(c.CreationRules[0].Age, "age1x")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse([]byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				if msg := c.check(cfg); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}

func noRules(c *Config) string {
	if c.CreationRules != nil || c.DestinationRules != nil {
		return fmt.Sprintf("want no rules: %+v", c)
	}
	if c.Stores != (Stores{JSONIndent: -1, JSONBinaryIndent: -1}) {
		return fmt.Sprintf("want default stores: %+v", c.Stores)
	}
	return ""
}

func want(got []string, w ...string) string {
	if !slices.Equal(got, w) {
		return fmt.Sprintf("got %q, want %q", got, w)
	}
	return ""
}

// TestCorpus: every .sops.yaml of the interop corpus parses, except the
// one sops itself refuses (at encryption time).
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("../../testdata/sops-interop/cases/*/.sops.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("corpus configs: %v %v", files, err)
	}
	refused := map[string]string{}
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		t.Run(name, func(t *testing.T) {
			c, err := Load(f)
			if w, ok := refused[name]; ok {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%v, want an error containing %q", err, w)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.CreationRules) == 0 || len(c.KeyRefs()) == 0 {
				t.Errorf("no rules or keys: %+v", c)
			}
		})
	}
}

// TestKeyForms: the string and list forms, and key groups with merge.
func TestKeyForms(t *testing.T) {
	c, err := Parse([]byte(`
creation_rules:
  - age: "age1a, ,age1b ,"
    pgp: "AB CD , EF01"
    kms: "` + kmsARN + `+` + roleARN + `, ` + kmsAlias + `"
    aws_profile: prod
    gcp_kms: " projects/p/locations/global/keyRings/r/cryptoKeys/k "
    azure_keyvault: [` + azureURL + `]
    hc_vault_transit_uri: ` + vaultURI + `,https://v2:8200/v1/a/b/keys/c
    hckms: ["` + hckmsID + `"]
  - age: ["age1c", "age1d, age1e"]
    pgp: ["12 34"]
  - key_groups:
      - merge:
          - age: [age1m]
            merge:
              - pgp: [FP1]
          - age: [age1own]
        age: ["age1own, age1x"]
        pgp: ["FP 1", FP2]
        kms:
          - arn: ` + kmsARN + `
            role: ` + roleARN + `
            context: {app: kura, n: 2}
            aws_profile: p
          - arn: ` + kmsARN + `
            role: ` + roleARN + `
        gcp_kms: [{resource_id: ` + gcpID + `}]
        hckms: [{key_id: ` + hckmsID + `}]
        azure_keyvault:
          - {vaultUrl: "https://v.vault.azure.net/", key: k}
          - {vaultUrl: https://v.vault.azure.net, key: k, version: "0123"}
        hc_vault: [` + vaultURI + `, "https://vault.example.com:8200/v1/transit/keys/k"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.CreationRules[0]
	for _, chk := range []string{
		want(r.Age, "age1a", "age1b"),
		want(r.PGP, "ABCD", "EF01"),
		want(r.KMS, kmsARN+"+"+roleARN, kmsAlias),
		want(r.GCPKMS, gcpID),
		want(r.AzureKeyVault, azureURL),
		want(r.VaultURIs, vaultURI, "https://v2:8200/v1/a/b/keys/c"),
		want(r.HCKMS, hckmsID),
		want(c.CreationRules[1].Age, "age1c", "age1d", "age1e"),
		want(c.CreationRules[1].PGP, "1234"),
	} {
		if chk != "" {
			t.Error(chk)
		}
	}
	if r.AWSProfile != "prod" {
		t.Errorf("aws_profile %q", r.AWSProfile)
	}
	g := c.CreationRules[2].KeyGroups[0]
	for _, chk := range []string{
		want(g.Age, "age1m", "age1own", "age1x"),
		want(g.PGP, "FP1", "FP2"),
		want(g.GCPKMS, gcpID),
		want(g.HCKMS, hckmsID),
		want(g.Vault, vaultURI),
	} {
		if chk != "" {
			t.Error(chk)
		}
	}
	if len(g.KMS) != 1 || g.KMS[0].ARN != kmsARN || g.KMS[0].Role != roleARN || g.KMS[0].AWSProfile != "p" ||
		g.KMS[0].Context["app"] != "kura" || g.KMS[0].Context["n"] != "2" {
		t.Errorf("kms: %+v", g.KMS)
	}
	if len(g.AzureKeyVault) != 2 || g.AzureKeyVault[0].URL() != "https://v.vault.azure.net/keys/k" || g.AzureKeyVault[1].URL() != azureURL {
		t.Errorf("azure: %+v", g.AzureKeyVault)
	}
}

// TestKeyRefs: each key string with its type, line, column and field.
func TestKeyRefs(t *testing.T) {
	text := `keys:
  - &x age1anchored
creation_rules:
  - path_regex: a
    age: " age1a , age1b,,"
    kms: ` + kmsAlias + `
  - key_groups:
      - age:
          - *x
          - "age1c,age1d"
        merge:
          - pgp: ['FP 1']
        kms:
          - arn: ` + kmsARN + `
            role: ` + roleARN + `
        azure_keyvault:
          - vaultUrl: https://v.vault.azure.net
            key: k
        hckms:
          - key_id: ` + hckmsID + `
        gcp_kms:
          - resource_id: ` + gcpID + `
        hc_vault: [` + vaultURI + `]
destination_rules:
  - s3_bucket: b
    recreation_rule:
      hc_vault_transit_uri: "` + vaultURI + `"
`
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	wantRefs := []KeyRef{
		{"age", "age1a", 5, 12, "creation_rules[0].age[0]"},
		{"age", "age1b", 5, 20, "creation_rules[0].age[1]"},
		{"kms", kmsAlias, 6, 10, "creation_rules[0].kms[0]"},
		{"age", "age1anchored", 9, 13, "creation_rules[1].key_groups[0].age[0]"},
		{"age", "age1c", 10, 14, "creation_rules[1].key_groups[0].age[1]"},
		{"age", "age1d", 10, 20, "creation_rules[1].key_groups[0].age[2]"},
		{"pgp", "FP1", 12, 20, "creation_rules[1].key_groups[0].merge[0].pgp[0]"},
		{"kms", kmsARN + "+" + roleARN, 14, 18, "creation_rules[1].key_groups[0].kms[0]"},
		{"azure_kv", "https://v.vault.azure.net/keys/k", 17, 23, "creation_rules[1].key_groups[0].azure_keyvault[0]"},
		{"hckms", hckmsID, 20, 21, "creation_rules[1].key_groups[0].hckms[0]"},
		{"gcp_kms", gcpID, 22, 26, "creation_rules[1].key_groups[0].gcp_kms[0]"},
		{"hc_vault", vaultURI, 23, 20, "creation_rules[1].key_groups[0].hc_vault[0]"},
		{"hc_vault", vaultURI, 27, 30, "destination_rules[0].recreation_rule.hc_vault_transit_uri[0]"},
	}
	got := c.KeyRefs()
	if !slices.Equal(got, wantRefs) {
		t.Errorf("KeyRefs:")
		for i := range max(len(got), len(wantRefs)) {
			var g, w KeyRef
			if i < len(got) {
				g = got[i]
			}
			if i < len(wantRefs) {
				w = wantRefs[i]
			}
			if g != w {
				t.Errorf("  got  %+v\n  want %+v", g, w)
			}
		}
	}
	// Each position points at the key as written.
	lines := strings.Split(text, "\n")
	for _, k := range got {
		if k.Type == "azure_kv" || k.Field == "creation_rules[1].key_groups[0].age[0]" {
			continue // composed from several fields; through an alias
		}
		at := []rune(lines[k.Line-1])[k.Column-1:]
		if !strings.HasPrefix(removeSpaces(string(at)), k.Value) && !strings.HasPrefix(string(at), strings.Split(k.Value, "+")[0]) {
			t.Errorf("%s: line %d column %d is %q, not %q", k.Field, k.Line, k.Column, string(at), k.Value)
		}
	}
	if n := len(c.CreationRules[1].KeyRefs()); n != 9 {
		t.Errorf("rule 1 has %d key refs, want 9", n)
	}
}

// TestValidate: a check's failure comes back located at the key.
func TestValidate(t *testing.T) {
	c, err := Parse([]byte("creation_rules:\n  - path_regex: a\n    age: age1good\n  - age:\n      - age1good\n      - age1bad\n    pgp: FP\n"))
	if err != nil {
		t.Fatal(err)
	}
	bad := errors.New("unknown recipient type")
	var seen []string
	check := func(k KeyRef) error {
		seen = append(seen, k.Type+":"+k.Value)
		if k.Value == "age1bad" {
			return bad
		}
		return nil
	}
	err = c.Validate(check)
	if err == nil || err.Error() != "line 6: creation_rules[1].age[1]: unknown recipient type" {
		t.Errorf("Validate = %v", err)
	}
	var e *Error
	if !errors.Is(err, bad) || !errors.As(err, &e) || e.Line != 6 || e.Column != 9 || e.Field != "creation_rules[1].age[1]" {
		t.Errorf("error %#v", err)
	}
	if !slices.Equal(seen, []string{"age:age1good", "age:age1good", "age:age1bad"}) {
		t.Errorf("checked %q", seen)
	}
	// A rule's own Validate checks that rule only.
	if err := c.CreationRules[0].Validate(check); err != nil {
		t.Errorf("rule 0: %v", err)
	}
	if err := c.CreationRules[1].Validate(func(KeyRef) error { return nil }); err != nil {
		t.Errorf("rule 1, all fine: %v", err)
	}
}

func TestDestinationRules(t *testing.T) {
	c, err := Parse([]byte(`
destination_rules:
  - path_regex: ^s3/
    s3_bucket: bucket
    s3_prefix: pre/
    omit_extensions: true
    recreation_rule:
      age: age1x
      shamir_threshold: 0
  - path_regex: \.json$
    gcs_bucket: gbucket
    gcs_prefix: g/
  - path_regex: vault/
    vault_path: kv/path
    vault_address: https://vault.example.com:8200
    vault_kv_mount_name: secret
    vault_kv_version: 1
  - vault_path: catchall
`))
	if err != nil {
		t.Fatal(err)
	}
	d := c.DestinationRules
	if len(d) != 4 || d[0].S3Bucket != "bucket" || d[0].S3Prefix != "pre/" || !d[0].OmitExtensions || d[0].Kind() != "s3" ||
		d[1].GCSBucket != "gbucket" || d[1].GCSPrefix != "g/" || d[1].Kind() != "gcs" ||
		d[2].VaultPath != "kv/path" || d[2].VaultAddress != "https://vault.example.com:8200" || d[2].VaultKVMountName != "secret" ||
		d[2].VaultKVVersion != 1 || d[2].Kind() != "vault" || d[3].Field != "destination_rules[3]" {
		t.Errorf("%+v", d)
	}
	if r := d[0].RecreationRule; want(r.Age, "age1x") != "" || r.Field != "destination_rules[0].recreation_rule" || r.Index != 0 {
		t.Errorf("recreation rule %+v", r)
	}
	for path, want := range map[string]int{
		"s3/a.yaml":          0,
		"x/s3/a.yaml":        3, // as given: not relativised, and ^ anchors at its start
		"b.json":             1,
		"/abs/vault/a.yaml":  2,
		"other/file.yaml":    3,
		"s3/../vault/x.yaml": 0,
	} {
		got, err := c.Destination(path)
		if err != nil || got.Index != want {
			t.Errorf("Destination(%q) = %+v, %v; want rule %d", path, got, err, want)
		}
	}
	none, _ := Parse([]byte("destination_rules:\n  - path_regex: ^only/\n    s3_bucket: b\n"))
	if _, err := none.Destination("other/a.yaml"); !errors.Is(err, ErrNoMatchingDestination) {
		t.Errorf("no match: %v", err)
	}
	if _, err := (&Config{}).Destination("a"); !errors.Is(err, ErrNoMatchingDestination) {
		t.Errorf("no rules: %v", err)
	}

	for _, c := range []struct{ name, text, want string }{
		{"no destination", "destination_rules:\n  - path_regex: x\n    s3_prefix: p\n",
			`line 2: destination_rules[0]: names no destination: set one of s3_bucket, gcs_bucket or vault_path`},
		{"empty rule", "destination_rules:\n  -\n",
			`line 2: destination_rules[0]: empty destination rule: it names no destination`},
		{"two destinations", "destination_rules:\n  - s3_bucket: a\n    vault_path: b\n",
			`line 3: destination_rules[0].vault_path: a destination rule has one destination, and s3_bucket is set too`},
		{"s3_prefix without s3_bucket", "destination_rules:\n  - gcs_bucket: a\n    s3_prefix: p/\n",
			`line 3: destination_rules[0].s3_prefix: applies only with s3_bucket, which this rule does not set`},
		{"gcs_prefix without gcs_bucket", "destination_rules:\n  - s3_bucket: a\n    gcs_prefix: p/\n",
			`line 3: destination_rules[0].gcs_prefix: applies only with gcs_bucket, which this rule does not set`},
		{"vault_address without vault_path", "destination_rules:\n  - s3_bucket: a\n    vault_address: https://v\n",
			`line 3: destination_rules[0].vault_address: applies only with vault_path, which this rule does not set`},
		{"vault_kv_mount_name without vault_path", "destination_rules:\n  - s3_bucket: a\n    vault_kv_mount_name: m\n",
			`line 3: destination_rules[0].vault_kv_mount_name: applies only with vault_path, which this rule does not set`},
		{"vault_kv_version without vault_path", "destination_rules:\n  - s3_bucket: a\n    vault_kv_version: 2\n",
			`line 3: destination_rules[0].vault_kv_version: applies only with vault_path, which this rule does not set`},
		{"vault_kv_version 3", "destination_rules:\n  - vault_path: a\n    vault_kv_version: 3\n",
			`line 3: destination_rules[0].vault_kv_version: must be 1 or 2, got 3`},
		{"vault_kv_version not a number", "destination_rules:\n  - vault_path: a\n    vault_kv_version: v2\n",
			`line 3: destination_rules[0].vault_kv_version: must be a number, got "v2"`},
		{"vault_address not a URL", "destination_rules:\n  - vault_path: a\n    vault_address: vault:8200\n",
			`line 3: destination_rules[0].vault_address: "vault:8200" is not a Vault address (like https://vault.example.com:8200)`},
		{"bad path_regex", "destination_rules:\n  - s3_bucket: a\n    path_regex: '*'\n",
			`line 3: destination_rules[0].path_regex: invalid regular expression "*": missing argument to repetition operator`},
		{"omit_extensions not a bool", "destination_rules:\n  - s3_bucket: a\n    omit_extensions: 3\n",
			`line 3: destination_rules[0].omit_extensions: must be true or false, got 3`},
		{"unknown field", "destination_rules:\n  - s3_bucket: a\n    s3_prefx: p\n",
			`line 3: destination_rules[0]: unknown field "s3_prefx" (did you mean "s3_prefix"?)`},
		{"bucket not a string", "destination_rules:\n  - s3_bucket: [a]\n",
			`line 2: destination_rules[0].s3_bucket: must be a string, got a list`},
		{"not a list", "destination_rules: {s3_bucket: a}\n",
			`line 1: destination_rules: must be a list, got a mapping`},
		{"bad recreation_rule", "destination_rules:\n  - s3_bucket: a\n    recreation_rule:\n      kms: nope\n",
			`line 4: destination_rules[0].recreation_rule.kms[0]: "nope" is not an AWS KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME)`},
		{"recreation_rule selectors", "destination_rules:\n  - s3_bucket: a\n    recreation_rule:\n      encrypted_suffix: _e\n      encrypted_regex: x\n",
			`line 5: destination_rules[0].recreation_rule.encrypted_regex: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule (encrypted_suffix is set too)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text))
			if err == nil || err.Error() != c.want {
				t.Errorf("got  %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte("creation_rules:\n  - path_regex: ^prod/\n    age: age1prod\n  - path_regex: \\.yaml$\n    age: age1any\n  - path_regex: ^/\n    age: age1abs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(filepath.Dir(dir), "elsewhere", "prod", "a.json")
	for file, want := range map[string]string{
		filepath.Join(dir, "prod", "a.yaml"): "age1prod", // relative to the config: prod/a.yaml
		filepath.Join(dir, "prod", "a.json"): "age1prod",
		filepath.Join(dir, "dev", "a.yaml"):  "age1any", // first match wins: rule 1, not 2
		outside:                              "age1abs", // outside: the absolute path, so ^prod/ does not match
	} {
		r, err := c.Rule(file)
		if err != nil || r.Age[0] != want {
			t.Errorf("%s: %+v %v, want %s", file, r, err, want)
		}
	}
	// A file named "..x.json" lies inside the directory: it is matched as
	// "..x.json", not as an absolute path.
	if _, err := c.Rule(filepath.Join(dir, "..x.json")); !errors.Is(err, ErrNoMatchingRule) {
		t.Errorf("..x.json: %v, want no match", err)
	}
	if _, err := c.Rule(filepath.Join(dir, "a.json")); err == nil || !strings.Contains(err.Error(), "no matching creation rules") || !errors.Is(err, ErrNoMatchingRule) {
		t.Errorf("no match: %v", err)
	}

	// Relative paths are taken from the working directory, and a config
	// given by a relative path works too.
	t.Chdir(dir)
	rel, err := Load(FileName)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := rel.Rule(filepath.Join("prod", "x.txt")); err != nil || r.Index != 0 || r.Field != "creation_rules[0]" || r.Line != 2 {
		t.Errorf("relative: %+v %v", r, err)
	}

	// No creation_rules: no rule, no error. An empty list: no match.
	for text, wantErr := range map[string]bool{"": false, "stores: {}\n": false, "creation_rules:\n": false, "creation_rules: []\n": true} {
		c, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Rule("a.yaml")
		if r != nil || errors.Is(err, ErrNoMatchingRule) != wantErr {
			t.Errorf("%q: %+v %v", text, r, err)
		}
	}

	// An empty path_regex matches everything, in order.
	c, err = Parse([]byte("creation_rules:\n  - path_regex: ^x\n    age: a\n  - age: b\n  - age: c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Rule("y/z.yaml"); err != nil || r.Index != 1 {
		t.Errorf("catch-all: %+v %v", r, err)
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

func TestSuggest(t *testing.T) {
	known := []string{"path_regex", "age", "pgp", "encrypted_regex", "unencrypted_regex", "shamir_threshold"}
	for name, want := range map[string]string{
		"agee": "age", "ag": "age", "ppg": "pgp", "Path-Regex": "path_regex", "path_regexp": "path_regex",
		"encrypted_regexp": "encrypted_regex", "shamir_treshold": "shamir_threshold", "colour": "", "x": "",
		"": "", strings.Repeat("a", 100): "",
	} {
		if got := suggest(name, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", name, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("creation_rules:\n  - path_regex: x\n    age: a,b\n    key_groups:\n      - merge: [{age: [c]}]\n"))
	f.Add([]byte("keys: [&a age1x]\ncreation_rules:\n  - <<: {age: *a}\n    key_groups:\n      - &g {age: [*a], merge: [*g]}\n"))
	f.Add([]byte("destination_rules:\n  - s3_bucket: b\n    recreation_rule: {kms: '" + kmsARN + "'}\nstores: {yaml: {indent: 2}}\n"))
	f.Add([]byte("creation_rules:\n  - key_groups:\n      - kms: [{arn: " + kmsARN + ", context: {a: b}}]\n        azure_keyvault: [{vaultUrl: https://v.vault.azure.net, key: k}]\n"))
	if files, _ := filepath.Glob("../../testdata/sops-interop/cases/*/.sops.yaml"); len(files) > 0 {
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, k := range c.KeyRefs() {
			if k.Line < 1 || k.Column < 1 || k.Field == "" || k.Type == "" {
				t.Fatalf("bad key ref %+v", k)
			}
		}
		c.Validate(func(KeyRef) error { return errors.New("x") })
		c.Rule("a/b.yaml")
		c.Destination("a/b.yaml")
	})
}

// TestHandBuilt: rules built without Parse still match.
func TestHandBuilt(t *testing.T) {
	c := &Config{CreationRules: []CreationRule{{PathRegex: `\.env$`, Field: "creation_rules[0]"}, {Index: 1}}}
	if r, err := c.Rule("/x/a.txt"); err != nil || r.Index != 1 {
		t.Errorf("%+v %v", r, err)
	}
	if r, err := c.Rule("/x/a.env"); err != nil || r.Index != 0 {
		t.Errorf("%+v %v", r, err)
	}
	bad := &Config{DestinationRules: []DestinationRule{{PathRegex: "(", Field: "destination_rules[0]"}}}
	if _, err := bad.Destination("a"); err == nil || !strings.HasPrefix(err.Error(), "destination_rules[0].path_regex: ") {
		t.Errorf("bad regex: %v", err)
	}
}
