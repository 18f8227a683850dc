package pgp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stanzaKey says which test key a corpus stanza is for.
func stanzaKey(t *testing.T, cs corpusStanza) testKey {
	t.Helper()
	for _, n := range []string{"pgp1", "pgp2"} {
		if k := corpusKey(t, n); strings.EqualFold(k.fp, cs.st.Fingerprint) {
			return k
		}
	}
	t.Fatalf("%s: stanza for unknown key %s", cs.file, cs.st.Fingerprint)
	return testKey{}
}

// TestCorpusGPG unwraps every PGP stanza sops 3.13.2 wrote in the corpus
// (RSA and ECC keys; YAML, JSON and INI; flat and Shamir) through the real
// gpg, and checks each payload against the file's MAC.
func TestCorpusGPG(t *testing.T) {
	home := gnupgHome(t, "pgp1", "pgp2")
	runs := 0
	env := gpgEnv(t, home)
	env.Run = countingRun(env.Run, &runs)
	src := NewSource(env)
	stanzas := allCorpusStanzas(t)
	seen := map[string]bool{}
	for _, cs := range stanzas {
		payload, err := src.Unwrap(&cs.st)
		if err != nil {
			t.Fatalf("%s: %v", cs.file, err)
		}
		checkPayload(t, cs, payload)
		seen[stanzaKey(t, cs).name] = true
		seen[filepath.Ext(cs.file)] = true
		seen["shamir"] = seen["shamir"] || cs.shamir
	}
	for _, want := range []string{"pgp1", "pgp2", ".yaml", ".json", ".ini", "shamir"} {
		if !seen[want] {
			t.Errorf("no %s stanza in the corpus (seen %v)", want, seen)
		}
	}
	if runs != len(stanzas) {
		t.Errorf("gpg ran %d times for %d stanzas", runs, len(stanzas))
	}
}

// TestCorpusGo unwraps every corpus stanza without gpg, with the secret
// key files in KURA_PGP_KEY_FILE: each key alone opens its own stanzas and
// reports ErrNoIdentity for the other's; both listed open all.
func TestCorpusGo(t *testing.T) {
	stanzas := allCorpusStanzas(t)
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	for _, tc := range []struct {
		name  string
		files []testKey
	}{
		{"pgp1", []testKey{k1}},
		{"pgp2", []testKey{k2}},
		{"both", []testKey{k1, k2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, k := range tc.files {
				paths = append(paths, k.secFile)
			}
			runs := 0
			env := goEnv(t, KeyFileEnv, strings.Join(paths, string(os.PathListSeparator)))
			env.Run = countingRun(env.Run, &runs)
			src := NewSource(env)
			for _, cs := range stanzas {
				mine := false
				for _, k := range tc.files {
					mine = mine || stanzaKey(t, cs).name == k.name
				}
				payload, err := src.Unwrap(&cs.st)
				if !mine {
					mustNoIdentity(t, err)
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", cs.file, err)
				}
				checkPayload(t, cs, payload)
			}
			if runs != 1 {
				t.Errorf("a missing gpg was tried %d times, want once", runs)
			}
		})
	}
}

// TestCorpusGPGThenFiles: a gpg without the key says so, and the key file
// opens the stanza.
func TestCorpusGPGThenFiles(t *testing.T) {
	home := gnupgHome(t, "pgp1")
	k2 := corpusKey(t, "pgp2")
	src := NewSource(gpgEnv(t, home, KeyFileEnv, k2.secFile))
	for _, cs := range allCorpusStanzas(t) {
		payload, err := src.Unwrap(&cs.st)
		if err != nil {
			t.Fatalf("%s: %v", cs.file, err)
		}
		checkPayload(t, cs, payload)
	}
}

// TestLegacySecring: without gpg and KURA_PGP_KEY_FILE, secret keys come
// from $GNUPGHOME/secring.gpg, the GnuPG 1.x keyring sops reads.
func TestLegacySecring(t *testing.T) {
	home := t.TempDir()
	var ring []byte
	for _, n := range []string{"pgp1", "pgp2"} {
		list, err := parseKeys([]byte(readRepoFile(t, "testdata/keys/"+n+".sec.asc")))
		if err != nil {
			t.Fatal(err)
		}
		ring = append(ring, serializeSecret(t, list[0])...)
	}
	writeFile(t, filepath.Join(home, legacySecring), ring)
	src := NewSource(Env{Getenv: vars(GPGExecEnv, missingGPG(t), GnuPGHomeEnv, home), Run: isolatedRun})
	for _, cs := range allCorpusStanzas(t) {
		payload, err := src.Unwrap(&cs.st)
		if err != nil {
			t.Fatalf("%s: %v", cs.file, err)
		}
		checkPayload(t, cs, payload)
	}
	// The same through ~/.gnupg, GNUPGHOME's default.
	home2 := t.TempDir()
	if err := os.Mkdir(filepath.Join(home2, ".gnupg"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(home2, ".gnupg", legacySecring), ring)
	src = NewSource(Env{Getenv: vars(GPGExecEnv, missingGPG(t)), HomeDir: home2, Run: isolatedRun})
	cs := allCorpusStanzas(t)[0]
	payload, err := src.Unwrap(&cs.st)
	if err != nil {
		t.Fatal(err)
	}
	checkPayload(t, cs, payload)
}
