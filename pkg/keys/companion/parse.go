// Package companion gives kura the cloud key sources (AWS KMS, GCP KMS,
// Azure Key Vault, HashiCorp Vault transit) without linking their SDKs:
// it parses the key strings users write, and hands wrapping and
// unwrapping to a companion process (kura-kms) over the protocol of
// pkg/keys/kmsproto, started on first use and shared by the whole run.
package companion

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/kura-secrets/kura/pkg/keys"
)

// ParseKMS parses one AWS KMS key as sops writes it: an ARN, optionally
// followed by "+" and the ARN of a role to assume. Spaces are removed.
func ParseKMS(s string, context map[string]string, profile string) (keys.Stanza, error) {
	s = strings.ReplaceAll(s, " ", "")
	st := keys.Stanza{Type: keys.KMS, ARN: s, Context: context, AWSProfile: profile}
	// An ARN cannot hold ':' in its path, so "+arn:" separates two ARNs.
	if i := strings.Index(s, "+arn:"); i > 0 {
		st.ARN, st.Role = s[:i], s[i+1:]
	}
	if !kmsARN().MatchString(st.ARN) {
		return st, fmt.Errorf("%q is not an AWS KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME)", st.ARN)
	}
	return st, nil
}

// The patterns compile on first use: kura starts often, and most runs
// parse no cloud key.
var kmsARN = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$`)
})

// ParseKMSList parses a comma-separated list of KMS keys.
func ParseKMSList(list string, context map[string]string, profile string) ([]keys.Stanza, error) {
	var out []keys.Stanza
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		st, err := ParseKMS(s, context, profile)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// ParseEncryptionContext parses --encryption-context: comma-separated
// key:value pairs.
func ParseEncryptionContext(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || strings.Contains(v, ":") {
			return nil, fmt.Errorf("encryption context %q: want comma-separated key:value pairs", kv)
		}
		out[k] = v
	}
	return out, nil
}

// ParseGCP parses a GCP KMS key resource ID.
func ParseGCP(s string) (keys.Stanza, error) {
	s = strings.TrimSpace(s)
	if !gcpID().MatchString(s) {
		return keys.Stanza{}, fmt.Errorf("%q is not a GCP KMS key (projects/P/locations/L/keyRings/R/cryptoKeys/K)", s)
	}
	return keys.Stanza{Type: keys.GCPKMS, ResourceID: s}, nil
}

var gcpID = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)
})

// ParseAzure parses an Azure Key Vault key URL,
// https://VAULT.vault.azure.net/keys/NAME[/VERSION]. Without a version,
// the companion asks the vault for the current one when it wraps.
func ParseAzure(s string) (keys.Stanza, error) {
	s = strings.TrimSpace(s)
	m := azureURL().FindStringSubmatch(s)
	if m == nil {
		return keys.Stanza{}, fmt.Errorf("%q is not an Azure Key Vault key URL (https://VAULT.vault.azure.net/keys/NAME[/VERSION])", s)
	}
	return keys.Stanza{Type: keys.AzureKV, AzureVaultURL: m[1], AzureName: m[2], AzureVersion: strings.TrimPrefix(m[3], "/")}, nil
}

var azureURL = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(https://[^/]+)/keys/([^/]+)(/[^/]*)?$`) })

// ParseVault parses a HashiCorp Vault transit key URI,
// https://vault.example.com:8200/v1/ENGINE/PATH/keys/NAME.
func ParseVault(s string) (keys.Stanza, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return keys.Stanza{}, fmt.Errorf("%q is not a Vault transit key URI: %w", s, err)
	}
	if u.Scheme == "" || u.Host == "" {
		return keys.Stanza{}, fmt.Errorf("%q is not a Vault transit key URI: it needs a scheme and host, like https://vault.example.com:8200/v1/transit/keys/NAME", s)
	}
	p := u.RequestURI()
	if vaultPrefixed().MatchString(p) {
		return keys.Stanza{}, fmt.Errorf("%q: Vault behind a path prefix is not supported (the path must start with /v1/)", s)
	}
	if !vaultPath().MatchString(p) {
		return keys.Stanza{}, fmt.Errorf("%q is not a Vault transit key URI (https://vault.example.com:8200/v1/transit/keys/NAME)", s)
	}
	dirs := strings.Split(strings.Trim(p, "/"), "/")
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	return keys.Stanza{
		Type:            keys.Vault,
		VaultAddress:    u.String(),
		VaultEnginePath: path.Join(dirs[1 : len(dirs)-2]...),
		VaultKeyName:    dirs[len(dirs)-1],
	}, nil
}

var (
	vaultPrefixed = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/[^/]+/v[\d]+/[^/]+/[^/]+/[^/]+`) })
	vaultPath     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/v[\d]+/[^/]+/[^/]+/[^/]+`) })
)

// ParseHCKMS parses a HuaweiCloud KMS key, REGION:KEY-UUID.
func ParseHCKMS(s string) (keys.Stanza, error) {
	s = strings.TrimSpace(s)
	region, id, ok := strings.Cut(s, ":")
	if !ok || region == "" || id == "" {
		return keys.Stanza{}, fmt.Errorf("%q is not a HuaweiCloud KMS key (REGION:KEY-UUID)", s)
	}
	return keys.Stanza{Type: keys.HCKMS, KeyID: s}, nil
}
