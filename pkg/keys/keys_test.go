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

func TestRecoverShamirStopsAtThreshold(t *testing.T) {
	// Three groups, threshold 2: one slow cloud key, two age keys. With
	// the default order the age groups come first and the cloud key is
	// never asked.
	share := func(i byte) string { return string([]byte{i, i, i}) }
	groups := []Group{
		{{Type: KMS, ARN: "arn:slow", Enc: share(1)}},
		{{Type: Age, Recipient: "a", Enc: share(2)}},
		{{Type: Age, Recipient: "b", Enc: share(3)}},
	}
	rec := &recorder{works: map[string]bool{"a": true, "b": true, "arn:slow": true}}
	if _, err := Recover(groups, 2, nil, map[Type]Unwrapper{Age: rec, KMS: rec}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(rec.tried, ",") != "a,b" {
		t.Errorf("tried %v, want the two age keys only", rec.tried)
	}
	// Too few groups: the error has one line per failed group.
	rec = &recorder{works: map[string]bool{"a": true}}
	_, err := Recover(groups, 2, nil, map[Type]Unwrapper{Age: rec})
	var rerr *RecoverError
	if !errors.As(err, &rerr) {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "1 of 3 key groups decrypted, 2 needed") {
		t.Errorf("summary: %v", err)
	}
	d := rerr.Details()
	if len(d) != 2 || !strings.HasPrefix(d[0], "key group 0 failed: kms arn:slow:") || !strings.HasPrefix(d[1], "key group 2 failed: age b: no matching identity") {
		t.Errorf("details: %q", d)
	}
}

func TestRecoverDetailsOnlyFailedGroups(t *testing.T) {
	// Group 0's first key fails but its second works: only group 1 failed.
	groups := []Group{
		{{Type: Vault, VaultAddress: "https://v", VaultEnginePath: "transit", VaultKeyName: "k", Enc: "x"}, {Type: Age, Recipient: "a", Enc: "A"}},
		{{Type: PGP, Fingerprint: "FP", Enc: "P"}},
	}
	rec := &recorder{works: map[string]bool{"a": true}}
	_, err := Recover(groups, 2, []Type{Vault, Age}, map[Type]Unwrapper{Age: rec, Vault: rec, PGP: rec})
	var rerr *RecoverError
	if !errors.As(err, &rerr) {
		t.Fatalf("got %v", err)
	}
	if d := rerr.Details(); len(d) != 1 || !strings.HasPrefix(d[0], "key group 1 failed: pgp FP") {
		t.Errorf("details %q", d)
	}
}

func TestDiff(t *testing.T) {
	file := []Group{{{Type: Age, Recipient: "a"}, {Type: AzureKV, AzureVaultURL: "https://v", AzureName: "k", AzureVersion: "7"}}}
	if d := Diff(file, [][]string{{"age a", "azure_kv https://v/keys/k/"}}); len(d) != 0 {
		t.Errorf("versionless azure key should match: %+v", d)
	}
	d := Diff(file, [][]string{{"age b", "azure_kv https://v/keys/k/7"}, {"age c"}})
	if len(d) != 2 || strings.Join(d[0].Added, ",") != "age b" || strings.Join(d[0].Removed, ",") != "age a" || strings.Join(d[1].Added, ",") != "age c" {
		t.Errorf("%+v", d)
	}
}
