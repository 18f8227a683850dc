package hcvault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kura-secrets/kura/internal/fakecloud/vaultfake"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// setup starts a fake Vault with a key "k" in "transit", points the
// environment at it and gives the test a home of its own.
func setup(t *testing.T) *vaultfake.Server {
	t.Helper()
	v := vaultfake.Start(t)
	v.AddKey("transit", "k")
	v.Setenv(t)
	t.Setenv("HOME", t.TempDir())
	return v
}

func stanza(t *testing.T, uri string) keys.Stanza {
	t.Helper()
	k, err := companion.ParseVault(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func dataKey(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func roundTrip(t *testing.T, p *Provider, k keys.Stanza) {
	t.Helper()
	payload := dataKey(t)
	w, err := p.Wrap(ctxFor(t, 10*time.Second), k, payload)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if !strings.HasPrefix(w.Enc, "vault:v1:") {
		t.Fatalf("Enc = %q, want a vault:v1: ciphertext", w.Enc)
	}
	if w.VaultAddress != k.VaultAddress || w.VaultEnginePath != k.VaultEnginePath || w.VaultKeyName != k.VaultKeyName || w.Type != keys.Vault {
		t.Fatalf("Wrap changed the key: %+v", w)
	}
	got, err := p.Unwrap(ctxFor(t, 10*time.Second), w)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("Unwrap = %x, want %x", got, payload)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Run("transit", func(t *testing.T) {
		v := setup(t)
		roundTrip(t, New(), stanza(t, v.KeyURI("transit", "k")))
	})
	t.Run("multi-segment engine", func(t *testing.T) {
		v := setup(t)
		uri := v.AddKey("secret/team/transit", "app-key")
		// Another key of the same name elsewhere must not be used.
		v.AddKey("transit", "app-key")
		k := stanza(t, uri)
		if k.VaultEnginePath != "secret/team/transit" || k.VaultKeyName != "app-key" {
			t.Fatalf("parsed %+v", k)
		}
		p := New()
		roundTrip(t, p, k)
		w, err := p.Wrap(context.Background(), k, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		w.VaultEnginePath = "transit"
		if _, err := p.Unwrap(context.Background(), w); kmsproto.KindOf(err) != kmsproto.WrongKey {
			t.Fatalf("unwrap with the same name in another engine: %v", err)
		}
	})
	t.Run("https", func(t *testing.T) {
		v := vaultfake.StartTLS(t)
		uri := v.AddKey("transit", "k")
		v.Setenv(t)
		t.Setenv("HOME", t.TempDir())
		if !strings.HasPrefix(uri, "https://127.0.0.1:") {
			t.Fatalf("uri %s", uri)
		}
		roundTrip(t, New(), stanza(t, uri))

		// Without the certificate the server is not trusted.
		t.Setenv("VAULT_CACERT", "")
		t.Setenv("SSL_CERT_FILE", "") // Go's system pool would read it
		_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), dataKey(t))
		checkErr(t, err, kmsproto.Unreachable, uri, v.Token)
		if !strings.Contains(err.Error(), "VAULT_CACERT") {
			t.Fatalf("message does not say what to do: %v", err)
		}
	})
	t.Run("address with trailing slash", func(t *testing.T) {
		v := setup(t)
		k := stanza(t, v.KeyURI("transit", "k"))
		k.VaultAddress += "/"
		k.VaultEnginePath = "/transit/"
		roundTrip(t, New(), k)
	})
}

func TestToken(t *testing.T) {
	t.Run("from VAULT_TOKEN", func(t *testing.T) {
		v := setup(t)
		// A token file with another token must not win over VAULT_TOKEN.
		os.WriteFile(filepath.Join(os.Getenv("HOME"), ".vault-token"), []byte(v.NoAccessToken), 0o600)
		roundTrip(t, New(), stanza(t, v.KeyURI("transit", "k")))
	})
	t.Run("from ~/.vault-token", func(t *testing.T) {
		v := setup(t)
		t.Setenv("VAULT_TOKEN", "")
		if err := os.WriteFile(filepath.Join(os.Getenv("HOME"), ".vault-token"), []byte(v.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		roundTrip(t, New(), stanza(t, v.KeyURI("transit", "k")))
	})
	t.Run("none", func(t *testing.T) {
		v := setup(t)
		t.Setenv("VAULT_TOKEN", "")
		uri := v.KeyURI("transit", "k")
		_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), dataKey(t))
		checkErr(t, err, kmsproto.NoCredentials, uri, v.Token)
		if !strings.Contains(err.Error(), "VAULT_TOKEN") {
			t.Fatalf("message does not say what to do: %v", err)
		}
	})
	t.Run("unreadable token file", func(t *testing.T) {
		v := setup(t)
		t.Setenv("VAULT_TOKEN", "")
		// A directory where the file should be cannot be read.
		os.Mkdir(filepath.Join(os.Getenv("HOME"), ".vault-token"), 0o700)
		uri := v.KeyURI("transit", "k")
		_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), dataKey(t))
		checkErr(t, err, kmsproto.NoCredentials, uri, v.Token)
	})
	t.Run("non-printable", func(t *testing.T) {
		v := setup(t)
		t.Setenv("VAULT_TOKEN", v.Token+"\x01")
		uri := v.KeyURI("transit", "k")
		_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), dataKey(t))
		checkErr(t, err, kmsproto.NoCredentials, uri, v.Token)
	})
}

func TestAllowlist(t *testing.T) {
	v := setup(t)
	host := strings.TrimPrefix(v.Address, "http://")
	port := host[strings.LastIndex(host, ":")+1:]
	uri := v.KeyURI("transit", "k")
	for _, tc := range []struct {
		list string
		kind kmsproto.Kind // "" for allowed
	}{
		{"", ""},
		{"all", ""},
		{"none", kmsproto.AccessDenied},
		{v.Address, ""},
		{v.Address + "/", ""},
		{"https://vault.example.com, " + v.Address + " ", ""},
		{"http://127.0.0.1", kmsproto.AccessDenied},                       // the port is part of the prefix
		{"http://127.0.0.1:" + port[:len(port)-1], kmsproto.AccessDenied}, // a "/" ends each prefix
		{"https://" + host, kmsproto.AccessDenied},
		{"http://", ""},
		{v.Address + ",,https://x", kmsproto.Invalid},
		{" ", kmsproto.Invalid},
	} {
		t.Run(tc.list, func(t *testing.T) {
			t.Setenv(AllowlistEnv, tc.list)
			before := v.Requests()
			_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), dataKey(t))
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			checkErr(t, err, tc.kind, uri, v.Token)
			if !strings.Contains(err.Error(), AllowlistEnv) {
				t.Fatalf("message does not name %s: %v", AllowlistEnv, err)
			}
			if v.Requests() != before {
				t.Fatal("a refused address was contacted")
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	v := setup(t)
	uris := []string{v.KeyURI("transit", "k"), v.AddKey("secret/team/transit", "k2")}
	p := New()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			k := stanza(t, uris[i%2])
			payload := []byte(fmt.Sprintf("payload %d", i))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w, err := p.Wrap(ctx, k, payload)
			if err != nil {
				errs <- err
				return
			}
			got, err := p.Unwrap(ctx, w)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, payload) {
				errs <- fmt.Errorf("got %q, want %q", got, payload)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(p.clients); n != 1 {
		t.Errorf("%d clients for one address", n)
	}
	if v.Count("encrypt") != 64 || v.Count("decrypt") != 64 {
		t.Errorf("encrypt %d decrypt %d, want 64 each", v.Count("encrypt"), v.Count("decrypt"))
	}
}

// checkErr checks an error's kind and that its message is one line that
// names the key and holds none of the secrets.
func checkErr(t *testing.T, err error, kind kmsproto.Kind, uri string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	msg := err.Error()
	if got := kmsproto.KindOf(err); got != kind {
		t.Fatalf("kind %s, want %s: %s", got, kind, msg)
	}
	if !strings.Contains(msg, uri) {
		t.Errorf("message does not name the key %s: %s", uri, msg)
	}
	if strings.ContainsAny(msg, "\n\r\t") {
		t.Errorf("message is not one line: %q", msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message holds a secret (%.6s...): %s", s, msg)
		}
	}
	t.Logf("%s: %s", kind, msg)
}

func TestErrors(t *testing.T) {
	v := setup(t)
	other := v.AddKey("transit", "other")
	uri := v.KeyURI("transit", "k")
	payload := dataKey(t)
	b64 := base64.StdEncoding.EncodeToString(payload)
	p := New()
	good, err := p.Wrap(context.Background(), stanza(t, uri), payload)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := p.Wrap(context.Background(), stanza(t, other), payload)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{v.Token, v.NoAccessToken, b64, good.Enc}

	wrap := func(t *testing.T, uri string) (keys.Stanza, error) {
		return New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), payload)
	}
	unwrap := func(t *testing.T, uri, enc string) error {
		k := stanza(t, uri)
		k.Enc = enc
		_, err := New().Unwrap(ctxFor(t, 5*time.Second), k)
		return err
	}

	t.Run("forbidden token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", v.NoAccessToken)
		_, err := wrap(t, uri)
		checkErr(t, err, kmsproto.AccessDenied, uri, secrets...)
		checkErr(t, unwrap(t, uri, good.Enc), kmsproto.AccessDenied, uri, secrets...)
	})
	t.Run("invalid token", func(t *testing.T) {
		t.Setenv("VAULT_TOKEN", "hvs.not-a-token")
		_, err := wrap(t, uri)
		checkErr(t, err, kmsproto.AccessDenied, uri, append(secrets, "hvs.not-a-token")...)
	})
	t.Run("unknown key", func(t *testing.T) {
		missing := v.KeyURI("transit", "missing")
		_, err := wrap(t, missing)
		checkErr(t, err, kmsproto.NotFound, missing, secrets...)
		checkErr(t, unwrap(t, missing, good.Enc), kmsproto.NotFound, missing, secrets...)
	})
	t.Run("unknown engine", func(t *testing.T) {
		missing := v.KeyURI("nothing/here", "k")
		_, err := wrap(t, missing)
		checkErr(t, err, kmsproto.NotFound, missing, secrets...)
		checkErr(t, unwrap(t, missing, good.Enc), kmsproto.NotFound, missing, secrets...)
	})
	t.Run("damaged ciphertext", func(t *testing.T) {
		enc := []byte(good.Enc)
		i := len(enc) - 5
		enc[i] ^= 'A' ^ 'B' // stays base64
		if enc[i] == '=' || enc[i] == good.Enc[i] {
			enc[i] = 'Q'
		}
		checkErr(t, unwrap(t, uri, string(enc)), kmsproto.WrongKey, uri, secrets...)
	})
	t.Run("foreign ciphertext", func(t *testing.T) {
		checkErr(t, unwrap(t, uri, foreign.Enc), kmsproto.WrongKey, uri, secrets...)
	})
	t.Run("not a ciphertext", func(t *testing.T) {
		for _, enc := range []string{"garbage", "vault:v1:!!!", "vault:v9:" + strings.TrimPrefix(good.Enc, "vault:v1:"), "vault:v1:AAAA"} {
			checkErr(t, unwrap(t, uri, enc), kmsproto.WrongKey, uri, secrets...)
		}
	})
	t.Run("empty enc", func(t *testing.T) {
		checkErr(t, unwrap(t, uri, ""), kmsproto.Invalid, uri, secrets...)
	})
	t.Run("sealed", func(t *testing.T) {
		v.SetSealed(true)
		defer v.SetSealed(false)
		start := time.Now()
		_, err := wrap(t, uri)
		checkErr(t, err, kmsproto.Unreachable, uri, secrets...)
		if !strings.Contains(err.Error(), "sealed") {
			t.Errorf("message does not say sealed: %v", err)
		}
		checkErr(t, unwrap(t, uri, good.Enc), kmsproto.Unreachable, uri, secrets...)
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v: a sealed Vault is not worth retrying", d)
		}
	})
	t.Run("closed port", func(t *testing.T) {
		closed := vaultfake.ClosedAddress(t) + "/v1/transit/keys/k"
		start := time.Now()
		_, err := New().Wrap(ctxFor(t, 10*time.Second), stanza(t, closed), payload)
		checkErr(t, err, kmsproto.Unreachable, closed, secrets...)
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %v", d)
		}
		checkErr(t, unwrap(t, closed, good.Enc), kmsproto.Unreachable, closed, secrets...)
	})
	t.Run("no answer", func(t *testing.T) {
		hang := vaultfake.HangingAddress(t) + "/v1/transit/keys/k"
		start := time.Now()
		_, err := New().Wrap(ctxFor(t, 500*time.Millisecond), stanza(t, hang), payload)
		checkErr(t, err, kmsproto.Timeout, hang, secrets...)
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
		k := stanza(t, hang)
		k.Enc = good.Enc
		start = time.Now()
		_, err = New().Unwrap(ctxFor(t, 500*time.Millisecond), k)
		checkErr(t, err, kmsproto.Timeout, hang, secrets...)
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("VAULT_CLIENT_TIMEOUT", func(t *testing.T) {
		t.Setenv("VAULT_CLIENT_TIMEOUT", "300ms")
		hang := vaultfake.HangingAddress(t) + "/v1/transit/keys/k"
		start := time.Now()
		_, err := New().Wrap(ctxFor(t, 10*time.Second), stanza(t, hang), payload)
		checkErr(t, err, kmsproto.Timeout, hang, secrets...)
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		bad := "http://vault.invalid:8200/v1/transit/keys/k"
		_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, bad), payload)
		if kind := kmsproto.KindOf(err); kind != kmsproto.Unreachable && kind != kmsproto.Timeout {
			t.Fatalf("kind %s: %v", kind, err)
		}
	})
	t.Run("malformed key", func(t *testing.T) {
		for _, k := range []keys.Stanza{
			{VaultAddress: "", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: "vault.example.com:8200", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: "ftp://127.0.0.1:1", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: "http://", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: "http://[::1", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: "http://user:pw@127.0.0.1", VaultEnginePath: "transit", VaultKeyName: "k"},
			{VaultAddress: v.Address, VaultEnginePath: "", VaultKeyName: "k"},
			{VaultAddress: v.Address, VaultEnginePath: "transit", VaultKeyName: ""},
			{VaultAddress: v.Address, VaultEnginePath: "transit/../sys", VaultKeyName: "k"},
			{VaultAddress: v.Address, VaultEnginePath: "transit", VaultKeyName: "../../secret/data/x"},
			{VaultAddress: v.Address, VaultEnginePath: "transit", VaultKeyName: ".."},
			{VaultAddress: v.Address, VaultEnginePath: "a//b", VaultKeyName: "k"},
			{VaultAddress: v.Address, VaultEnginePath: "transit", VaultKeyName: "k?x=1"},
			{VaultAddress: v.Address, VaultEnginePath: "transit", VaultKeyName: "k\nx"},
		} {
			k.Type = keys.Vault
			before := v.Requests()
			_, err := New().Wrap(ctxFor(t, 5*time.Second), k, payload)
			named := strings.Replace(k.VaultAddress, ":pw@", ":xxxxx@", 1)
			checkErr(t, err, kmsproto.Invalid, named, append(secrets, ":pw@")...)
			k.Enc = good.Enc
			_, err = New().Unwrap(ctxFor(t, 5*time.Second), k)
			checkErr(t, err, kmsproto.Invalid, named, append(secrets, ":pw@")...)
			if v.Requests() != before {
				t.Errorf("%+v: a malformed key was sent", k)
			}
		}
	})
	t.Run("bad environment", func(t *testing.T) {
		t.Setenv("VAULT_MAX_RETRIES", "many")
		_, err := wrap(t, uri)
		checkErr(t, err, kmsproto.Invalid, uri, secrets...)
	})
}

// VAULT_AGENT_ADDR sends the requests to a Vault agent whatever the key's
// address, as the Vault client does for sops.
func TestAgentAddress(t *testing.T) {
	v := setup(t)
	closed := vaultfake.ClosedAddress(t)
	t.Setenv("VAULT_AGENT_ADDR", v.Address)
	roundTrip(t, New(), stanza(t, closed+"/v1/transit/keys/k"))

	t.Setenv("VAULT_AGENT_ADDR", closed)
	uri := v.KeyURI("transit", "k")
	_, err := New().Wrap(ctxFor(t, 5*time.Second), stanza(t, uri), []byte("x"))
	checkErr(t, err, kmsproto.Unreachable, uri, v.Token)
	if !strings.Contains(err.Error(), "VAULT_AGENT_ADDR") {
		t.Errorf("message does not say where the request went: %v", err)
	}
}

// A server that fails with 502 is retried VAULT_MAX_RETRIES times, and
// its answer is reported, not hidden behind a timeout.
func TestRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>bad gateway</html>"))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VAULT_TOKEN", "hvs.retry-token")
	t.Setenv(AllowlistEnv, "")
	uri := srv.URL + "/v1/transit/keys/k"

	t.Run("default budget", func(t *testing.T) {
		t.Setenv("VAULT_MAX_RETRIES", "1")
		hits.Store(0)
		start := time.Now()
		_, err := New().Wrap(ctxFor(t, 10*time.Second), stanza(t, uri), []byte("x"))
		checkErr(t, err, kmsproto.Unreachable, uri, "hvs.retry-token")
		if n := hits.Load(); n != 2 {
			t.Errorf("%d tries, want 2", n)
		}
		if !strings.Contains(err.Error(), "bad gateway") {
			t.Errorf("message lost the answer: %v", err)
		}
		t.Logf("took %v", time.Since(start))
	})
	t.Run("short deadline", func(t *testing.T) {
		hits.Store(0)
		start := time.Now()
		_, err := New().Wrap(ctxFor(t, 2*time.Second), stanza(t, uri), []byte("x"))
		checkErr(t, err, kmsproto.Unreachable, uri, "hvs.retry-token")
		if n := hits.Load(); n != 1 {
			t.Errorf("%d tries, want 1: no time for a retry", n)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %v", d)
		}
	})
}

func TestParseAllowlist(t *testing.T) {
	for _, tc := range []struct {
		list, addr string
		want       bool
	}{
		{"", "https://anything", true},
		{"all", "https://anything", true},
		{"none", "https://anything", false},
		{"https://vault.example.com", "https://vault.example.com", true},
		{"https://vault.example.com", "https://vault.example.com/", true},
		{"https://vault.example.com", "https://vault.example.com.evil.net", false},
		{"https://vault.example.com", "https://vault.example.com:8200", false},
		{"https://vault.example.com:8200", "https://vault.example.com:8200", true},
		{"https://a.example.com, https://vault.example.com ", "https://vault.example.com", true},
		{"https://", "https://vault.example.com", true},
		{"ALL", "https://vault.example.com", false}, // only the exact words are special
	} {
		al, err := parseAllowlist(tc.list)
		if err != nil {
			t.Fatalf("%q: %v", tc.list, err)
		}
		if got := al.allows(tc.addr); got != tc.want {
			t.Errorf("%q allows %q = %v, want %v", tc.list, tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{",", "a,,b", "a, ", " "} {
		if _, err := parseAllowlist(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The provider behind the key-source protocol, as kura-kms serves it.
func TestProtocol(t *testing.T) {
	v := setup(t)
	uri := v.KeyURI("transit", "k")
	k := stanza(t, uri)
	payload := dataKey(t)
	hang := stanza(t, vaultfake.HangingAddress(t)+"/v1/transit/keys/k")

	var in bytes.Buffer
	for _, req := range []string{
		fmt.Sprintf(`{"id":1,"op":"wrap","key":%s,"payload":%q}`, wireKey(t, k), base64.StdEncoding.EncodeToString(payload)),
		fmt.Sprintf(`{"id":2,"op":"wrap","key":%s,"payload":"eA==","timeout_ms":300}`, wireKey(t, hang)),
	} {
		in.WriteString(req + "\n")
	}
	var out bytes.Buffer
	if err := kmsproto.Serve(&in, &out, map[keys.Type]kmsproto.Provider{keys.Vault: New()}, nil); err != nil {
		t.Fatal(err)
	}
	resps := decodeResponses(t, out.Bytes())
	if r := resps[1]; r.Error != nil || r.Key == nil || !strings.HasPrefix(r.Key.Enc, "vault:v1:") || r.Key.CreatedAt == "" {
		t.Fatalf("wrap: %+v", r)
	}
	if r := resps[2]; r.Error == nil || r.Error.Kind != kmsproto.Timeout {
		t.Fatalf("wrap with no answer: %+v", r)
	}

	wrapped := resps[1].Key.Stanza()
	in.Reset()
	out.Reset()
	in.WriteString(fmt.Sprintf(`{"id":3,"op":"unwrap","key":%s}`+"\n", wireKey(t, wrapped)))
	if err := kmsproto.Serve(&in, &out, map[keys.Type]kmsproto.Provider{keys.Vault: New()}, nil); err != nil {
		t.Fatal(err)
	}
	r := decodeResponses(t, out.Bytes())[3]
	got, err := kmsproto.DecodePayload(r.Payload)
	if r.Error != nil || err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("unwrap: %+v", r)
	}
}

func wireKey(t *testing.T, k keys.Stanza) string {
	t.Helper()
	b, err := json.Marshal(kmsproto.FromStanza(&k))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeResponses(t *testing.T, out []byte) map[uint64]kmsproto.Response {
	t.Helper()
	resps := map[uint64]kmsproto.Response{}
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r kmsproto.Response
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		resps[r.ID] = r
	}
	return resps
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\n\t* b  c\r\n", nil); got != "a * b c" {
		t.Errorf("got %q", got)
	}
	if got := oneLine("token hvs.secret in body", []string{"hvs.secret", ""}); got != "token [redacted] in body" {
		t.Errorf("got %q", got)
	}
	long := strings.Repeat("é", maxDetail)
	got := oneLine(long, nil)
	if !strings.HasSuffix(got, "...") || len(got) > maxDetail+3 || !utf8.ValidString(got) {
		t.Errorf("got %q", got)
	}
	if got := hostOf("%%"); got != "%%" {
		t.Errorf("hostOf = %q", got)
	}
}

// Answers no Vault transit engine gives are reported, not trusted.
func TestOddAnswers(t *testing.T) {
	var status atomic.Int32
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(status.Load()))
		w.Write([]byte(body.Load().(string)))
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("VAULT_TOKEN", "hvs.odd-token")
	t.Setenv("VAULT_MAX_RETRIES", "0")
	t.Setenv(AllowlistEnv, "")
	uri := srv.URL + "/v1/kv/keys/k"
	for _, tc := range []struct {
		status int
		body   string
		kind   kmsproto.Kind
	}{
		{204, ``, kmsproto.Internal}, // a KV engine stored the request
		{200, `{"data":{"key_version":1}}`, kmsproto.Internal},
		{200, `{"data":{"ciphertext":"vault:v1:x","plaintext":"not base64"}}`, kmsproto.Internal},
		{200, `not json`, kmsproto.Internal},
		{500, `{"errors":["1 error occurred:\n\t* internal error\n\n"]}`, kmsproto.Internal},
		{429, `{"errors":["request path \"kv/encrypt/k\": rate limit quota exceeded"]}`, kmsproto.Unreachable},
		{503, `{"errors":["Vault is in standby"]}`, kmsproto.Unreachable},
		{400, `{"errors":["missing client token"]}`, kmsproto.AccessDenied},
		{400, `{"errors":["something else"]}`, kmsproto.Invalid},
	} {
		status.Store(int32(tc.status))
		body.Store(tc.body)
		k := stanza(t, uri)
		_, werr := New().Wrap(ctxFor(t, 5*time.Second), k, []byte("x"))
		k.Enc = "vault:v1:AAAA"
		_, uerr := New().Unwrap(ctxFor(t, 5*time.Second), k)
		if tc.status == 200 && strings.Contains(tc.body, "ciphertext") {
			if werr != nil {
				t.Errorf("%s: wrap: %v", tc.body, werr)
			}
			checkErr(t, uerr, tc.kind, uri, "hvs.odd-token")
			continue
		}
		checkErr(t, werr, tc.kind, uri, "hvs.odd-token")
		if tc.status == 400 && tc.kind == kmsproto.Invalid {
			checkErr(t, uerr, kmsproto.WrongKey, uri, "hvs.odd-token")
			continue
		}
		checkErr(t, uerr, tc.kind, uri, "hvs.odd-token")
	}
}
