package rules

import "testing"

func TestSelector(t *testing.T) {
	for _, c := range []struct {
		name      string
		cfg       Config
		key       string
		keyMatch  bool
		encrypted bool // for a leaf whose path has the key
	}{
		{"default suffix", Config{}.WithDefault(), "pw_unencrypted", true, false},
		{"default suffix, other key", Config{}.WithDefault(), "pw", false, true},
		{"encrypted suffix", Config{EncryptedSuffix: "_secret"}, "db_secret", true, true},
		{"encrypted suffix, other key", Config{EncryptedSuffix: "_secret"}, "db", false, false},
		{"unencrypted regex", Config{UnencryptedRegex: "^kind$"}, "kind", true, false},
		{"encrypted regex searches", Config{EncryptedRegex: "data"}, "metadata", true, true},
		{"bad regex matches nothing", Config{EncryptedRegex: "("}, "(", false, false},
		{"no rule", Config{}, "x", false, true},
	} {
		s := NewSelector(c.cfg)
		m := s.KeyMatches(c.key)
		if m != c.keyMatch {
			t.Errorf("%s: KeyMatches(%q) = %v", c.name, c.key, m)
		}
		n := 0
		if m {
			n = 1
		}
		if got := s.Encrypt(n, 0, false); got != c.encrypted {
			t.Errorf("%s: Encrypt = %v, want %v", c.name, got, c.encrypted)
		}
	}
}

func TestCommentSelector(t *testing.T) {
	enc := NewSelector(Config{EncryptedCommentRegex: "sops:enc"})
	if !enc.HasCommentRule() || !enc.CommentMatches(" sops:enc") {
		t.Fatal("comment rule not set up")
	}
	if enc.Encrypt(0, 1, true) {
		t.Error("the marker comment itself must stay readable")
	}
	if !enc.Encrypt(0, 1, false) || enc.Encrypt(0, 0, false) {
		t.Error("a value after the marker is encrypted, others are not")
	}
	unenc := NewSelector(Config{UnencryptedCommentRegex: "keep"})
	if unenc.Encrypt(0, 1, false) || !unenc.Encrypt(0, 0, false) {
		t.Error("unencrypted comment regex")
	}
	if unenc.UnencryptedCommentRegex() == nil || enc.UnencryptedCommentRegex() != nil {
		t.Error("UnencryptedCommentRegex")
	}
}

func TestConfig(t *testing.T) {
	if err := (Config{EncryptedRegex: "a", UnencryptedSuffix: "b"}).Validate(); err != ErrConflict {
		t.Errorf("conflict: %v", err)
	}
	c := Config{UnencryptedSuffix: "_u", MACOnlyEncrypted: true}.Merge(Config{EncryptedRegex: "x"})
	if c.UnencryptedSuffix != "_u" || c.EncryptedRegex != "x" || !c.MACOnlyEncrypted || c.Validate() == nil {
		t.Errorf("merge: %+v", c)
	}
	if (Config{}).WithDefault().UnencryptedSuffix != DefaultUnencryptedSuffix {
		t.Error("default")
	}
}

func TestCheckRegexes(t *testing.T) {
	if err := (Config{EncryptedRegex: "("}).CheckRegexes(); err == nil {
		t.Error("a bad regex passed")
	}
	if err := (Config{EncryptedRegex: "^a$", UnencryptedSuffix: "("}).CheckRegexes(); err != nil {
		t.Error(err)
	}
}
