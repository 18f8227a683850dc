// Package keys defines how a file's data key is wrapped for its recipients
// and unwrapped again: the stanza stored in the metadata for each master
// key, and the two small interfaces every key source implements.
//
// The key sources themselves live in subpackages (age, pgp, shamir) or, for
// the cloud services, in the companion binary kura-kms, so that this package
// and kura's start-up stay free of cloud SDKs.
package keys

import (
	"errors"
	"sort"
	"strings"
)

// Type names a kind of master key, spelled as in the metadata.
type Type string

// The master key types SOPS v3 knows.
const (
	Age     Type = "age"
	PGP     Type = "pgp"
	KMS     Type = "kms"
	GCPKMS  Type = "gcp_kms"
	AzureKV Type = "azure_kv"
	Vault   Type = "hc_vault"
	HCKMS   Type = "hckms"
)

// LoadOrder is the order in which SOPS holds the keys of a group, and so
// the order in which they are tried when no decryption order says
// otherwise.
var LoadOrder = []Type{KMS, GCPKMS, HCKMS, AzureKV, Vault, PGP, Age}

// ParseType returns the Type with the given metadata name.
func ParseType(s string) (Type, bool) {
	for _, t := range LoadOrder {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// Stanza is one master key's entry in the metadata: who it is and the data
// key (or Shamir share) wrapped for it. Only the fields of its Type are set.
type Stanza struct {
	Type Type
	// Enc is the wrapped data key, in the text form of its key type: an
	// armored age file, an armored OpenPGP message, base64 or a Vault
	// ciphertext string.
	Enc string
	// CreatedAt is the RFC 3339 time the key was added, as stored. Every
	// type but age has one.
	CreatedAt string

	Recipient   string // age: the recipient string
	Fingerprint string // pgp: the fingerprint as configured

	ARN        string            // kms
	Role       string            // kms: IAM role to assume, may be empty
	Context    map[string]string // kms: encryption context, may be nil
	AWSProfile string            // kms: shared-config profile, may be empty

	ResourceID string // gcp_kms

	AzureVaultURL string // azure_kv
	AzureName     string
	AzureVersion  string

	VaultAddress    string // hc_vault
	VaultEnginePath string
	VaultKeyName    string

	KeyID string // hckms: region:key-uuid
}

// Identity is the string that names the master key, as SOPS prints and
// compares it (rotate --rm-*, updatekeys, de-duplication in groups).
func (s *Stanza) Identity() string {
	switch s.Type {
	case Age:
		return s.Recipient
	case PGP:
		return s.Fingerprint
	case GCPKMS:
		return s.ResourceID
	case HCKMS:
		return s.KeyID
	case AzureKV:
		return s.AzureVaultURL + "/keys/" + s.AzureName + "/" + s.AzureVersion
	case Vault:
		return s.VaultAddress + "/v1/" + s.VaultEnginePath + "/keys/" + s.VaultKeyName
	case KMS:
		id := s.ARN
		if s.Role != "" {
			id += "+" + s.Role
		}
		if len(s.Context) > 0 {
			names := make([]string, 0, len(s.Context))
			for k := range s.Context {
				names = append(names, k)
			}
			sort.Strings(names)
			pairs := make([]string, len(names))
			for i, k := range names {
				pairs[i] = k + ":" + s.Context[k]
			}
			id += "|" + strings.Join(pairs, ",")
		}
		if s.AWSProfile != "" {
			if len(s.Context) == 0 {
				id += "|"
			}
			id += "|" + s.AWSProfile
		}
		return id
	}
	return ""
}

// Group is one key group: every master key in it wraps the same payload.
type Group []Stanza

// Recipient wraps a payload (a data key or a Shamir share) for one master
// key.
type Recipient interface {
	// Wrap encrypts payload and returns the stanza to store in the
	// metadata.
	Wrap(payload []byte) (Stanza, error)
	// Identity is the same string Stanza.Identity gives for the result.
	Identity() string
	// Type is the kind of master key.
	Type() Type
}

// Unwrapper recovers payloads from the stanzas of one key type, with
// whatever secret material the user has (identity files, gpg, cloud
// credentials).
type Unwrapper interface {
	// Unwrap returns the payload wrapped in s. It returns an error that
	// wraps ErrNoIdentity when the user holds no matching secret, so
	// callers can tell "not mine" from "broken".
	Unwrap(s *Stanza) ([]byte, error)
}

// ErrNoIdentity means that none of the user's secrets matches a stanza.
var ErrNoIdentity = errors.New("no identity matched")
