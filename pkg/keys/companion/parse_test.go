package companion

import (
	"strings"
	"testing"
)

func TestParseKMS(t *testing.T) {
	st, err := ParseKMS(" arn:aws:kms:eu-west-1:111122223333:key/abc + arn:aws:iam::111122223333:role/r", map[string]string{"a": "b"}, "prof")
	if err != nil || st.ARN != "arn:aws:kms:eu-west-1:111122223333:key/abc" || st.Role != "arn:aws:iam::111122223333:role/r" || st.AWSProfile != "prof" || st.Context["a"] != "b" {
		t.Errorf("%+v %v", st, err)
	}
	if st.Identity() != "arn:aws:kms:eu-west-1:111122223333:key/abc+arn:aws:iam::111122223333:role/r|a:b|prof" {
		t.Errorf("identity %q", st.Identity())
	}
	if _, err := ParseKMS("arn:aws:kms:eu-west-1:111122223333:alias/app", nil, ""); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"abc", "arn:aws:s3:::bucket", "arn:aws:kms:eu-west-1:acct:key/x"} {
		if _, err := ParseKMS(bad, nil, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	l, err := ParseKMSList("arn:aws:kms:a:1:key/x,,arn:aws:kms:b:2:key/y", nil, "")
	if err != nil || len(l) != 2 {
		t.Errorf("%v %v", l, err)
	}
}

func TestParseEncryptionContext(t *testing.T) {
	m, err := ParseEncryptionContext("a:1,b:2")
	if err != nil || m["a"] != "1" || m["b"] != "2" {
		t.Errorf("%v %v", m, err)
	}
	for _, bad := range []string{"a", "a:1:2", "a:1,b"} {
		if _, err := ParseEncryptionContext(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseGCP(t *testing.T) {
	if _, err := ParseGCP("projects/p/locations/global/keyRings/r/cryptoKeys/k"); err != nil {
		t.Error(err)
	}
	if _, err := ParseGCP("projects/p/keyRings/r"); err == nil {
		t.Error("bad id accepted")
	}
}

func TestParseAzure(t *testing.T) {
	st, err := ParseAzure("https://v.vault.azure.net/keys/k/123")
	if err != nil || st.AzureVaultURL != "https://v.vault.azure.net" || st.AzureName != "k" || st.AzureVersion != "123" {
		t.Errorf("%+v %v", st, err)
	}
	st, err = ParseAzure("https://v.vault.azure.net/keys/k")
	if err != nil || st.AzureVersion != "" {
		t.Errorf("%+v %v", st, err)
	}
	if _, err := ParseAzure("http://v/keys/k"); err == nil {
		t.Error("http accepted")
	}
}

func TestParseVault(t *testing.T) {
	for uri, want := range map[string][3]string{
		"https://vault.example.com:8200/v1/transit/keys/app":   {"https://vault.example.com:8200", "transit", "app"},
		"http://127.0.0.1:8200/v1/secret/team/transit/keys/k1": {"http://127.0.0.1:8200", "secret/team/transit", "k1"},
	} {
		st, err := ParseVault(uri)
		if err != nil || st.VaultAddress != want[0] || st.VaultEnginePath != want[1] || st.VaultKeyName != want[2] {
			t.Errorf("%s: %+v %v", uri, st, err)
		}
		if st.Identity() != uri {
			t.Errorf("identity %q, want %q", st.Identity(), uri)
		}
	}
	for _, bad := range []string{"vault.example.com/v1/transit/keys/k", "https://v/prefix/v1/transit/keys/k", "https://v/v1/keys"} {
		if _, err := ParseVault(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestParseHCKMS(t *testing.T) {
	if _, err := ParseHCKMS("tr-west-1:1234"); err != nil {
		t.Error(err)
	}
	if _, err := ParseHCKMS("nocolon"); err == nil {
		t.Error("accepted")
	}
}
