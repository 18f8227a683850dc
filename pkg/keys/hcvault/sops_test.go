package hcvault

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/vaultfake"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
)

// sopsBinary finds sops 3.13.2: on PATH (as CI installs it) or where go
// install puts it. Missing, the test is skipped, except under CI.
func sopsBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("sops")
	if err != nil {
		path = "/root/go/bin/sops"
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("sops is not installed; .ci/run installs sops 3.13.2")
			}
			t.Skip("sops 3.13.2 is not installed (go install github.com/getsops/sops/v3/cmd/sops@v3.13.2)")
		}
	}
	out, err := exec.Command(path, "--version", "--disable-version-check").Output()
	if err != nil || !bytes.Contains(out, []byte("3.13.2")) {
		t.Fatalf("%s is not sops 3.13.2: %s %v", path, out, err)
	}
	return path
}

func runSops(t *testing.T, sops string, v *vaultfake.Server, dir string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sops, args...)
	cmd.Dir = dir
	cmd.Env = append(v.Environ(), "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// TestSopsInterop: a data key sops wraps with Vault transit unwraps with
// kura (and opens the file's MAC), and one kura wraps decrypts with sops.
func TestSopsInterop(t *testing.T) {
	sops := sopsBinary(t)
	for _, tc := range []struct {
		name   string
		tls    bool
		engine string
	}{
		{"http", false, "transit"},
		{"https multi-segment engine", true, "secret/team/transit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v *vaultfake.Server
			if tc.tls {
				v = vaultfake.StartTLS(t)
			} else {
				v = vaultfake.Start(t)
			}
			uri := v.AddKey(tc.engine, "sops-key")
			v.Setenv(t)
			dir := t.TempDir()
			t.Setenv("HOME", dir)
			plain := []byte("user: alice\npassword: hunter2\nlist:\n    - 1\n    - two\n")
			if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), plain, 0o600); err != nil {
				t.Fatal(err)
			}

			enc := runSops(t, sops, v, dir, "encrypt", "--hc-vault-transit", uri, "--input-type", "yaml", "--output-type", "yaml", "plain.yaml")
			_, items, err := yaml.Store{}.LoadEncrypted(enc)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := metadata.FromTree(items)
			if err != nil {
				t.Fatal(err)
			}
			var st *keys.Stanza
			for _, g := range meta.KeyGroups {
				for i := range g {
					if g[i].Type == keys.Vault {
						st = &g[i]
					}
				}
			}
			if st == nil {
				t.Fatalf("no hc_vault key in sops's output:\n%s", enc)
			}
			want := stanza(t, uri)
			if st.VaultAddress != want.VaultAddress || st.VaultEnginePath != want.VaultEnginePath || st.VaultKeyName != want.VaultKeyName || st.Identity() != uri {
				t.Fatalf("sops wrote %+v, want the fields of %s", st, uri)
			}

			// sops's wrapping, kura's unwrapping.
			p := New()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key, err := p.Unwrap(ctx, *st)
			if err != nil {
				t.Fatal(err)
			}
			c, err := cipher.New(key)
			if err != nil {
				t.Fatal(err)
			}
			mac, err := c.DecryptMAC(meta.MAC, meta.LastModifiedText())
			if err != nil || mac == "" {
				t.Fatalf("the unwrapped key does not open the MAC: %q %v", mac, err)
			}

			// kura's wrapping, sops's unwrapping.
			fresh := *st
			fresh.Enc = ""
			w, err := p.Wrap(ctx, fresh, key)
			if err != nil {
				t.Fatal(err)
			}
			if w.Enc == st.Enc || bytes.Count(enc, []byte(st.Enc)) != 1 {
				t.Fatalf("cannot swap the wrapped key: %q", st.Enc)
			}
			swapped := bytes.Replace(enc, []byte(st.Enc), []byte(w.Enc), 1)
			if err := os.WriteFile(filepath.Join(dir, "enc.yaml"), swapped, 0o600); err != nil {
				t.Fatal(err)
			}
			before := v.Count("decrypt")
			got := runSops(t, sops, v, dir, "decrypt", "--input-type", "yaml", "--output-type", "yaml", "enc.yaml")
			if !bytes.Equal(got, plain) {
				t.Fatalf("sops decrypted\n%s\nwant\n%s", got, plain)
			}
			if v.Count("decrypt") != before+1 {
				t.Fatalf("sops did not ask the fake Vault to decrypt (%d -> %d)", before, v.Count("decrypt"))
			}
		})
	}
}
