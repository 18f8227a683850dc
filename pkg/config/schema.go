package config

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/rules"
	yaml "go.yaml.in/yaml/v3"
)

// This file reads the parts of .sops.yaml; parse.go has the means.

// The fields of each mapping, in the order sops declares them (ties in
// spelling suggestions go to the first).
var (
	topSpec = &mapSpec{
		known:         []string{"creation_rules", "destination_rules", "stores"},
		anchorHolders: true,
		hints: map[string]string{
			"path_regex": "path_regex belongs in a creation rule, under creation_rules",
			"age":        "age belongs in a creation rule, under creation_rules",
			"pgp":        "pgp belongs in a creation rule, under creation_rules",
			"kms":        "kms belongs in a creation rule, under creation_rules",
			"key_groups": "key_groups belongs in a creation rule, under creation_rules",
		},
	}
	ruleFields = []string{
		"path_regex", "kms", "aws_profile", "age", "pgp", "gcp_kms", "hckms", "azure_keyvault",
		"hc_vault_transit_uri", "key_groups", "shamir_threshold", "unencrypted_suffix", "encrypted_suffix",
		"unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex",
		"mac_only_encrypted",
	}
	ruleHints = map[string]string{
		"hc_vault":                        "a creation rule takes hc_vault_transit_uri; hc_vault is for key groups",
		"filename_regex":                  "sops 3.13.2 has no filename_regex; path_regex matches the path relative to .sops.yaml",
		"azure_kv":                        "did you mean \"azure_keyvault\"?",
		"merge":                           "merge belongs in a key group, under key_groups",
		"shamir_secret_sharing_threshold": "did you mean \"shamir_threshold\"?",
	}
	ruleSpec       = &mapSpec{known: ruleFields, hints: ruleHints}
	recreationSpec = &mapSpec{known: ruleFields[1:], hints: mergeHints(ruleHints, map[string]string{
		"path_regex": "a recreation_rule has no path_regex: the destination rule's path_regex chooses the files",
	})}
	groupSpec = &mapSpec{
		known: []string{"merge", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault", "age", "pgp"},
		hints: map[string]string{
			"hc_vault_transit_uri": "a key group takes hc_vault; hc_vault_transit_uri is for creation rules",
			"aws_profile":          "in a key group, give aws_profile on each kms entry",
			"shamir_threshold":     "shamir_threshold belongs in the creation rule, beside key_groups",
			"key_groups":           "key groups do not nest; use merge to include a group in another",
		},
	}
	kmsSpec      = &mapSpec{known: []string{"arn", "role", "context", "aws_profile"}}
	gcpSpec      = &mapSpec{known: []string{"resource_id"}}
	hckmsSpec    = &mapSpec{known: []string{"key_id"}}
	azureSpec    = &mapSpec{known: []string{"vaultUrl", "key", "version"}}
	contextSpec  = &mapSpec{free: true}
	storesSpec   = &mapSpec{known: []string{"dotenv", "ini", "json_binary", "json", "yaml"}}
	indentSpec   = &mapSpec{known: []string{"indent"}}
	noOptionSpec = &mapSpec{known: []string{}}
	destSpec     = &mapSpec{known: []string{
		"path_regex", "s3_bucket", "s3_prefix", "gcs_bucket", "gcs_prefix", "vault_path", "vault_address",
		"vault_kv_mount_name", "vault_kv_version", "recreation_rule", "omit_extensions",
	}}
)

func mergeHints(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func removeSpaces(s string) string { return strings.ReplaceAll(s, " ", "") }

// keyKind describes the key strings of one field.
type keyKind struct {
	typ string
	// norm is applied to each trimmed piece, as sops does before use.
	norm func(string) string
	// check validates by syntax the key forms that need no cryptography.
	check func(string) error
}

var (
	ageKind   = keyKind{TypeAge, strings.TrimSpace, nil}
	pgpKind   = keyKind{TypePGP, removeSpaces, nil}
	kmsKind   = keyKind{TypeKMS, removeSpaces, checkKMS}
	gcpKind   = keyKind{TypeGCPKMS, removeSpaces, checkGCP}
	azureKind = keyKind{TypeAzureKV, strings.TrimSpace, checkAzure}
	vaultKind = keyKind{TypeVault, strings.TrimSpace, checkVault}
	hckmsKind = keyKind{TypeHCKMS, strings.TrimSpace, checkHCKMS}
)

func checkKMS(s string) error   { _, err := companion.ParseKMS(s, nil, ""); return err }
func checkGCP(s string) error   { _, err := companion.ParseGCP(s); return err }
func checkAzure(s string) error { _, err := companion.ParseAzure(s); return err }
func checkVault(s string) error { _, err := companion.ParseVault(s); return err }
func checkHCKMS(s string) error { _, err := companion.ParseHCKMS(s); return err }

// addKey records a key string: checked by syntax, appended to list, and
// to refs with its position.
func (p *parser) addKey(list *[]string, refs *[]KeyRef, kind keyKind, at *yaml.Node, pc piece, field string) error {
	f := fmt.Sprintf("%s[%d]", field, len(*list))
	if err := p.spend(1, at, f); err != nil {
		return err
	}
	value := kind.norm(pc.text)
	col := p.column(at, pc.offset)
	if kind.check != nil {
		if err := kind.check(value); err != nil {
			return &Error{Line: at.Line, Column: col, Field: f, Err: err}
		}
	}
	*refs = append(*refs, KeyRef{Type: kind.typ, Value: value, Line: at.Line, Column: col, Field: f})
	*list = append(*list, value)
	return nil
}

// ruleKeys reads a single-key field of a creation rule: a string of
// comma-separated keys (pieces trimmed, empty ones dropped, as sops does),
// or a list of strings. sops joins list items with commas and splits them
// again, so an item may hold several keys too; an empty item or piece,
// which sops would turn into a broken key, is refused. listOnly is for
// hckms, which sops reads as a list only.
func (p *parser) ruleKeys(n *yaml.Node, field string, kind keyKind, listOnly bool, refs *[]KeyRef) ([]string, error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return nil, err
	}
	var out []string
	switch v.Kind {
	case yaml.ScalarNode:
		if listOnly {
			return nil, p.fail(n, field, "must be a list of strings, got %s (sops does not accept a single string here)", describe(v))
		}
		if v.ShortTag() != "!!str" {
			return nil, p.fail(n, field, "must be a string or a list of strings, got %s", describe(v))
		}
		for _, pc := range pieces(v.Value) {
			if pc.text == "" {
				continue
			}
			if err := p.addKey(&out, refs, kind, n, pc, field); err != nil {
				return nil, err
			}
		}
	case yaml.SequenceNode:
		for i, item := range v.Content {
			itemField := fmt.Sprintf("%s[%d]", field, i)
			iv, err := p.resolve(item, itemField)
			if err != nil {
				return nil, err
			}
			if iv.Kind != yaml.ScalarNode || iv.ShortTag() != "!!str" {
				return nil, p.fail(item, itemField, "list items must be strings, got %s", describe(iv))
			}
			for _, pc := range pieces(iv.Value) {
				if pc.text == "" {
					return nil, p.fail(item, itemField, "empty key in %s", quote(iv.Value))
				}
				if err := p.addKey(&out, refs, kind, item, pc, field); err != nil {
					return nil, err
				}
			}
		}
	default:
		return nil, p.fail(n, field, "must be a string or a list of strings, got %s", describe(v))
	}
	return out, nil
}

// groupStrings reads a list of strings of a key group (age, pgp,
// hc_vault). sops reads these as lists only.
func (p *parser) groupStrings(n *yaml.Node, field string) (nodes []*yaml.Node, values []string, err error) {
	v, err := p.resolve(n, field)
	if err != nil || isNull(v) {
		return nil, nil, err
	}
	if v.Kind != yaml.SequenceNode {
		return nil, nil, p.fail(n, field, "must be a list of strings, got %s (in a key group sops reads lists only)", describe(v))
	}
	for i, item := range v.Content {
		itemField := fmt.Sprintf("%s[%d]", field, i)
		iv, err := p.resolve(item, itemField)
		if err != nil {
			return nil, nil, err
		}
		if iv.Kind != yaml.ScalarNode || iv.ShortTag() != "!!str" {
			return nil, nil, p.fail(item, itemField, "list items must be strings, got %s", describe(iv))
		}
		if strings.TrimSpace(iv.Value) == "" {
			return nil, nil, p.fail(item, itemField, "empty key")
		}
		nodes = append(nodes, item)
		values = append(values, iv.Value)
	}
	return nodes, values, nil
}

// creationRules reads creation_rules. A null value is no rules; an empty
// list is kept as an empty, non-nil slice (see Config.CreationRules).
func (p *parser) creationRules(n *yaml.Node, c *Config) error {
	items, list, err := p.items(n, "creation_rules")
	if err != nil || !list {
		return err
	}
	c.CreationRules = make([]CreationRule, 0, len(items))
	for i, item := range items {
		f := fmt.Sprintf("creation_rules[%d]", i)
		v, err := p.resolve(item, f)
		if err != nil {
			return err
		}
		if isNull(v) {
			// sops drops such an item; it is most likely an editing
			// accident, and "{}" says a catch-all rule explicitly.
			return p.fail(item, f, "empty creation rule (write {} for a rule that matches every file and names no keys)")
		}
		r, err := p.creationRule(item, f, i, false)
		if err != nil {
			return err
		}
		c.CreationRules = append(c.CreationRules, r)
	}
	return nil
}

// creationRule reads one creation rule, or a recreation_rule.
func (p *parser) creationRule(n *yaml.Node, field string, index int, recreation bool) (CreationRule, error) {
	r := CreationRule{Index: index, Field: field, Line: n.Line, Column: n.Column}
	spec := ruleSpec
	if recreation {
		spec = recreationSpec
	}
	entries, err := p.fields(n, field, spec)
	if err != nil {
		return r, err
	}
	var (
		selectors            []entry // those set, in file order
		singleKeys, profile  *entry  // first single-key field with keys; aws_profile
		threshold, keyGroups *entry
	)
	for i := range entries {
		e := &entries[i]
		f := field + "." + e.name
		var list *[]string
		var kind keyKind
		switch e.name {
		case "path_regex":
			if r.PathRegex, err = p.str(e.val, f); err == nil {
				r.pathRe, err = p.regex(e.val, f, r.PathRegex)
			}
		case "age":
			list, kind = &r.Age, ageKind
		case "pgp":
			list, kind = &r.PGP, pgpKind
		case "kms":
			list, kind = &r.KMS, kmsKind
		case "gcp_kms":
			list, kind = &r.GCPKMS, gcpKind
		case "azure_keyvault":
			list, kind = &r.AzureKeyVault, azureKind
		case "hc_vault_transit_uri":
			list, kind = &r.VaultURIs, vaultKind
		case "hckms":
			list, kind = &r.HCKMS, hckmsKind
		case "aws_profile":
			r.AWSProfile, err = p.str(e.val, f)
			if r.AWSProfile != "" {
				profile = e
			}
		case "key_groups":
			keyGroups = e
			err = p.keyGroups(e.val, f, &r)
		case "shamir_threshold":
			threshold = e
			r.ShamirThreshold, err = p.integer(e.val, f)
		case "mac_only_encrypted":
			r.Rules.MACOnlyEncrypted, err = p.boolean(e.val, f)
		default: // a selector
			var s string
			if s, err = p.str(e.val, f); err == nil && strings.HasSuffix(e.name, "_regex") {
				_, err = p.regex(e.val, f, s)
			}
			*r.selector(e.name) = s
			if s != "" {
				selectors = append(selectors, *e)
			}
		}
		if err == nil && list != nil {
			*list, err = p.ruleKeys(e.val, f, kind, e.name == "hckms", &r.keyRefs)
			if len(*list) > 0 && singleKeys == nil {
				singleKeys = e
			}
		}
		if err != nil {
			return r, err
		}
	}
	if len(selectors) > 1 {
		s := selectors[1]
		return r, p.fail(s.key, field+"."+s.name, "%v for the same rule (%s is set too)", rules.ErrConflict, selectors[0].name)
	}
	if len(r.KeyGroups) > 0 {
		// sops uses key_groups alone when it is set, silently.
		if singleKeys != nil {
			return r, p.fail(singleKeys.key, field+"."+singleKeys.name, "sops ignores the rule's single keys when key_groups is set: move them into a key group")
		}
		if profile != nil {
			return r, p.fail(profile.key, field+".aws_profile", "sops ignores it when key_groups is set: give aws_profile on each kms entry of the key groups")
		}
	}
	if keyGroups != nil && len(r.KeyGroups) > maxKeyGroups {
		return r, p.fail(keyGroups.key, field+".key_groups", "%d key groups: at most %d are possible", len(r.KeyGroups), maxKeyGroups)
	}
	// A threshold that the groups cannot meet (1, or more than the
	// groups) is refused when a file is encrypted, as sops does: a flag
	// may override it, and decryption never uses it.
	if threshold != nil && r.ShamirThreshold < 0 {
		return r, p.fail(threshold.val, field+".shamir_threshold", "must not be negative, got %d", r.ShamirThreshold)
	}
	return r, nil
}

// selector returns the field of r.Rules for a selector name.
func (r *CreationRule) selector(name string) *string {
	switch name {
	case "unencrypted_suffix":
		return &r.Rules.UnencryptedSuffix
	case "encrypted_suffix":
		return &r.Rules.EncryptedSuffix
	case "unencrypted_regex":
		return &r.Rules.UnencryptedRegex
	case "encrypted_regex":
		return &r.Rules.EncryptedRegex
	case "unencrypted_comment_regex":
		return &r.Rules.UnencryptedCommentRegex
	}
	return &r.Rules.EncryptedCommentRegex
}

// keyGroups reads a rule's key_groups.
func (p *parser) keyGroups(n *yaml.Node, field string, r *CreationRule) error {
	items, _, err := p.items(n, field)
	if err != nil {
		return err
	}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		g, err := p.keyGroup(item, f, 0, &r.keyRefs)
		if err != nil {
			return err
		}
		if g.empty() {
			return p.fail(item, f, "empty key group: it names no keys, and sops cannot encrypt for it")
		}
		r.KeyGroups = append(r.KeyGroups, g)
	}
	return nil
}

func (g *KeyGroup) empty() bool {
	return len(g.Age)+len(g.PGP)+len(g.KMS)+len(g.GCPKMS)+len(g.AzureKeyVault)+len(g.Vault)+len(g.HCKMS) == 0
}

// keyGroup reads one key group, merging in its merge groups first, and
// drops duplicate keys as sops does (same type, same identity).
func (p *parser) keyGroup(n *yaml.Node, field string, depth int, refs *[]KeyRef) (KeyGroup, error) {
	var merged, own KeyGroup
	v, err := p.resolve(n, field)
	if err != nil {
		return own, err
	}
	leave, err := p.enter(v, n, field, "merge")
	if err != nil {
		return own, err
	}
	defer leave()
	entries, err := p.fields(v, field, groupSpec)
	if err != nil {
		return own, err
	}
	for _, e := range entries {
		f := field + "." + e.name
		switch e.name {
		case "merge":
			err = p.merge(e.val, f, depth, &merged, refs)
		case "age":
			err = p.groupKeys(e.val, f, ageKind, true, &own.Age, refs)
		case "pgp":
			err = p.groupKeys(e.val, f, pgpKind, false, &own.PGP, refs)
		case "hc_vault":
			err = p.groupKeys(e.val, f, vaultKind, false, &own.Vault, refs)
		case "kms":
			err = p.kmsEntries(e.val, f, &own.KMS, refs)
		case "gcp_kms":
			err = p.oneFieldEntries(e.val, f, gcpSpec, "resource_id", gcpKind, &own.GCPKMS, refs)
		case "hckms":
			err = p.oneFieldEntries(e.val, f, hckmsSpec, "key_id", hckmsKind, &own.HCKMS, refs)
		case "azure_keyvault":
			err = p.azureEntries(e.val, f, &own.AzureKeyVault, refs)
		}
		if err != nil {
			return own, err
		}
	}
	out := KeyGroup{
		Age:           dedup(append(merged.Age, own.Age...), ident),
		PGP:           dedup(append(merged.PGP, own.PGP...), ident),
		KMS:           dedup(append(merged.KMS, own.KMS...), func(k KMSKey) string { return k.ARN + "+" + k.Role }),
		GCPKMS:        dedup(append(merged.GCPKMS, own.GCPKMS...), ident),
		AzureKeyVault: dedup(append(merged.AzureKeyVault, own.AzureKeyVault...), AzureKey.URL),
		Vault:         dedup(append(merged.Vault, own.Vault...), vaultIdentity),
		HCKMS:         dedup(append(merged.HCKMS, own.HCKMS...), ident),
	}
	return out, nil
}

func ident(s string) string { return s }

// vaultIdentity gives a Vault URI as sops identifies the key, so that two
// spellings of one key count once.
func vaultIdentity(s string) string {
	st, err := companion.ParseVault(s)
	if err != nil {
		return s
	}
	return st.VaultAddress + "/v1/" + st.VaultEnginePath + "/keys/" + st.VaultKeyName
}

func dedup[T any](in []T, id func(T) string) []T {
	seen := map[string]bool{}
	var out []T
	for _, x := range in {
		if k := id(x); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	return out
}

// merge reads a group's merge list: groups whose keys join this one.
func (p *parser) merge(n *yaml.Node, field string, depth int, into *KeyGroup, refs *[]KeyRef) error {
	items, _, err := p.items(n, field)
	if err != nil {
		return err
	}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		if depth >= maxMergeDepth {
			return p.fail(item, f, "merge nested more than %d deep", maxMergeDepth)
		}
		g, err := p.keyGroup(item, f, depth+1, refs)
		if err != nil {
			return err
		}
		into.Age = append(into.Age, g.Age...)
		into.PGP = append(into.PGP, g.PGP...)
		into.KMS = append(into.KMS, g.KMS...)
		into.GCPKMS = append(into.GCPKMS, g.GCPKMS...)
		into.AzureKeyVault = append(into.AzureKeyVault, g.AzureKeyVault...)
		into.Vault = append(into.Vault, g.Vault...)
		into.HCKMS = append(into.HCKMS, g.HCKMS...)
	}
	return nil
}

// groupKeys reads a group's list of key strings. For age, sops splits
// each item on commas and refuses empty pieces; other types are taken
// whole.
func (p *parser) groupKeys(n *yaml.Node, field string, kind keyKind, split bool, list *[]string, refs *[]KeyRef) error {
	nodes, values, err := p.groupStrings(n, field)
	if err != nil {
		return err
	}
	for i, v := range values {
		ps := []piece{{strings.TrimSpace(v), len([]rune(v)) - len([]rune(strings.TrimLeftFunc(v, unicode.IsSpace)))}}
		if split {
			ps = pieces(v)
		}
		for _, pc := range ps {
			if pc.text == "" {
				return p.fail(nodes[i], fmt.Sprintf("%s[%d]", field, i), "empty key in %s", quote(v))
			}
			if err := p.addKey(list, refs, kind, nodes[i], pc, field); err != nil {
				return err
			}
		}
	}
	return nil
}

// kmsEntries reads a group's kms list.
func (p *parser) kmsEntries(n *yaml.Node, field string, list *[]KMSKey, refs *[]KeyRef) error {
	items, _, err := p.items(n, field)
	if err != nil {
		return err
	}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		entries, err := p.fields(item, f, kmsSpec)
		if err != nil {
			return err
		}
		var k KMSKey
		var arnNode, roleNode *yaml.Node
		for _, e := range entries {
			switch e.name {
			case "arn":
				arnNode = e.val
				k.ARN, err = p.str(e.val, f+".arn")
			case "role":
				roleNode = e.val
				k.Role, err = p.str(e.val, f+".role")
			case "aws_profile":
				k.AWSProfile, err = p.str(e.val, f+".aws_profile")
			case "context":
				k.Context, err = p.context(e.val, f+".context")
			}
			if err != nil {
				return err
			}
		}
		if strings.TrimSpace(k.ARN) == "" {
			return p.fail(either(arnNode, item), f, "missing field \"arn\"")
		}
		k.ARN = removeSpaces(k.ARN)
		st, err := companion.ParseKMS(k.ARN, nil, "")
		if err != nil {
			return p.fail(arnNode, f+".arn", "%v", err)
		}
		if st.Role != "" {
			return p.fail(arnNode, f+".arn", "%s: give the role in the role field (ARN+ROLE is the form of a rule's kms field)", quote(k.ARN))
		}
		value := k.ARN
		if k.Role != "" {
			if !strings.HasPrefix(k.Role, "arn:") {
				return p.fail(roleNode, f+".role", "%s is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)", quote(k.Role))
			}
			value += "+" + k.Role
		}
		*refs = append(*refs, KeyRef{Type: TypeKMS, Value: value, Line: arnNode.Line, Column: p.column(arnNode, 0), Field: f})
		*list = append(*list, k)
	}
	return nil
}

func either(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}

// context reads a KMS encryption context: a mapping of strings.
func (p *parser) context(n *yaml.Node, field string) (map[string]string, error) {
	entries, err := p.fields(n, field, contextSpec)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		f := field + "." + e.name
		v, err := p.resolve(e.val, f)
		if err != nil {
			return nil, err
		}
		if v.Kind != yaml.ScalarNode || isNull(v) {
			// sops would pass a null on to AWS, which wants strings.
			return nil, p.fail(e.val, f, "must be a string, got %s", describe(v))
		}
		if out[e.name], err = p.str(v, f); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// oneFieldEntries reads a group's gcp_kms or hckms list: mappings of one
// required field.
func (p *parser) oneFieldEntries(n *yaml.Node, field string, spec *mapSpec, name string, kind keyKind, list *[]string, refs *[]KeyRef) error {
	items, _, err := p.items(n, field)
	if err != nil {
		return err
	}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		entries, err := p.fields(item, f, spec)
		if err != nil {
			return err
		}
		var node *yaml.Node
		var s string
		for _, e := range entries {
			node = e.val
			if s, err = p.str(e.val, f+"."+name); err != nil {
				return err
			}
		}
		if strings.TrimSpace(s) == "" {
			return p.fail(either(node, item), f, "missing field %q", name)
		}
		value := kind.norm(s)
		col := p.column(node, 0)
		if err := kind.check(value); err != nil {
			return &Error{Line: node.Line, Column: col, Field: f, Err: err}
		}
		*refs = append(*refs, KeyRef{Type: kind.typ, Value: value, Line: node.Line, Column: col, Field: f})
		*list = append(*list, value)
	}
	return nil
}

// azureEntries reads a group's azure_keyvault list.
func (p *parser) azureEntries(n *yaml.Node, field string, list *[]AzureKey, refs *[]KeyRef) error {
	items, _, err := p.items(n, field)
	if err != nil {
		return err
	}
	for i, item := range items {
		f := fmt.Sprintf("%s[%d]", field, i)
		entries, err := p.fields(item, f, azureSpec)
		if err != nil {
			return err
		}
		var k AzureKey
		var urlNode *yaml.Node
		for _, e := range entries {
			switch e.name {
			case "vaultUrl":
				urlNode = e.val
				k.VaultURL, err = p.str(e.val, f+".vaultUrl")
			case "key":
				k.Key, err = p.str(e.val, f+".key")
			case "version":
				k.Version, err = p.str(e.val, f+".version")
			}
			if err != nil {
				return err
			}
		}
		for _, req := range []struct{ name, v string }{{"vaultUrl", k.VaultURL}, {"key", k.Key}} {
			if req.v == "" {
				return p.fail(item, f, "missing field %q", req.name)
			}
		}
		u := k.URL()
		if _, err := companion.ParseAzure(u); err != nil {
			return p.fail(urlNode, f, "%v", err)
		}
		*refs = append(*refs, KeyRef{Type: TypeAzureKV, Value: u, Line: urlNode.Line, Column: p.column(urlNode, 0), Field: f})
		*list = append(*list, k)
	}
	return nil
}

// destinationRules reads destination_rules.
func (p *parser) destinationRules(n *yaml.Node, c *Config) error {
	items, _, err := p.items(n, "destination_rules")
	if err != nil {
		return err
	}
	for i, item := range items {
		d, err := p.destinationRule(item, fmt.Sprintf("destination_rules[%d]", i), i)
		if err != nil {
			return err
		}
		c.DestinationRules = append(c.DestinationRules, d)
	}
	return nil
}

// destinationRule reads one destination rule. sops takes the first of
// several destinations it finds set and ignores prefixes and Vault
// settings that do not apply; each of those is refused here.
func (p *parser) destinationRule(n *yaml.Node, field string, index int) (DestinationRule, error) {
	d := DestinationRule{Index: index, Field: field, Line: n.Line, Column: n.Column}
	d.RecreationRule = CreationRule{Index: index, Field: field + ".recreation_rule"}
	v, err := p.resolve(n, field)
	if err != nil {
		return d, err
	}
	if isNull(v) {
		return d, p.fail(n, field, "empty destination rule: it names no destination")
	}
	entries, err := p.fields(n, field, destSpec)
	if err != nil {
		return d, err
	}
	set := map[string]*entry{} // fields given a non-empty value
	var dests []*entry
	for i := range entries {
		e := &entries[i]
		f := field + "." + e.name
		var s string
		switch e.name {
		case "vault_kv_version":
			if d.VaultKVVersion, err = p.integer(e.val, f); err == nil && d.VaultKVVersion != 0 {
				set[e.name] = e
			}
		case "omit_extensions":
			d.OmitExtensions, err = p.boolean(e.val, f)
		case "recreation_rule":
			var rv *yaml.Node
			if rv, err = p.resolve(e.val, f); err == nil && !isNull(rv) {
				d.RecreationRule, err = p.creationRule(e.val, f, index, true)
			}
		default:
			if s, err = p.str(e.val, f); err == nil && s != "" {
				set[e.name] = e
				if e.name == "s3_bucket" || e.name == "gcs_bucket" || e.name == "vault_path" {
					dests = append(dests, e)
				}
			}
			switch e.name {
			case "path_regex":
				d.PathRegex = s
				if err == nil {
					d.pathRe, err = p.regex(e.val, f, s)
				}
			case "s3_bucket":
				d.S3Bucket = s
			case "s3_prefix":
				d.S3Prefix = s
			case "gcs_bucket":
				d.GCSBucket = s
			case "gcs_prefix":
				d.GCSPrefix = s
			case "vault_path":
				d.VaultPath = s
			case "vault_address":
				d.VaultAddress = s
			case "vault_kv_mount_name":
				d.VaultKVMountName = s
			}
		}
		if err != nil {
			return d, err
		}
	}
	switch len(dests) {
	case 0:
		return d, p.fail(n, field, "names no destination: set one of s3_bucket, gcs_bucket or vault_path")
	case 1:
	default:
		return d, p.fail(dests[1].key, field+"."+dests[1].name, "a destination rule has one destination, and %s is set too", dests[0].name)
	}
	for _, dep := range []struct{ name, needs string }{
		{"s3_prefix", "s3_bucket"}, {"gcs_prefix", "gcs_bucket"}, {"vault_address", "vault_path"},
		{"vault_kv_mount_name", "vault_path"}, {"vault_kv_version", "vault_path"},
	} {
		if e := set[dep.name]; e != nil && set[dep.needs] == nil {
			return d, p.fail(e.key, field+"."+dep.name, "applies only with %s, which this rule does not set", dep.needs)
		}
	}
	if e := set["vault_kv_version"]; e != nil && d.VaultKVVersion != 1 && d.VaultKVVersion != 2 {
		return d, p.fail(e.val, field+".vault_kv_version", "must be 1 or 2, got %d", d.VaultKVVersion)
	}
	if e := set["vault_address"]; e != nil {
		if u, err := url.Parse(d.VaultAddress); err != nil || u.Scheme == "" || u.Host == "" {
			return d, p.fail(e.val, field+".vault_address", "%s is not a Vault address (like https://vault.example.com:8200)", quote(d.VaultAddress))
		}
	}
	return d, nil
}

// stores reads the stores section.
func (p *parser) stores(n *yaml.Node, s *Stores) error {
	entries, err := p.fields(n, "stores", storesSpec)
	if err != nil {
		return err
	}
	for _, e := range entries {
		f := "stores." + e.name
		if e.name == "dotenv" || e.name == "ini" {
			if _, err := p.fields(e.val, f, noOptionSpec); err != nil {
				return err
			}
			continue
		}
		opts, err := p.fields(e.val, f, indentSpec)
		if err != nil {
			return err
		}
		for _, o := range opts {
			// A null indent leaves the default, as in sops.
			if v, err := p.resolve(o.val, f+".indent"); err != nil || isNull(v) {
				if err != nil {
					return err
				}
				continue
			}
			i, err := p.integer(o.val, f+".indent")
			if err != nil {
				return err
			}
			switch {
			case e.name == "yaml" && i < 0:
				return p.fail(o.val, f+".indent", "must not be negative, got %d (0 means the default, 4)", i)
			case e.name != "yaml" && i < -1:
				return p.fail(o.val, f+".indent", "must be -1 (TAB) or more, got %d", i)
			}
			switch e.name {
			case "yaml":
				s.YAMLIndent = i
			case "json":
				s.JSONIndent = i
			case "json_binary":
				s.JSONBinaryIndent = i
			}
		}
	}
	return nil
}
