// Package config reads .sops.yaml as sops 3.13.2 reads it: found from the
// working directory upwards, creation rules matched by path in order, and
// per-format store options.
//
// It gives key strings as written (age recipients, PGP fingerprints, KMS
// ARNs...); turning them into key sources is the caller's business, so that
// this package stays free of any cryptography.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kura-secrets/kura/pkg/rules"
	yaml "go.yaml.in/yaml/v3"
)

// FileName is the only name sops looks for.
const FileName = ".sops.yaml"

// maxDepth bounds the upward search, as in sops.
const maxDepth = 100

// Find looks for .sops.yaml in dir and its parents. It returns "" when
// there is none. A .sops.yml seen on the way is reported in ignored: sops
// never reads that name, and neither does kura.
func Find(dir string) (path string, ignored []string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", nil, err
	}
	for i := 0; i < maxDepth; i++ {
		p := filepath.Join(dir, FileName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, ignored, nil
		}
		if st, err := os.Stat(filepath.Join(dir, ".sops.yml")); err == nil && !st.IsDir() {
			ignored = append(ignored, filepath.Join(dir, ".sops.yml"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", ignored, nil
}

// Config is a parsed .sops.yaml.
type Config struct {
	// Path is the file it was read from; rules match paths relative to
	// its directory.
	Path             string
	CreationRules    []CreationRule
	DestinationRules []yaml.Node
	Stores           Stores
}

// Stores holds per-format options.
type Stores struct {
	YAMLIndent       int // 0: default (4)
	JSONIndent       int // -1: TAB (the default)
	JSONBinaryIndent int // -1: TAB (the default)
}

// CreationRule says which keys and selectors encrypt the files whose path
// matches PathRegex.
type CreationRule struct {
	// Index is the rule's position in the file, from 0.
	Index     int
	PathRegex string
	pathRe    *regexp.Regexp

	Age           []string
	PGP           []string
	KMS           []string
	AWSProfile    string
	GCPKMS        []string
	AzureKeyVault []string
	VaultURIs     []string
	HCKMS         []string
	// KeyGroups, when present, replace all the single-key fields above.
	KeyGroups       []KeyGroup
	ShamirThreshold int
	Rules           rules.Config
}

// KeyGroup is one group of a rule's key_groups, with merged groups
// flattened into it.
type KeyGroup struct {
	Age           []string
	PGP           []string
	KMS           []KMSKey
	GCPKMS        []string
	AzureKeyVault []AzureKey
	Vault         []string
	HCKMS         []string
}

// KMSKey is an AWS KMS key of a key group.
type KMSKey struct {
	ARN        string
	Role       string
	Context    map[string]string
	AWSProfile string
}

// AzureKey is an Azure Key Vault key of a key group.
type AzureKey struct {
	VaultURL, Key, Version string
}

// Load reads and parses a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// raw mirrors the file. Key lists may be a string (comma-separated) or a
// list of strings, so they are decoded from nodes.
type raw struct {
	CreationRules    []rawRule   `yaml:"creation_rules"`
	DestinationRules []yaml.Node `yaml:"destination_rules"`
	Stores           struct {
		YAML       struct{ Indent *int } `yaml:"yaml"`
		JSON       struct{ Indent *int } `yaml:"json"`
		JSONBinary struct{ Indent *int } `yaml:"json_binary"`
	} `yaml:"stores"`
}

type rawRule struct {
	PathRegex               string     `yaml:"path_regex"`
	KMS                     yaml.Node  `yaml:"kms"`
	AWSProfile              string     `yaml:"aws_profile"`
	Age                     yaml.Node  `yaml:"age"`
	PGP                     yaml.Node  `yaml:"pgp"`
	GCPKMS                  yaml.Node  `yaml:"gcp_kms"`
	HCKMS                   []string   `yaml:"hckms"`
	AzureKeyVault           yaml.Node  `yaml:"azure_keyvault"`
	VaultURI                yaml.Node  `yaml:"hc_vault_transit_uri"`
	KeyGroups               []rawGroup `yaml:"key_groups"`
	ShamirThreshold         int        `yaml:"shamir_threshold"`
	UnencryptedSuffix       string     `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string     `yaml:"encrypted_suffix"`
	UnencryptedRegex        string     `yaml:"unencrypted_regex"`
	EncryptedRegex          string     `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string     `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string     `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool       `yaml:"mac_only_encrypted"`
}

type rawGroup struct {
	Merge []rawGroup `yaml:"merge"`
	KMS   []struct {
		ARN        string            `yaml:"arn"`
		Role       string            `yaml:"role"`
		Context    map[string]string `yaml:"context"`
		AWSProfile string            `yaml:"aws_profile"`
	} `yaml:"kms"`
	GCPKMS []struct {
		ResourceID string `yaml:"resource_id"`
	} `yaml:"gcp_kms"`
	HCKMS []struct {
		KeyID string `yaml:"key_id"`
	} `yaml:"hckms"`
	AzureKV []struct {
		VaultURL string `yaml:"vaultUrl"`
		Key      string `yaml:"key"`
		Version  string `yaml:"version"`
	} `yaml:"azure_keyvault"`
	Vault []string `yaml:"hc_vault"`
	Age   []string `yaml:"age"`
	PGP   []string `yaml:"pgp"`
}

// Parse parses the text of a config file.
func Parse(data []byte) (*Config, error) {
	var r raw
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &r); err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	c := &Config{DestinationRules: r.DestinationRules, Stores: Stores{JSONIndent: -1, JSONBinaryIndent: -1}}
	if i := r.Stores.YAML.Indent; i != nil {
		if *i < 0 {
			return nil, errors.New("stores.yaml.indent: a negative indent is not accepted")
		}
		c.Stores.YAMLIndent = *i
	}
	if i := r.Stores.JSON.Indent; i != nil {
		if *i < -1 {
			return nil, errors.New("stores.json.indent: must be -1 (TAB) or more")
		}
		c.Stores.JSONIndent = *i
	}
	if i := r.Stores.JSONBinary.Indent; i != nil {
		if *i < -1 {
			return nil, errors.New("stores.json_binary.indent: must be -1 (TAB) or more")
		}
		c.Stores.JSONBinaryIndent = *i
	}
	for i, rr := range r.CreationRules {
		rule, err := rr.convert(i)
		if err != nil {
			return nil, fmt.Errorf("creation_rules[%d]: %w", i, err)
		}
		c.CreationRules = append(c.CreationRules, rule)
	}
	return c, nil
}

func (rr *rawRule) convert(index int) (CreationRule, error) {
	rule := CreationRule{
		Index:           index,
		PathRegex:       rr.PathRegex,
		AWSProfile:      rr.AWSProfile,
		HCKMS:           rr.HCKMS,
		ShamirThreshold: rr.ShamirThreshold,
		Rules: rules.Config{
			UnencryptedSuffix:       rr.UnencryptedSuffix,
			EncryptedSuffix:         rr.EncryptedSuffix,
			UnencryptedRegex:        rr.UnencryptedRegex,
			EncryptedRegex:          rr.EncryptedRegex,
			UnencryptedCommentRegex: rr.UnencryptedCommentRegex,
			EncryptedCommentRegex:   rr.EncryptedCommentRegex,
			MACOnlyEncrypted:        rr.MACOnlyEncrypted,
		},
	}
	if err := rule.Rules.Validate(); err != nil {
		return rule, fmt.Errorf("%w for the same rule", err)
	}
	for _, re := range []struct{ name, v string }{
		{"path_regex", rr.PathRegex}, {"unencrypted_regex", rr.UnencryptedRegex}, {"encrypted_regex", rr.EncryptedRegex},
		{"unencrypted_comment_regex", rr.UnencryptedCommentRegex}, {"encrypted_comment_regex", rr.EncryptedCommentRegex},
	} {
		if _, err := regexp.Compile(re.v); err != nil {
			return rule, fmt.Errorf("%s: %w", re.name, err)
		}
	}
	rule.pathRe = regexp.MustCompile(rr.PathRegex)
	var err error
	lists := []struct {
		name string
		node *yaml.Node
		dst  *[]string
		trim func(string) string
	}{
		{"age", &rr.Age, &rule.Age, strings.TrimSpace},
		{"pgp", &rr.PGP, &rule.PGP, removeSpaces},
		{"kms", &rr.KMS, &rule.KMS, removeSpaces},
		{"gcp_kms", &rr.GCPKMS, &rule.GCPKMS, strings.TrimSpace},
		{"azure_keyvault", &rr.AzureKeyVault, &rule.AzureKeyVault, strings.TrimSpace},
		{"hc_vault_transit_uri", &rr.VaultURI, &rule.VaultURIs, strings.TrimSpace},
	}
	for _, l := range lists {
		if *l.dst, err = keyList(l.node, l.trim); err != nil {
			return rule, fmt.Errorf("%s: %w", l.name, err)
		}
	}
	for gi, g := range rr.KeyGroups {
		group, err := g.flatten()
		if err != nil {
			return rule, fmt.Errorf("key_groups[%d]: %w", gi, err)
		}
		rule.KeyGroups = append(rule.KeyGroups, group)
	}
	return rule, nil
}

func removeSpaces(s string) string { return strings.ReplaceAll(s, " ", "") }

// keyList reads a key field: a comma-separated string, or a list whose
// items are used as they are.
func keyList(n *yaml.Node, trim func(string) string) ([]string, error) {
	switch n.Kind {
	case 0:
		return nil, nil
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil, nil
		}
		var out []string
		for _, part := range strings.Split(n.Value, ",") {
			if p := trim(part); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	case yaml.SequenceNode:
		var out []string
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode || item.ShortTag() != "!!str" {
				return nil, fmt.Errorf("line %d: list items must be strings", item.Line)
			}
			if p := trim(item.Value); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: expected a string or a list of strings", n.Line)
}

// flatten merges nested groups into one, keys of merged groups first, and
// drops duplicates.
func (g rawGroup) flatten() (KeyGroup, error) {
	var out KeyGroup
	for _, m := range g.Merge {
		sub, err := m.flatten()
		if err != nil {
			return out, err
		}
		out.Age = append(out.Age, sub.Age...)
		out.PGP = append(out.PGP, sub.PGP...)
		out.KMS = append(out.KMS, sub.KMS...)
		out.GCPKMS = append(out.GCPKMS, sub.GCPKMS...)
		out.HCKMS = append(out.HCKMS, sub.HCKMS...)
		out.AzureKeyVault = append(out.AzureKeyVault, sub.AzureKeyVault...)
		out.Vault = append(out.Vault, sub.Vault...)
	}
	for _, a := range g.Age {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out.Age = append(out.Age, p)
			}
		}
	}
	for _, p := range g.PGP {
		out.PGP = append(out.PGP, removeSpaces(p))
	}
	for _, k := range g.KMS {
		out.KMS = append(out.KMS, KMSKey{ARN: removeSpaces(k.ARN), Role: k.Role, Context: k.Context, AWSProfile: k.AWSProfile})
	}
	for _, k := range g.GCPKMS {
		out.GCPKMS = append(out.GCPKMS, k.ResourceID)
	}
	for _, k := range g.HCKMS {
		out.HCKMS = append(out.HCKMS, k.KeyID)
	}
	for _, k := range g.AzureKV {
		out.AzureKeyVault = append(out.AzureKeyVault, AzureKey{VaultURL: k.VaultURL, Key: k.Key, Version: k.Version})
	}
	out.Vault = append(out.Vault, g.Vault...)
	out.Age = dedup(out.Age)
	out.PGP = dedup(out.PGP)
	out.GCPKMS = dedup(out.GCPKMS)
	out.HCKMS = dedup(out.HCKMS)
	out.Vault = dedup(out.Vault)
	return out, nil
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// ErrNoMatchingRule means no creation rule matches a file; sops refuses to
// encrypt it even when keys are given on the command line.
var ErrNoMatchingRule = errors.New("no matching creation rules found")

// Rule returns the first creation rule that matches file (a path as given
// on the command line). It returns nil, nil when the config has no
// creation rules at all.
func (c *Config) Rule(file string) (*CreationRule, error) {
	if len(c.CreationRules) == 0 {
		return nil, nil
	}
	p := c.relative(file)
	for i := range c.CreationRules {
		r := &c.CreationRules[i]
		if r.PathRegex == "" || r.pathRe.MatchString(p) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w for %s in %s", ErrNoMatchingRule, p, c.Path)
}

// relative gives the path rules match against: relative to the config's
// directory when the file is below it, absolute otherwise, with forward
// slashes on every system.
func (c *Config) relative(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return file
	}
	if c.Path != "" {
		dir := filepath.Dir(c.Path)
		if rel, err := filepath.Rel(dir, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(abs)
}
