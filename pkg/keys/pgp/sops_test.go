package pgp

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSopsReadsWrap: sops 3.13.2 itself decrypts a corpus file whose PGP
// stanza kura re-wrapped. Optional: it runs only where a sops binary is on
// PATH (it is not required in CI; gpg -d, which sops falls back to, is
// tested everywhere).
func TestSopsReadsWrap(t *testing.T) {
	sops, err := exec.LookPath("sops")
	if err != nil {
		t.Skip("sops not installed")
	}
	k2 := corpusKey(t, "pgp2")
	home := gnupgHome(t, "pgp2")
	const rel = "testdata/sops-interop/cases/keys-pgp-only-ecc/encrypted.yaml"
	var cs corpusStanza
	for _, c := range allCorpusStanzas(t) {
		if c.file == "keys-pgp-only-ecc/encrypted.yaml" {
			cs = c
		}
	}
	if cs.file == "" {
		t.Fatal("corpus case keys-pgp-only-ecc not found")
	}
	dataKey, err := NewSource(goEnv(t, KeyFileEnv, k2.secFile)).Unwrap(&cs.st)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewSource(goEnv(t, KeyFileEnv, k2.pubFile)).ParseRecipient(k2.fp)
	if err != nil {
		t.Fatal(err)
	}
	st, err := r.Wrap(dataKey)
	if err != nil {
		t.Fatal(err)
	}

	// The enc block as sops writes it: a |- literal indented 12 spaces.
	indent := func(s string) string {
		lines := strings.Split(s, "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = "            " + l
			}
		}
		return strings.Join(lines, "\n")
	}
	orig := readRepoFile(t, rel)
	if !strings.Contains(orig, indent(cs.st.Enc)) {
		t.Fatal("cannot find the enc block in the file")
	}
	rewrapped := strings.Replace(orig, indent(cs.st.Enc), indent(st.Enc), 1)
	file := writeFile(t, filepath.Join(t.TempDir(), "encrypted.yaml"), []byte(rewrapped))

	// A GnuPG home with only a legacy secring.gpg, and no gpg: sops then
	// decrypts with go-crypto alone.
	legacyHome := t.TempDir()
	list, err := parseKeys([]byte(readRepoFileAbs(t, k2.secFile)))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(legacyHome, legacySecring), serializeSecret(t, list[0]))

	decryptWith := func(path string, env ...string) []byte {
		t.Helper()
		cmd := exec.Command(sops, "decrypt", path)
		cmd.Env = isolatedEnv(append(env, "HOME="+t.TempDir(), "SOPS_DISABLE_VERSION_CHECK=1"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sops decrypt %s: %v\n%s", path, err, stderr.String())
		}
		return out
	}
	viaGPG := []string{GnuPGHomeEnv + "=" + home}
	viaGo := []string{GnuPGHomeEnv + "=" + legacyHome, GPGExecEnv + "=" + missingGPG(t)}
	want := decryptWith(repoPath(rel), viaGPG...)
	if got := decryptWith(file, viaGPG...); !bytes.Equal(got, want) {
		t.Fatalf("sops (gpg) decrypts kura's stanza to\n%s\nwant\n%s", got, want)
	}
	if got := decryptWith(file, viaGo...); !bytes.Equal(got, want) {
		t.Fatalf("sops (go-crypto) decrypts kura's stanza to\n%s\nwant\n%s", got, want)
	}
}
