package metadata

import (
	"sort"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/tree"
)

// ToTree returns the metadata as the map SOPS writes: every key in byte
// order, empty fields left out, key_groups only for two or more groups
// (each group always holding "age" and "hc_vault", empty or not).
//
// The binary format records no selection rule; callers pass a Metadata
// whose Rules are zero for it.
func (m *Metadata) ToTree() []tree.Item {
	var items []tree.Item
	add := func(name string, v tree.Value) { items = append(items, tree.KeyItem(name, v)) }
	addStr := func(name, v string) {
		if v != "" {
			add(name, tree.Str(v))
		}
	}
	if len(m.KeyGroups) == 1 && len(m.KeyGroups[0]) > 0 {
		// (a single empty group, which only a hand-edited key_groups
		// holds, stays a key_groups entry: the flat form of it would be
		// no keys at all)
		for _, t := range typesByName {
			if l := stanzaList(m.KeyGroups[0], t); len(l) > 0 {
				add(string(t), tree.ListV(l))
			}
		}
	} else {
		groups := make([]tree.Value, len(m.KeyGroups))
		for i, g := range m.KeyGroups {
			var gi []tree.Item
			for _, t := range typesByName {
				l := stanzaList(g, t)
				if len(l) > 0 || t == keys.Age || t == keys.Vault {
					if l == nil {
						l = []tree.Value{}
					}
					gi = append(gi, tree.KeyItem(string(t), tree.ListV(l)))
				}
			}
			groups[i] = tree.MapV(gi)
		}
		add("key_groups", tree.ListV(groups))
	}
	addStr("encrypted_comment_regex", m.Rules.EncryptedCommentRegex)
	addStr("encrypted_regex", m.Rules.EncryptedRegex)
	addStr("encrypted_suffix", m.Rules.EncryptedSuffix)
	add("lastmodified", tree.Str(m.LastModifiedText()))
	add("mac", tree.Str(m.MAC))
	if m.Rules.MACOnlyEncrypted {
		add("mac_only_encrypted", tree.BoolV(true))
	}
	if m.ShamirThreshold != 0 {
		add("shamir_threshold", tree.IntV(int64(m.ShamirThreshold)))
	}
	addStr("unencrypted_comment_regex", m.Rules.UnencryptedCommentRegex)
	addStr("unencrypted_regex", m.Rules.UnencryptedRegex)
	addStr("unencrypted_suffix", m.Rules.UnencryptedSuffix)
	add("version", tree.Str(m.Version))
	sort.SliceStable(items, func(i, j int) bool { return items[i].Key.Str < items[j].Key.Str })
	return items
}

// typesByName lists the key types in the byte order of their names, the
// order in which they appear in the metadata.
var typesByName = []keys.Type{keys.Age, keys.AzureKV, keys.GCPKMS, keys.Vault, keys.HCKMS, keys.KMS, keys.PGP}

func stanzaList(g keys.Group, t keys.Type) []tree.Value {
	var l []tree.Value
	for i := range g {
		if g[i].Type == t {
			l = append(l, tree.MapV(stanzaItems(&g[i])))
		}
	}
	return l
}

func stanzaItems(s *keys.Stanza) []tree.Item {
	var items []tree.Item
	add := func(name, v string) { items = append(items, tree.KeyItem(name, tree.Str(v))) }
	switch s.Type {
	case keys.Age:
		add("enc", s.Enc)
		add("recipient", s.Recipient)
	case keys.AzureKV:
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		add("name", s.AzureName)
		add("vault_url", s.AzureVaultURL)
		add("version", s.AzureVersion)
	case keys.GCPKMS:
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		add("resource_id", s.ResourceID)
	case keys.Vault:
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		add("engine_path", s.VaultEnginePath)
		add("key_name", s.VaultKeyName)
		add("vault_address", s.VaultAddress)
	case keys.HCKMS:
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		add("key_id", s.KeyID)
	case keys.KMS:
		add("arn", s.ARN)
		add("aws_profile", s.AWSProfile)
		if len(s.Context) > 0 {
			names := make([]string, 0, len(s.Context))
			for k := range s.Context {
				names = append(names, k)
			}
			sort.Strings(names)
			ctx := make([]tree.Item, len(names))
			for i, k := range names {
				ctx[i] = tree.KeyItem(k, tree.Str(s.Context[k]))
			}
			items = append(items, tree.KeyItem("context", tree.MapV(ctx)))
		}
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		if s.Role != "" {
			add("role", s.Role)
		}
	case keys.PGP:
		add("created_at", s.CreatedAt)
		add("enc", s.Enc)
		add("fp", s.Fingerprint)
	}
	return items
}
