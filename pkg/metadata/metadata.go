// Package metadata is the "sops" block of an encrypted file: which master
// keys wrap the data key, the encrypted MAC and its timestamp, the
// selection rules in force and the version of the writer.
//
// Formats hand the block over as a tree map; this package gives it meaning
// (FromTree) and turns it back into the map SOPS writes (ToTree): keys in
// byte order at every level, empty fields left out, the quirks of key
// groups kept.
package metadata

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

// Version is the SOPS format version kura writes. Readers of SOPS files
// (sops itself among them) require a semantic version of at least 3.3.0;
// kura writes the SOPS release whose format it implements.
const Version = "3.13.2"

// Metadata is a parsed metadata block.
type Metadata struct {
	KeyGroups       []keys.Group
	ShamirThreshold int
	// LastModified is when the values were last encrypted; its RFC 3339
	// text (whole seconds) authenticates the MAC.
	LastModified time.Time
	// MAC is the encrypted MAC, an ENC[...] string.
	MAC   string
	Rules rules.Config
	// Version is the version string as stored.
	Version string
}

// LastModifiedText is the lastmodified value as written and as used for
// the MAC's additional data: RFC 3339 in whole seconds.
func (m *Metadata) LastModifiedText() string {
	return m.LastModified.Format(time.RFC3339)
}

// ErrNoKeys means the block names no master key.
var ErrNoKeys = errors.New("no keys found in file")

// FromTree parses a metadata map. Values are read weakly typed, as SOPS
// reads them: numbers and booleans may be strings (dotenv and INI store
// nothing else). Unknown fields are ignored.
func FromTree(items []tree.Item) (*Metadata, error) {
	var m Metadata
	var flat keys.Group
	var groups []keys.Group
	for _, it := range items {
		if it.Key.Kind != tree.String {
			continue
		}
		name, v := it.Key.Str, it.Value
		var err error
		switch name {
		case "lastmodified":
			var s string
			if s, err = str(v); err == nil {
				m.LastModified, err = time.Parse(time.RFC3339, s)
			}
		case "mac":
			m.MAC, err = str(v)
		case "version":
			m.Version, err = str(v)
		case "shamir_threshold":
			m.ShamirThreshold, err = integer(v)
		case "mac_only_encrypted":
			m.Rules.MACOnlyEncrypted, err = boolean(v)
		case "unencrypted_suffix":
			m.Rules.UnencryptedSuffix, err = str(v)
		case "encrypted_suffix":
			m.Rules.EncryptedSuffix, err = str(v)
		case "unencrypted_regex":
			m.Rules.UnencryptedRegex, err = str(v)
		case "encrypted_regex":
			m.Rules.EncryptedRegex, err = str(v)
		case "unencrypted_comment_regex":
			m.Rules.UnencryptedCommentRegex, err = str(v)
		case "encrypted_comment_regex":
			m.Rules.EncryptedCommentRegex, err = str(v)
		case "key_groups":
			groups, err = parseGroups(v)
		default:
			if t, ok := keys.ParseType(name); ok {
				var stanzas []keys.Stanza
				stanzas, err = parseStanzas(t, v)
				flat = append(flat, stanzas...)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("sops metadata: %s: %w", name, err)
		}
	}
	// The flat lists win when any of them names a key; key_groups is
	// used only without them. Within a group keys are kept in SOPS's
	// load order, which is also the default order of decryption attempts.
	switch {
	case len(flat) > 0:
		m.KeyGroups = []keys.Group{sortGroup(flat)}
	case len(groups) > 0:
		for i := range groups {
			groups[i] = sortGroup(groups[i])
		}
		m.KeyGroups = groups
	default:
		return nil, ErrNoKeys
	}
	if err := m.Rules.Validate(); err != nil {
		return nil, fmt.Errorf("sops metadata: %w in the same file", err)
	}
	m.Rules = m.Rules.WithDefault()
	return &m, nil
}

func sortGroup(g keys.Group) keys.Group {
	rank := map[keys.Type]int{}
	for i, t := range keys.LoadOrder {
		rank[t] = i
	}
	sort.SliceStable(g, func(i, j int) bool { return rank[g[i].Type] < rank[g[j].Type] })
	return g
}

func parseGroups(v tree.Value) ([]keys.Group, error) {
	if v.Kind == tree.Null {
		return nil, nil
	}
	if v.Kind != tree.List {
		return nil, fmt.Errorf("expected a list, got %s", v.Kind)
	}
	var groups []keys.Group
	for i, e := range v.Elems() {
		if e.Kind == tree.Comment {
			continue
		}
		if e.Kind != tree.Map {
			return nil, fmt.Errorf("group %d: expected a map, got %s", i, e.Kind)
		}
		var g keys.Group
		for _, it := range e.Items() {
			if it.Key.Kind != tree.String {
				continue
			}
			t, ok := keys.ParseType(it.Key.Str)
			if !ok {
				continue
			}
			stanzas, err := parseStanzas(t, it.Value)
			if err != nil {
				return nil, fmt.Errorf("group %d: %s: %w", i, it.Key.Str, err)
			}
			g = append(g, stanzas...)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func parseStanzas(t keys.Type, v tree.Value) ([]keys.Stanza, error) {
	if v.Kind == tree.Null {
		return nil, nil
	}
	if v.Kind != tree.List {
		return nil, fmt.Errorf("expected a list, got %s", v.Kind)
	}
	var out []keys.Stanza
	for i, e := range v.Elems() {
		if e.Kind == tree.Comment {
			continue
		}
		if e.Kind != tree.Map {
			return nil, fmt.Errorf("entry %d: expected a map, got %s", i, e.Kind)
		}
		s, err := parseStanza(t, e.Items())
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseStanza(t keys.Type, items []tree.Item) (keys.Stanza, error) {
	s := keys.Stanza{Type: t}
	fields := map[string]*string{"enc": &s.Enc, "created_at": &s.CreatedAt}
	switch t {
	case keys.Age:
		fields["recipient"] = &s.Recipient
	case keys.PGP:
		fields["fp"] = &s.Fingerprint
	case keys.KMS:
		fields["arn"] = &s.ARN
		fields["role"] = &s.Role
		fields["aws_profile"] = &s.AWSProfile
	case keys.GCPKMS:
		fields["resource_id"] = &s.ResourceID
	case keys.AzureKV:
		fields["vault_url"] = &s.AzureVaultURL
		fields["name"] = &s.AzureName
		fields["version"] = &s.AzureVersion
	case keys.Vault:
		fields["vault_address"] = &s.VaultAddress
		fields["engine_path"] = &s.VaultEnginePath
		fields["key_name"] = &s.VaultKeyName
	case keys.HCKMS:
		fields["key_id"] = &s.KeyID
	}
	for _, it := range items {
		if it.Key.Kind != tree.String {
			continue
		}
		if t == keys.KMS && it.Key.Str == "context" {
			ctx, err := stringMap(it.Value)
			if err != nil {
				return s, fmt.Errorf("context: %w", err)
			}
			s.Context = ctx
			continue
		}
		dst, ok := fields[it.Key.Str]
		if !ok {
			continue
		}
		v, err := str(it.Value)
		if err != nil {
			return s, fmt.Errorf("%s: %w", it.Key.Str, err)
		}
		*dst = v
	}
	if t != keys.Age {
		if _, err := time.Parse(time.RFC3339, s.CreatedAt); err != nil {
			return s, errors.New("created_at is missing or not an RFC 3339 time")
		}
	}
	return s, nil
}

func stringMap(v tree.Value) (map[string]string, error) {
	if v.Kind == tree.Null {
		return nil, nil
	}
	if v.Kind != tree.Map {
		return nil, fmt.Errorf("expected a map, got %s", v.Kind)
	}
	m := make(map[string]string, len(v.Items()))
	for _, it := range v.Items() {
		if it.IsComment() {
			continue
		}
		s, err := str(it.Value)
		if err != nil {
			return nil, err
		}
		m[it.Key.Str] = s
	}
	return m, nil
}

// str reads a scalar as text, converting numbers and booleans the way a
// weakly typed decoder does.
func str(v tree.Value) (string, error) {
	switch v.Kind {
	case tree.String:
		return v.Str, nil
	case tree.Null:
		return "", nil
	case tree.Int:
		return strconv.FormatInt(v.Int(), 10), nil
	case tree.Uint:
		return strconv.FormatUint(v.Uint(), 10), nil
	case tree.Float:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), nil
	case tree.Bool:
		if v.Bool() {
			return "1", nil
		}
		return "0", nil
	case tree.Time:
		// An unquoted timestamp in YAML; SOPS refuses these, kura reads
		// them as the time they denote.
		return v.Time().Format(time.RFC3339Nano), nil
	}
	return "", fmt.Errorf("expected a string, got %s", v.Kind)
}

func integer(v tree.Value) (int, error) {
	switch v.Kind {
	case tree.Int:
		return int(v.Int()), nil
	case tree.Float:
		return int(v.Float()), nil
	case tree.Bool:
		if v.Bool() {
			return 1, nil
		}
		return 0, nil
	case tree.Null:
		return 0, nil
	case tree.String:
		if v.Str == "" {
			return 0, nil
		}
		i, err := strconv.ParseInt(strings.TrimSpace(v.Str), 0, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", v.Str)
		}
		return int(i), nil
	}
	return 0, fmt.Errorf("expected an integer, got %s", v.Kind)
}

func boolean(v tree.Value) (bool, error) {
	switch v.Kind {
	case tree.Bool:
		return v.Bool(), nil
	case tree.Int:
		return v.Int() != 0, nil
	case tree.Null:
		return false, nil
	case tree.String:
		if v.Str == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v.Str)
		if err != nil {
			return false, fmt.Errorf("%q is not a boolean", v.Str)
		}
		return b, nil
	}
	return false, fmt.Errorf("expected a boolean, got %s", v.Kind)
}
