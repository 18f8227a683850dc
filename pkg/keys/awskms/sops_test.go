package awskms

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
)

// sopsBinary finds sops 3.13.2: on PATH, else in $GOPATH/bin. Without it
// the test is skipped, unless $CI is set.
func sopsBinary(t *testing.T) string {
	t.Helper()
	if p := awslocal.LookTool("sops"); p != "" {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("sops is not installed")
	}
	t.Skip("sops is not installed")
	return ""
}

// runSops runs sops in dir with the local KMS environment (the test's own,
// set by start).
func runSops(t *testing.T, bin, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

const plaintext = "password: hunter2\nlist:\n    - a\n    - 1\n"

// TestSopsInterop checks both directions against the real sops binary: a
// kms stanza sops wrote opens with the provider (the MAC of sops's file
// decrypts with the recovered data key), and a stanza the provider wrote
// for that data key opens with sops.
func TestSopsInterop(t *testing.T) {
	bin := sopsBinary(t)
	s := start(t)
	p := New()

	for _, c := range []struct {
		name    string
		arn     string
		role    string
		context string
	}{
		{"key", s.KeyARN, "", ""},
		{"context", s.KeyARN, "", "app:kura,env:test"},
		{"alias", s.AliasARN, "", ""},
		{"role", s.KeyARN, awslocal.Role, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte(plaintext), 0o600); err != nil {
				t.Fatal(err)
			}
			kmsArg := c.arn
			if c.role != "" {
				kmsArg += "+" + c.role
			}
			args := []string{"encrypt", "--kms", kmsArg, "--input-type", "yaml", "--output-type", "yaml"}
			if c.context != "" {
				args = append(args, "--encryption-context", c.context)
			}
			enc := runSops(t, bin, dir, append(args, "plain.yaml")...)

			_, items, err := yaml.Store{}.LoadEncrypted(enc)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := metadata.FromTree(items)
			if err != nil {
				t.Fatal(err)
			}
			if len(meta.KeyGroups) != 1 || len(meta.KeyGroups[0]) != 1 || meta.KeyGroups[0][0].Type != keys.KMS {
				t.Fatalf("key groups: %+v", meta.KeyGroups)
			}
			st := meta.KeyGroups[0][0]
			if st.ARN != c.arn || st.Role != c.role || (c.context != "") != (len(st.Context) == 2) {
				t.Fatalf("sops's stanza: %+v", st)
			}

			// sops → provider.
			key, err := p.Unwrap(timeout(t, 10*time.Second), st)
			if err != nil {
				t.Fatalf("Unwrap of sops's stanza: %v", err)
			}
			ci, err := cipher.New(key)
			if err != nil {
				t.Fatal(err)
			}
			mac, err := ci.DecryptMAC(meta.MAC, meta.LastModifiedText())
			if err != nil || len(mac) != 128 {
				t.Fatalf("the unwrapped key does not open the MAC: %q, %v", mac, err)
			}

			// provider → sops: the same data key wrapped by the provider
			// replaces sops's enc.
			mine := st
			mine.Enc = ""
			mine, err = p.Wrap(timeout(t, 10*time.Second), mine, key)
			if err != nil {
				t.Fatalf("Wrap: %v", err)
			}
			if mine.Enc == st.Enc || strings.Count(string(enc), st.Enc) != 1 {
				t.Fatalf("cannot swap the enc (ours %q, sops's %q)", mine.Enc, st.Enc)
			}
			swapped := strings.Replace(string(enc), st.Enc, mine.Enc, 1)
			if err := os.WriteFile(filepath.Join(dir, "swapped.yaml"), []byte(swapped), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(s.KMSCalls())
			out := runSops(t, bin, dir, "decrypt", "--input-type", "yaml", "--output-type", "yaml", "swapped.yaml")
			if string(out) != plaintext {
				t.Errorf("sops decrypt of the file with our enc:\n%s\nwant:\n%s", out, plaintext)
			}
			// sops sent what the provider sends: KeyId and context.
			calls := s.KMSCalls()[before:]
			if len(calls) != 1 || calls[0].Operation != "Decrypt" || calls[0].KeyID != c.arn || len(calls[0].EncryptionContext) != len(st.Context) {
				t.Errorf("sops's calls: %+v", calls)
			}
			if c.role != "" && (len(calls) != 1 || !calls[0].SessionToken) {
				t.Errorf("sops did not use the role's credentials: %+v", calls)
			}
		})
	}
	for _, c := range s.KMSCalls() {
		if (c.AccessKeyID != awslocal.AccessKeyID && !c.SessionToken) || c.Region != awslocal.Region {
			t.Errorf("%s signed by %s in %s", c.Operation, c.AccessKeyID, c.Region)
		}
	}
	// sops and the provider name their STS sessions alike.
	want, _ := sessionName(os.Hostname)
	roles := s.AssumeRoleCalls()
	if len(roles) < 2 {
		t.Errorf("AssumeRole calls: %+v", roles)
	}
	for _, r := range roles {
		if r.RoleSessionName != want || !r.Granted {
			t.Errorf("AssumeRole %+v, want session name %q", r, want)
		}
	}
}
