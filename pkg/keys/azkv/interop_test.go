package azkv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/azfake"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
	"github.com/kura-secrets/kura/pkg/metadata"
)

// sopsCLI returns the reference sops 3.13.2. CI installs it, so there its
// absence is a failure; elsewhere the test is skipped.
func sopsCLI(t *testing.T) string {
	t.Helper()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	path, err := exec.LookPath("sops")
	if err != nil {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		path = filepath.Join(gopath, "bin", "sops")
		if _, err := os.Stat(path); err != nil {
			fail("sops command not found: %v", err)
		}
	}
	out, err := exec.Command(path, "--version", "--disable-version-check").Output()
	if err != nil || !strings.Contains(string(out), "3.13.2") {
		fail("%s is not sops 3.13.2: %v %s", path, err, out)
	}
	return path
}

// runSops runs sops in dir with the fake's environment.
func runSops(t *testing.T, srv *azfake.Server, sops, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(sops, args...)
	cmd.Dir = dir
	cmd.Env = srv.Environ(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

const plainYAML = `database:
    user: admin
    password: hunter2
ports:
    - 80
    - 443
`

// TestInteropSops: the azure_kv stanza sops writes unwraps with kura to
// the file's data key (it decrypts the MAC), and a stanza kura wraps for
// that data key is accepted by sops decrypt.
func TestInteropSops(t *testing.T) {
	sops := sopsCLI(t)
	srv := azfake.Start(t)
	v1 := srv.AddKey("sops-key")
	v2 := srv.AddKey("sops-key")
	srv.Setenv(t)
	p := New()

	for _, tt := range []struct{ name, url, version string }{
		{"current version", srv.KeyURL("sops-key", ""), v2},
		{"explicit version", srv.KeyURL("sops-key", v1), v1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			dir := t.TempDir()
			plain := filepath.Join(dir, "secrets.yaml")
			if err := os.WriteFile(plain, []byte(plainYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			wrapKeys := srv.Count(azfake.OpWrapKey)
			enc := runSops(t, srv, sops, dir, "encrypt", "--azure-kv", tt.url, "--input-type", "yaml", "--output-type", "yaml", plain)
			if srv.Count(azfake.OpWrapKey) != wrapKeys {
				t.Error("sops used wrapkey, not encrypt")
			}

			// sops encrypts, kura unwraps.
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
					if g[i].Type == keys.AzureKV {
						st = &g[i]
					}
				}
			}
			if st == nil {
				t.Fatalf("no azure_kv stanza in:\n%s", enc)
			}
			if st.AzureVaultURL != srv.VaultURL() || st.AzureName != "sops-key" || st.AzureVersion != tt.version {
				t.Fatalf("sops stored %s, want version %s", st.Identity(), tt.version)
			}
			dataKey, err := p.Unwrap(ctx, *st)
			if err != nil {
				t.Fatal(err)
			}
			c, err := cipher.New(dataKey)
			if err != nil {
				t.Fatal(err)
			}
			if mac, err := c.DecryptMAC(meta.MAC, meta.LastModifiedText()); err != nil || mac == "" {
				t.Fatalf("the unwrapped key does not decrypt the file's MAC: %v", err)
			}

			// kura wraps the same data key, sops decrypts with it.
			fresh := *st
			fresh.Enc, fresh.CreatedAt = "", ""
			if tt.version == v2 {
				fresh.AzureVersion = "" // let kura resolve it too
			}
			w, err := p.Wrap(ctx, fresh, dataKey)
			if err != nil {
				t.Fatal(err)
			}
			if w.AzureVersion != tt.version || w.Enc == st.Enc {
				t.Fatalf("kura wrapped %s (enc changed: %v)", w.Identity(), w.Enc != st.Enc)
			}
			if bytes.Count(enc, []byte(st.Enc)) != 1 {
				t.Fatalf("enc does not appear once in sops's output")
			}
			mixed := bytes.Replace(enc, []byte(st.Enc), []byte(w.Enc), 1)
			file := filepath.Join(dir, "kura-wrapped.yaml")
			if err := os.WriteFile(file, mixed, 0o600); err != nil {
				t.Fatal(err)
			}
			decrypts := srv.Count(azfake.OpDecrypt)
			out := runSops(t, srv, sops, dir, "decrypt", "--input-type", "yaml", "--output-type", "yaml", file)
			if string(out) != plainYAML {
				t.Fatalf("sops decrypt gave:\n%s\nwant:\n%s", out, plainYAML)
			}
			if srv.Count(azfake.OpDecrypt) != decrypts+1 || srv.Count(azfake.OpUnwrapKey) != 0 {
				t.Fatal("sops did not use the vault's decrypt operation once")
			}
		})
	}
}

// TestCompanionProcess runs the provider as kura runs kura-kms: in another
// process, configured by the fake's environment only, over the protocol.
func TestCompanionProcess(t *testing.T) {
	srv := azfake.Start(t)
	version := srv.AddKey("sops-key")
	srv.Setenv(t) // inherited by the companion
	t.Setenv(companionEnv, "1")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kmsproto.Start(self, os.Stderr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Handles(string(keys.AzureKV)) {
		t.Fatal("the companion does not handle azure_kv")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	st := stanza(t, srv.KeyURL("sops-key", ""))
	payload := randomBytes(32)
	resp, err := c.Call(ctx, kmsproto.Request{Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&st), Payload: kmsproto.EncodePayload(payload), TimeoutMillis: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Key.Version != version || resp.Key.Enc == "" || resp.Key.CreatedAt == "" {
		t.Fatalf("wrap answered %+v", resp.Key)
	}
	resp, err = c.Call(ctx, kmsproto.Request{Op: kmsproto.OpUnwrap, Key: resp.Key, TimeoutMillis: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := kmsproto.DecodePayload(resp.Payload); !bytes.Equal(got, payload) {
		t.Fatal("unwrap returned another payload")
	}

	missing := stanza(t, srv.KeyURL("no-such-key", ""))
	_, err = c.Call(ctx, kmsproto.Request{Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&missing), Payload: kmsproto.EncodePayload(payload), TimeoutMillis: 5000})
	if kmsproto.KindOf(err) != kmsproto.NotFound {
		t.Fatalf("unknown key: %v (%s), want %s", err, kmsproto.KindOf(err), kmsproto.NotFound)
	}
}
