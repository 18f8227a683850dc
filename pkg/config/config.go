// Package config reads .sops.yaml as sops 3.13.2 reads it: found from the
// working directory upwards, creation rules matched by path in order,
// destination rules for publishing, and per-format store options.
//
// Where sops is lenient, this package is strict: sops decodes the file
// with yaml.v3 into Go structs, so a misspelt field, a rule that sets two
// selectors or a key group with nothing in it are silently ignored or only
// fail later, at encryption time, far from the line that caused them. Here
// the file is read from its YAML nodes, and every problem is reported with
// its line and the path of the field ("line 7: creation_rules[1].age[0]:
// ..."). Everything a valid sops config may say is still accepted: the
// string and list forms of key fields, comma-separated strings, key_groups
// with nested merge, anchors, aliases and << merge keys.
//
// Key strings are given as written (age recipients, PGP fingerprints, KMS
// ARNs...), each with its position as a KeyRef. Checking age and PGP keys
// needs their parsers, which live with the cryptography; this package has
// none, so it leaves them to the caller through Validate. The key forms
// that sops checks by syntax alone (KMS ARNs, GCP resource IDs, Azure and
// Vault URLs, HuaweiCloud key IDs) are checked here.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kura-secrets/kura/pkg/rules"
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
	// Path is the file it was read from; creation rules match paths
	// relative to its directory.
	Path string
	// CreationRules is nil when the file has no creation_rules (or a null
	// one), and empty but not nil for "creation_rules: []": sops treats
	// the first as "no config" and the second as a config that matches no
	// file, and Rule does the same.
	CreationRules    []CreationRule
	DestinationRules []DestinationRule
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
	// Index is the rule's position in creation_rules, from 0; for the
	// recreation_rule of a destination rule, the destination rule's.
	Index int
	// Field names the rule in messages: "creation_rules[2]", or
	// "destination_rules[0].recreation_rule".
	Field string
	// Line and Column locate the rule in the file (0 when absent, as for
	// a destination rule without a recreation_rule).
	Line, Column int

	PathRegex string
	pathRe    *regexp.Regexp

	// The single-key fields, each a list whatever the form in the file:
	// comma-separated strings are split, pieces trimmed, empty pieces
	// dropped. PGP fingerprints, KMS ARNs and GCP resource IDs have their
	// spaces removed, as sops does. A KMS entry may be "ARN+ROLE_ARN".
	Age           []string
	PGP           []string
	KMS           []string
	AWSProfile    string
	GCPKMS        []string
	AzureKeyVault []string
	VaultURIs     []string
	HCKMS         []string
	// KeyGroups, when present, replace all the single-key fields above
	// (the parser refuses a rule that sets both, since sops would ignore
	// the single keys).
	KeyGroups       []KeyGroup
	ShamirThreshold int
	Rules           rules.Config

	keyRefs []KeyRef
}

// KeyGroup is one group of a rule's key_groups, with merged groups
// flattened into it: keys of merged groups first, then the group's own,
// duplicates dropped (same type and identity), as sops does.
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

// URL gives the key as the single URL of the azure_keyvault rule field,
// https://VAULT.vault.azure.net/keys/NAME[/VERSION].
func (k AzureKey) URL() string {
	u := strings.TrimSuffix(k.VaultURL, "/") + "/keys/" + k.Key
	if k.Version != "" {
		u += "/" + k.Version
	}
	return u
}

// DestinationRule is an entry of destination_rules: where `sops publish`
// sends the files whose path matches PathRegex, and how it re-encrypts
// them first. Exactly one of S3Bucket, GCSBucket and VaultPath is set.
type DestinationRule struct {
	// Index is the rule's position in destination_rules, from 0.
	Index int
	// Field names the rule in messages: "destination_rules[0]".
	Field        string
	Line, Column int

	PathRegex string
	pathRe    *regexp.Regexp

	// S3 destination: the object is s3://S3Bucket/S3Prefix + file name.
	S3Bucket, S3Prefix string
	// GCS destination: gcs://GCSBucket/GCSPrefix + file name.
	GCSBucket, GCSPrefix string
	// Vault KV destination. VaultAddress "" means Vault's default (the
	// VAULT_ADDR environment variable); VaultKVMountName "" means
	// "secret/"; VaultKVVersion 0 means 2.
	VaultPath        string
	VaultAddress     string
	VaultKVMountName string
	VaultKVVersion   int
	// RecreationRule gives the keys and settings to re-encrypt with
	// before publishing to S3 or GCS; with no keys the file is published
	// as it is. Its PathRegex is always empty.
	RecreationRule CreationRule
	// OmitExtensions drops the file's extension from the published name.
	OmitExtensions bool
}

// Kind says which destination the rule has: "s3", "gcs" or "vault".
func (d *DestinationRule) Kind() string {
	switch {
	case d.S3Bucket != "":
		return "s3"
	case d.GCSBucket != "":
		return "gcs"
	case d.VaultPath != "":
		return "vault"
	}
	return ""
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

// ErrNoMatchingRule means no creation rule matches a file; sops refuses to
// encrypt it even when keys are given on the command line.
var ErrNoMatchingRule = errors.New("no matching creation rules found")

// ErrNoMatchingDestination means no destination rule matches a file.
var ErrNoMatchingDestination = errors.New("no matching destination found in config")

// Rule returns the first creation rule that matches file (a path as given
// on the command line), or one with an empty path_regex. The path is
// matched relative to the config file's directory when the file lies
// below it, and absolute otherwise. Rule returns nil, nil when the config
// has no creation_rules at all; an empty list matches nothing, as in sops.
// The returned rule's Index and Field say which one matched.
func (c *Config) Rule(file string) (*CreationRule, error) {
	if c.CreationRules == nil {
		return nil, nil
	}
	p := c.relative(file)
	for i := range c.CreationRules {
		r := &c.CreationRules[i]
		ok, err := matches(r.pathRe, r.PathRegex, p)
		if err != nil {
			return nil, fmt.Errorf("%s.path_regex: %w", r.Field, err)
		}
		if ok {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%w for %s in %s", ErrNoMatchingRule, p, c.Path)
}

// relative gives the path creation rules match against, as sops builds
// it: the absolute path, with the config's directory and a separator cut
// off its front when present. (A config in the root directory therefore
// matches absolute paths, as in sops.) Separators are forward slashes on
// every system, so that one config serves everyone.
func (c *Config) relative(file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		return filepath.ToSlash(file)
	}
	if c.Path != "" {
		if dir, err := filepath.Abs(filepath.Dir(c.Path)); err == nil {
			if rest, ok := strings.CutPrefix(abs, dir+string(filepath.Separator)); ok {
				return filepath.ToSlash(rest)
			}
		}
	}
	return filepath.ToSlash(abs)
}

// Destination returns the first destination rule whose path_regex matches
// path, or that has none. Unlike creation rules, path is matched as given
// (as `sops publish` was given it or found it walking a directory), not
// made relative to the config.
func (c *Config) Destination(path string) (*DestinationRule, error) {
	for i := range c.DestinationRules {
		d := &c.DestinationRules[i]
		ok, err := matches(d.pathRe, d.PathRegex, path)
		if err != nil {
			return nil, fmt.Errorf("%s.path_regex: %w", d.Field, err)
		}
		if ok {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w for %s", ErrNoMatchingDestination, path)
}

// matches says whether a rule's path_regex matches path; an empty one
// matches everything. Rules built by Parse come compiled; one built by
// hand is compiled here.
func matches(re *regexp.Regexp, expr, path string) (bool, error) {
	if expr == "" {
		return true, nil
	}
	if re == nil {
		var err error
		if re, err = regexp.Compile(expr); err != nil {
			return false, err
		}
	}
	return re.MatchString(path), nil
}
