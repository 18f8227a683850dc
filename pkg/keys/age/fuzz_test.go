package age

import (
	"errors"
	"strings"
	"testing"

	"filippo.io/age/plugin"
)

// identityErrors is every message parseIdentity may give. Being a closed
// set, it cannot carry any of the input.
var identityErrors = map[string]bool{
	"white space around the identity: remove it":                                                       true,
	"malformed plugin identity (AGE-PLUGIN-…)":                                                         true,
	"malformed post-quantum identity (AGE-SECRET-KEY-PQ-1…): bad length, character or checksum":        true,
	"malformed X25519 identity (AGE-SECRET-KEY-1…): bad length, character or checksum":                 true,
	"unknown identity type: identities are written in upper case":                                      true,
	"unknown identity type: this is a recipient (a public key), not an identity":                       true,
	"unknown identity type: SSH keys are read from " + SSHKeyFileEnv + ", not from age identity files": true,
	"unknown identity type (want AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1… or AGE-PLUGIN-…)":             true,
}

// FuzzParseIdentities: the identity text parser never panics, never finds
// more identities than lines (one per line mode), and its errors give a
// line number and a message from a fixed set, never the input.
func FuzzParseIdentities(f *testing.F) {
	k1 := corpusKey(f, "age1")
	f.Add(readRepoFile(f, "testdata/keys/age-all-identities.txt"), false)
	f.Add("# c\n"+k1.identity+" "+k1.identity+"\r\n\n", true)
	f.Add(" "+k1.identity, false)
	f.Add(strings.ToLower(k1.identity), true)
	f.Add("AGE-SECRET-KEY-PQ-1QQQQ\n", false)
	f.Add(plugin.EncodeIdentity("yubikey", []byte("slot 1")), false)
	f.Add("age1splfhycppu4ypv4h588h0eh7zg437h5k5jk0zl8xggh7ghgh3uts22txf3", false)
	f.Add("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n", false)
	ui := newPluginUI(nil, nil)
	f.Fuzz(func(t *testing.T, text string, words bool) {
		ids, err := parseIdentities(text, words, ui)
		if err == nil {
			if len(ids) > strings.Count(text, "\n")+1 && !words {
				t.Fatalf("%d identities from %d lines", len(ids), strings.Count(text, "\n")+1)
			}
			return
		}
		if ids != nil {
			t.Fatal("identities returned with an error")
		}
		le, ok := errors.AsType[*lineError](err)
		if !ok || le.line < 1 || le.line > strings.Count(text, "\n")+1 {
			t.Fatalf("error without a valid line number: %v", err)
		}
		if !identityErrors[le.err.Error()] {
			t.Fatalf("unexpected message %q", le.err)
		}
	})
}
