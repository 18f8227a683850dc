package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/age"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// keyFlags name master keys on the command line.
type keyFlags struct {
	age string
}

// unwrappers returns the key sources that can unwrap data keys on this
// machine.
func (a *app) unwrappers() map[keys.Type]keys.Unwrapper {
	return map[keys.Type]keys.Unwrapper{
		keys.Age: age.NewIdentities(age.DefaultEnv()),
	}
}

// splitList splits a comma-separated key list as sops does: pieces are
// trimmed and empty ones dropped.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// recipientGroups works out the key groups to encrypt for: the keys named
// by flags or their environment variables, all in one group, if any;
// otherwise those of the matching creation rule.
func (a *app) recipientGroups(k *keyFlags, rule *config.CreationRule) ([][]keys.Recipient, error) {
	ageList := k.age
	if ageList == "" {
		ageList = a.getenv("SOPS_AGE_RECIPIENTS")
	}
	if ageList != "" {
		rs, err := ageRecipients(splitList(ageList))
		if err != nil {
			return nil, err
		}
		return [][]keys.Recipient{rs}, nil
	}
	if rule == nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric,
			Err:  errors.New("no keys to encrypt for: no .sops.yaml creation rule, and no --age (or SOPS_AGE_RECIPIENTS) given"),
			Hint: "make a key with age-keygen and pass its public key: kura encrypt --age age1... FILE"}
	}
	if len(rule.KeyGroups) > 0 {
		var groups [][]keys.Recipient
		for i, g := range rule.KeyGroups {
			if err := supported(g.PGP, g.GCPKMS, g.Vault, g.HCKMS, len(g.KMS), len(g.AzureKeyVault)); err != nil {
				return nil, fmt.Errorf("creation rule %d, key group %d: %w", rule.Index, i, err)
			}
			rs, err := ageRecipients(g.Age)
			if err != nil {
				return nil, fmt.Errorf("creation rule %d, key group %d: %w", rule.Index, i, err)
			}
			groups = append(groups, rs)
		}
		return groups, nil
	}
	if err := supported(rule.PGP, rule.GCPKMS, rule.VaultURIs, rule.HCKMS, len(rule.KMS), len(rule.AzureKeyVault)); err != nil {
		return nil, fmt.Errorf("creation rule %d: %w", rule.Index, err)
	}
	rs, err := ageRecipients(rule.Age)
	if err != nil {
		return nil, fmt.Errorf("creation rule %d: %w", rule.Index, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("creation rule %d names no keys, and none were given on the command line", rule.Index)
	}
	return [][]keys.Recipient{rs}, nil
}

// supported refuses key types this build cannot wrap for, rather than
// silently leaving them out of a file.
func supported(pgp, gcp, vault, hckms []string, kms, azure int) error {
	var names []string
	if len(pgp) > 0 {
		names = append(names, "pgp")
	}
	if kms > 0 {
		names = append(names, "kms")
	}
	if len(gcp) > 0 {
		names = append(names, "gcp_kms")
	}
	if azure > 0 {
		names = append(names, "azure_keyvault")
	}
	if len(vault) > 0 {
		names = append(names, "hc_vault")
	}
	if len(hckms) > 0 {
		names = append(names, "hckms")
	}
	if len(names) > 0 {
		return fmt.Errorf("this kura cannot encrypt for %s keys; it supports age keys", strings.Join(names, ", "))
	}
	return nil
}

func ageRecipients(list []string) ([]keys.Recipient, error) {
	var out []keys.Recipient
	for _, s := range list {
		r, err := age.ParseRecipient(s)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
