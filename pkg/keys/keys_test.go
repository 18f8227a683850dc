package keys

import (
	"errors"
	"strings"
	"testing"
)

func TestIdentity(t *testing.T) {
	for _, c := range []struct {
		s    Stanza
		want string
	}{
		{Stanza{Type: Age, Recipient: "age1x"}, "age1x"},
		{Stanza{Type: PGP, Fingerprint: "ABCD"}, "ABCD"},
		{Stanza{Type: KMS, ARN: "arn:k"}, "arn:k"},
		{Stanza{Type: KMS, ARN: "arn:k", Role: "arn:r"}, "arn:k+arn:r"},
		{Stanza{Type: KMS, ARN: "arn:k", Context: map[string]string{"b": "2", "a": "1"}}, "arn:k|a:1,b:2"},
		{Stanza{Type: KMS, ARN: "arn:k", AWSProfile: "p"}, "arn:k||p"},
		{Stanza{Type: KMS, ARN: "arn:k", Context: map[string]string{"a": "1"}, AWSProfile: "p"}, "arn:k|a:1|p"},
		{Stanza{Type: AzureKV, AzureVaultURL: "https://v", AzureName: "n", AzureVersion: "1"}, "https://v/keys/n/1"},
		{Stanza{Type: Vault, VaultAddress: "https://v:8200", VaultEnginePath: "transit", VaultKeyName: "k"}, "https://v:8200/v1/transit/keys/k"},
	} {
		if got := c.s.Identity(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.s, got, c.want)
		}
	}
}

func TestParseOrder(t *testing.T) {
	o, unknown, err := ParseOrder("pgp, age,")
	if err != nil || len(o) != 2 || o[0] != PGP || len(unknown) != 0 {
		t.Errorf("%v %v %v", o, unknown, err)
	}
	var dup *DuplicateTypeError
	if _, _, err := ParseOrder("age,age"); !errors.As(err, &dup) {
		t.Errorf("duplicate: %v", err)
	}
	if o, unknown, err := ParseOrder("age,nope"); err != nil || len(o) != 1 || strings.Join(unknown, ",") != "nope" {
		t.Errorf("unknown: %v %v %v", o, unknown, err)
	}
}

func TestSortForDecryption(t *testing.T) {
	g := Group{{Type: KMS}, {Type: PGP}, {Type: Age, Recipient: "1"}, {Type: Age, Recipient: "2"}, {Type: GCPKMS}}
	got := sortForDecryption(g, nil)
	want := []Type{Age, Age, PGP, KMS, GCPKMS}
	for i := range want {
		if got[i].Type != want[i] {
			t.Fatalf("default order: %v", got)
		}
	}
	if got[0].Recipient != "1" {
		t.Error("the sort must be stable")
	}
	got = sortForDecryption(g, []Type{GCPKMS, PGP})
	want = []Type{GCPKMS, PGP, KMS, Age, Age}
	for i := range want {
		if got[i].Type != want[i] {
			t.Fatalf("given order: %v", got)
		}
	}
}

type recorder struct {
	tried []string
	works map[string]bool
}

func (r *recorder) Unwrap(s *Stanza) ([]byte, error) {
	r.tried = append(r.tried, s.Identity())
	if r.works[s.Identity()] {
		return []byte(s.Enc), nil
	}
	return nil, ErrNoIdentity
}

func TestRecover(t *testing.T) {
	rec := &recorder{works: map[string]bool{"b": true}}
	groups := []Group{{{Type: Age, Recipient: "a", Enc: "A"}, {Type: Age, Recipient: "b", Enc: "B"}, {Type: Age, Recipient: "c", Enc: "C"}}}
	key, err := Recover(groups, 0, nil, map[Type]Unwrapper{Age: rec})
	if err != nil || string(key) != "B" || strings.Join(rec.tried, ",") != "a,b" {
		t.Errorf("key %q err %v tried %v", key, err, rec.tried)
	}
	_, err = Recover(groups, 0, nil, map[Type]Unwrapper{})
	var rerr *RecoverError
	if !errors.As(err, &rerr) || len(rerr.Failures) != 3 || !strings.Contains(RecoverHint(err), "SOPS_AGE_KEY_FILE") {
		t.Errorf("no source: %v", err)
	}
}
