package gcpkms

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
)

// sopsBinary finds sops 3.13.2: on PATH, else in $GOPATH/bin. Without it
// the test is skipped, unless $CI is set.
func sopsBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("sops")
	if err != nil {
		for _, p := range []string{filepath.Join(os.Getenv("HOME"), "go", "bin", "sops"), "/root/go/bin/sops"} {
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("sops is not installed; CI must put sops 3.13.2 on PATH")
		}
		t.Skip("sops is not installed (go install github.com/getsops/sops/v3/cmd/sops@v3.13.2)")
	}
	if out, err := exec.Command(bin, "--version", "--disable-version-check").Output(); err != nil || !bytes.Contains(out, []byte("3.13.2")) {
		t.Fatalf("%s is not sops 3.13.2: %s %v", bin, out, err)
	}
	return bin
}

// runSops runs sops in dir with env added to the test's environment, and
// with no configuration of the person running the tests.
func runSops(t *testing.T, bin, dir string, env []string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"), "SOPS_DISABLE_VERSION_CHECK=1")
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &sopsError{args: args, err: err, stderr: stderr.String()}
	}
	return out, nil
}

type sopsError struct {
	args   []string
	err    error
	stderr string
}

func (e *sopsError) Error() string {
	return "sops " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

const plaintext = "password: hunter2\nlist:\n    - a\n    - 1\n"

// TestSopsInterop checks both directions against the real sops binary,
// with the same environment for sops and for the companion: a gcp_kms
// stanza sops wrote opens with the provider (the MAC of sops's file
// decrypts with the data key it gives), and a stanza the provider wrapped
// for that data key, put in place of sops's, lets sops decrypt the file.
func TestSopsInterop(t *testing.T) {
	bin := sopsBinary(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			f := gcpfake.Start(t)
			f.AddKey(testKey)
			env := tr.env(f)
			c := startCompanion(t, env...)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte(plaintext), 0o600); err != nil {
				t.Fatal(err)
			}
			enc, err := runSops(t, bin, dir, env, "encrypt", "--gcp-kms", testKey, "--input-type", "yaml", "--output-type", "yaml", "plain.yaml")
			if err != nil {
				t.Fatal(err)
			}

			// sops → kura.
			_, items, err := yaml.Store{}.LoadEncrypted(enc)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := metadata.FromTree(items)
			if err != nil {
				t.Fatal(err)
			}
			if len(meta.KeyGroups) != 1 || len(meta.KeyGroups[0]) != 1 || meta.KeyGroups[0][0].Type != keys.GCPKMS {
				t.Fatalf("sops wrote the key groups %+v", meta.KeyGroups)
			}
			theirs := meta.KeyGroups[0][0]
			if theirs.ResourceID != testKey {
				t.Fatalf("sops wrote resource_id %q", theirs.ResourceID)
			}
			dk, err := c.unwrap(theirs, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			macOK(t, dk, meta)

			// kura → sops.
			ours, err := c.wrap(testKey, dk, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if ours.Enc == theirs.Enc {
				t.Fatal("the provider's ciphertext equals sops's")
			}
			if n := bytes.Count(enc, []byte(theirs.Enc)); n != 1 {
				t.Fatalf("sops's enc appears %d times in its output", n)
			}
			swapped := bytes.Replace(enc, []byte(theirs.Enc), []byte(ours.Enc), 1)
			if err := os.WriteFile(filepath.Join(dir, "enc.yaml"), swapped, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := runSops(t, bin, dir, env, "decrypt", "enc.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != plaintext {
				t.Fatalf("sops decrypted to %q, want %q", out, plaintext)
			}

			// The check has teeth: another data key's wrap is refused.
			other, err := c.wrap(testKey, dataKey(9), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			wrong := bytes.Replace(enc, []byte(theirs.Enc), []byte(other.Enc), 1)
			if err := os.WriteFile(filepath.Join(dir, "wrong.yaml"), wrong, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := runSops(t, bin, dir, env, "decrypt", "wrong.yaml"); err == nil {
				t.Fatalf("sops decrypted a file whose data key was replaced: %q", out)
			}
		})
	}
}

// sops authenticates with a service account key in GOOGLE_CREDENTIALS
// (the fake accepts the JWTs signed with it), and kura with a token reads
// what it wrote.
func TestSopsServiceAccount(t *testing.T) {
	bin := sopsBinary(t)
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte(plaintext), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(f.Env(), EnvCredentials+"="+string(f.CredentialsJSON()), EnvAccessToken+"=not-a-valid-token")
	enc, err := runSops(t, bin, dir, env, "encrypt", "--gcp-kms", testKey, "--input-type", "yaml", "--output-type", "yaml", "plain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, items, err := yaml.Store{}.LoadEncrypted(enc)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := metadata.FromTree(items)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := inProcess(t, f).Unwrap(timeoutCtx(t, 10*time.Second), meta.KeyGroups[0][0])
	if err != nil {
		t.Fatal(err)
	}
	macOK(t, dk, meta)
}

var macText = regexp.MustCompile(`^[0-9A-F]{128}$`)

// macOK checks that dk is the file's data key: it decrypts the MAC.
func macOK(t *testing.T, dk []byte, meta *metadata.Metadata) {
	t.Helper()
	ci, err := cipher.New(dk)
	if err != nil {
		t.Fatal(err)
	}
	mac, err := ci.DecryptMAC(meta.MAC, meta.LastModifiedText())
	if err != nil {
		t.Fatalf("the unwrapped data key does not decrypt the MAC: %v", err)
	}
	if !macText.MatchString(mac) {
		t.Fatalf("the MAC decrypted to %q", mac)
	}
}
