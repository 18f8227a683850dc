package azkv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/kura-secrets/kura/internal/fakecloud/azfake"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// setup starts a fake vault with one key, points the process's Azure
// credential and TLS roots at it, and returns a fresh provider.
func setup(t *testing.T) (*azfake.Server, string, *Provider) {
	t.Helper()
	srv := azfake.Start(t)
	version := srv.AddKey("sops-key")
	srv.Setenv(t)
	return srv, version, New()
}

func stanza(t *testing.T, keyURL string) keys.Stanza {
	t.Helper()
	s, err := companion.ParseAzure(keyURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestRoundTrip: a wrapped payload is RSA-OAEP-256 under the named key
// version, stored as unpadded base64url, and unwraps to the payload; only
// the encrypt and decrypt operations are used.
func TestRoundTrip(t *testing.T) {
	srv, version, p := setup(t)
	ctx := testContext(t, 10*time.Second)
	for _, payload := range [][]byte{randomBytes(32), randomBytes(33)} { // data key, Shamir share
		s := stanza(t, srv.KeyURL("sops-key", version))
		w, err := p.Wrap(ctx, s, payload)
		if err != nil {
			t.Fatal(err)
		}
		if w.AzureVersion != version || w.AzureName != "sops-key" || w.AzureVaultURL != srv.VaultURL() {
			t.Fatalf("wrapped stanza names %s, want %s", w.Identity(), s.Identity())
		}
		if strings.ContainsAny(w.Enc, "=+/") {
			t.Fatalf("enc %q is not unpadded base64url", w.Enc)
		}
		ct, err := base64.RawURLEncoding.DecodeString(w.Enc)
		if err != nil {
			t.Fatal(err)
		}
		// Decrypt independently: the ciphertext is plain RSA-OAEP-256.
		got, err := rsa.DecryptOAEP(sha256.New(), nil, srv.PrivateKey("sops-key", version), ct, nil)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("the vault key does not decrypt enc as RSA-OAEP-256: %v", err)
		}
		got, err = p.Unwrap(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatal("Unwrap returned another payload")
		}
	}
	if srv.Count(azfake.OpEncrypt) != 2 || srv.Count(azfake.OpDecrypt) != 2 ||
		srv.Count(azfake.OpWrapKey) != 0 || srv.Count(azfake.OpUnwrapKey) != 0 || srv.Count(azfake.OpGet) != 0 {
		t.Fatalf("operations: encrypt %d, decrypt %d, wrapkey %d, unwrapkey %d, get %d; want 2, 2, 0, 0, 0",
			srv.Count(azfake.OpEncrypt), srv.Count(azfake.OpDecrypt), srv.Count(azfake.OpWrapKey),
			srv.Count(azfake.OpUnwrapKey), srv.Count(azfake.OpGet))
	}
	// One token for the run, one challenge for the client.
	if srv.Count(azfake.OpToken) != 1 || srv.Count(azfake.OpChallenge) != 1 {
		t.Fatalf("tokens %d, challenges %d; want 1, 1", srv.Count(azfake.OpToken), srv.Count(azfake.OpChallenge))
	}
}

// TestWrapResolvesVersion: a key without a version is wrapped with the
// current version, which the stanza then names; rotating the key later
// does not change which version unwraps it.
func TestWrapResolvesVersion(t *testing.T) {
	srv, v1, p := setup(t)
	v2 := srv.AddKey("sops-key")
	ctx := testContext(t, 10*time.Second)
	payload := randomBytes(32)
	w, err := p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", "")), payload)
	if err != nil {
		t.Fatal(err)
	}
	if w.AzureVersion != v2 {
		t.Fatalf("stored version %q, want the current one %q (not %q)", w.AzureVersion, v2, v1)
	}
	if srv.Count(azfake.OpGet) != 1 {
		t.Fatalf("%d get-key calls, want 1", srv.Count(azfake.OpGet))
	}
	srv.AddKey("sops-key") // rotate
	got, err := p.Unwrap(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("Unwrap returned another payload")
	}
	// An explicit older version is used as given.
	w1, err := p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", v1)), payload)
	if err != nil {
		t.Fatal(err)
	}
	if w1.AzureVersion != v1 {
		t.Fatalf("stored version %q, want %q", w1.AzureVersion, v1)
	}
	if _, err := rsa.DecryptOAEP(sha256.New(), nil, srv.PrivateKey("sops-key", v1), mustDecode(t, w1.Enc), nil); err != nil {
		t.Fatal("not wrapped with the named version")
	}
}

func mustDecode(t *testing.T, enc string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConcurrent: requests arriving together on a fresh provider share
// one credential, one client and one token.
func TestConcurrent(t *testing.T) {
	srv, version, p := setup(t)
	srv.AddKey("other-key")
	ctx := testContext(t, 20*time.Second)
	stanzas := []keys.Stanza{
		stanza(t, srv.KeyURL("sops-key", version)),
		stanza(t, srv.KeyURL("sops-key", "")),
		stanza(t, srv.KeyURL("other-key", "")),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 48)
	for i := range 48 {
		wg.Go(func() {
			payload := randomBytes(32)
			w, err := p.Wrap(ctx, stanzas[i%len(stanzas)], payload)
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
				errs <- fmt.Errorf("request %d: another payload came back", i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := srv.Count(azfake.OpToken); n != 1 {
		t.Errorf("%d tokens fetched, want 1", n)
	}
	if n := len(p.clients); n != 1 {
		t.Errorf("%d clients, want 1", n)
	}
}

// checkErr checks an error's kind and that its message is one line that
// names the key and holds none of the secrets.
func checkErr(t *testing.T, err error, kind kmsproto.Kind, k keys.Stanza, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	if got := kmsproto.KindOf(err); got != kind {
		t.Fatalf("kind %s, want %s: %v", got, kind, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	if !strings.Contains(msg, k.AzureVaultURL+"/keys/"+k.AzureName) {
		t.Errorf("message does not name the key %s: %s", k.Identity(), msg)
	}
	for _, s := range append(secrets, "azfake.") { // azfake. starts every token
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message holds a secret %q: %s", s, msg)
		}
	}
	t.Logf("%s: %s", kind, msg)
}

func TestNoCredentials(t *testing.T) {
	t.Run("none configured", func(t *testing.T) {
		srv, version, p := setup(t)
		t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential") // and no AZURE_* variables
		k := stanza(t, srv.KeyURL("sops-key", version))
		payload := randomBytes(32)
		start := time.Now()
		_, err := p.Wrap(testContext(t, 10*time.Second), k, payload)
		checkErr(t, err, kmsproto.NoCredentials, k, base64.StdEncoding.EncodeToString(payload))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("authentication fails", func(t *testing.T) {
		srv, version, p := setup(t)
		t.Setenv("IDENTITY_HEADER", "not-the-secret")
		k := stanza(t, srv.KeyURL("sops-key", version))
		k.Enc = "AAAA"
		_, err := p.Unwrap(testContext(t, 10*time.Second), k)
		checkErr(t, err, kmsproto.NoCredentials, k, srv.IdentityHeader())
		if !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("message does not say authentication failed: %v", err)
		}
	})
	t.Run("invalid AZURE_TOKEN_CREDENTIALS", func(t *testing.T) {
		srv, version, p := setup(t)
		t.Setenv("AZURE_TOKEN_CREDENTIALS", "NoSuchCredential")
		k := stanza(t, srv.KeyURL("sops-key", version))
		_, err := p.Wrap(testContext(t, 10*time.Second), k, randomBytes(32))
		checkErr(t, err, kmsproto.NoCredentials, k)
	})
}

func TestForbidden(t *testing.T) {
	srv, version, p := setup(t)
	ctx := testContext(t, 10*time.Second)
	// Wrap as the allowed identity first, to have something to unwrap.
	w, err := p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", version)), randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_CLIENT_ID", azfake.ForbiddenClientID)
	p = New()
	_, err = p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", version)), randomBytes(32))
	checkErr(t, err, kmsproto.AccessDenied, stanza(t, srv.KeyURL("sops-key", version)))
	_, err = p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", "")), randomBytes(32))
	checkErr(t, err, kmsproto.AccessDenied, stanza(t, srv.KeyURL("sops-key", "")))
	_, err = p.Unwrap(ctx, w)
	checkErr(t, err, kmsproto.AccessDenied, w, w.Enc)
}

func TestNotFound(t *testing.T) {
	srv, version, p := setup(t)
	ctx := testContext(t, 10*time.Second)
	w, err := p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", version)), randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{
		srv.KeyURL("no-such-key", ""),
		srv.KeyURL("no-such-key", version),
		srv.KeyURL("sops-key", strings.Repeat("0", 32)),
	} {
		k := stanza(t, url)
		_, err := p.Wrap(ctx, k, randomBytes(32))
		checkErr(t, err, kmsproto.NotFound, k)
		if k.AzureVersion != "" {
			k.Enc = w.Enc
			_, err = p.Unwrap(ctx, k)
			checkErr(t, err, kmsproto.NotFound, k, w.Enc)
		}
	}
	t.Run("disabled", func(t *testing.T) {
		srv.SetEnabled("sops-key", version, false)
		_, err := p.Unwrap(ctx, w)
		checkErr(t, err, kmsproto.NotFound, w, w.Enc)
		if !strings.Contains(err.Error(), "disabled") {
			t.Errorf("message does not say the key is disabled: %v", err)
		}
		_, err = p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", "")), randomBytes(32))
		checkErr(t, err, kmsproto.NotFound, stanza(t, srv.KeyURL("sops-key", "")))
	})
}

func TestDamagedCiphertext(t *testing.T) {
	srv, version, p := setup(t)
	other := srv.AddKey("other-key")
	ctx := testContext(t, 10*time.Second)
	w, err := p.Wrap(ctx, stanza(t, srv.KeyURL("sops-key", version)), randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	ct := mustDecode(t, w.Enc)
	flipped := bytes.Clone(ct)
	flipped[len(flipped)/2] ^= 1
	fromOther, err := p.Wrap(ctx, stanza(t, srv.KeyURL("other-key", other)), randomBytes(32))
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]string{
		"flipped bit":   base64.RawURLEncoding.EncodeToString(flipped),
		"truncated":     base64.RawURLEncoding.EncodeToString(ct[:100]),
		"not base64url": "!!" + w.Enc[2:],
		"other key":     fromOther.Enc,
	} {
		t.Run(name, func(t *testing.T) {
			k := w
			k.Enc = enc
			_, err := p.Unwrap(ctx, k)
			checkErr(t, err, kmsproto.WrongKey, k, enc)
		})
	}
	t.Run("padded", func(t *testing.T) {
		k := w
		k.Enc = base64.URLEncoding.EncodeToString(ct)
		if _, err := p.Unwrap(ctx, k); err != nil {
			t.Fatalf("padded base64url: %v", err)
		}
	})
}

// TestUnreachable: a closed port fails at once, without the SDK's retries.
func TestUnreachable(t *testing.T) {
	_, _, p := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	k := stanza(t, "https://"+addr+"/keys/sops-key/0123")
	start := time.Now()
	_, err = p.Wrap(testContext(t, 10*time.Second), k, randomBytes(32))
	checkErr(t, err, kmsproto.Unreachable, k)
	k.Enc = "AAAA"
	_, err = p.Unwrap(testContext(t, 10*time.Second), k)
	checkErr(t, err, kmsproto.Unreachable, k)
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v, want well under a second", d)
	}
}

// TestTimeout: a vault that accepts connections and never answers fails
// within the request's deadline.
func TestTimeout(t *testing.T) {
	_, _, p := setup(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	k := stanza(t, "https://"+l.Addr().String()+"/keys/sops-key")
	for _, op := range []string{"wrap", "unwrap"} {
		start := time.Now()
		ctx := testContext(t, time.Second)
		if op == "wrap" {
			_, err = p.Wrap(ctx, k, randomBytes(32))
		} else {
			k.Enc = "AAAA"
			_, err = p.Unwrap(ctx, k)
		}
		d := time.Since(start)
		checkErr(t, err, kmsproto.Timeout, k)
		if d > 1300*time.Millisecond {
			t.Errorf("%s took %v, want about 1s", op, d)
		}
	}
}

// TestTimeoutWhileAnotherRequestHoldsTheCredential: a request with a
// short deadline is not held past it by another request that is still
// fetching the shared token.
func TestTimeoutWhileAnotherRequestHoldsTheCredential(t *testing.T) {
	srv, version, p := setup(t)
	// A token endpoint that never answers.
	hang := make(chan struct{})
	stuck := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go stuck.Serve(l)
	t.Cleanup(func() { close(hang); stuck.Close() })
	t.Setenv("IDENTITY_ENDPOINT", "http://"+l.Addr().String()+"/token")

	k := stanza(t, srv.KeyURL("sops-key", version))
	long := testContext(t, 20*time.Second)
	go p.Wrap(long, k, randomBytes(32))
	time.Sleep(200 * time.Millisecond) // let it take the token lock
	start := time.Now()
	_, err = p.Wrap(testContext(t, 500*time.Millisecond), k, randomBytes(32))
	checkErr(t, err, kmsproto.Timeout, k)
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("took %v, want about 0.5s", d)
	}
}

func TestMalformed(t *testing.T) {
	srv, version, p := setup(t)
	ctx := testContext(t, 10*time.Second)
	for _, k := range []keys.Stanza{
		{AzureVaultURL: "http://" + srv.VaultURL()[len("https://"):], AzureName: "sops-key", AzureVersion: version},
		{AzureVaultURL: "https://", AzureName: "sops-key"},
		{AzureVaultURL: "vault.azure.net", AzureName: "sops-key"},
		{AzureVaultURL: srv.VaultURL() + "/keys", AzureName: "sops-key"},
		{AzureVaultURL: srv.VaultURL() + "?x=1", AzureName: "sops-key"},
		{AzureVaultURL: "https://user@" + srv.VaultURL()[len("https://"):], AzureName: "sops-key"},
		{AzureVaultURL: "https://bad host", AzureName: "sops-key"},
		{AzureVaultURL: srv.VaultURL(), AzureName: ""},
		{AzureVaultURL: srv.VaultURL(), AzureName: "a/b"},
		{AzureVaultURL: srv.VaultURL(), AzureName: "sops-key", AzureVersion: "1/2"},
	} {
		k.Type = keys.AzureKV
		_, err := p.Wrap(ctx, k, randomBytes(32))
		checkErr(t, err, kmsproto.Invalid, k)
		k.Enc = "AAAA"
		_, err = p.Unwrap(ctx, k)
		checkErr(t, err, kmsproto.Invalid, k)
	}
	k := stanza(t, srv.KeyURL("sops-key", version))
	_, err := p.Unwrap(ctx, k)
	checkErr(t, err, kmsproto.Invalid, k) // no enc
	_, err = p.Wrap(ctx, k, nil)
	checkErr(t, err, kmsproto.Invalid, k)
	for _, op := range []string{azfake.OpChallenge, azfake.OpToken, azfake.OpEncrypt, azfake.OpDecrypt} {
		if n := srv.Count(op); n != 0 {
			t.Errorf("%d %s calls for malformed keys", n, op)
		}
	}
	// A payload too long for RSA-OAEP-256 under a 2048-bit key.
	_, err = p.Wrap(ctx, k, randomBytes(300))
	checkErr(t, err, kmsproto.Invalid, k)
}

// TestClassify covers the error paths the fake cannot produce.
func TestClassify(t *testing.T) {
	k := keys.Stanza{Type: keys.AzureKV, AzureVaultURL: "https://v.vault.azure.net", AzureName: "n", AzureVersion: "1"}
	resp := func(status int, body string) error {
		return runtime.NewResponseError(&http.Response{
			StatusCode: status,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    httptest.NewRequest("POST", "https://v.vault.azure.net/keys/n/1/decrypt", nil),
		})
	}
	bg := context.Background()
	tests := []struct {
		name   string
		action string
		err    error
		kind   kmsproto.Kind
	}{
		{"dns", "wrap with", &net.DNSError{Err: "no such host", Name: "v.vault.azure.net", IsNotFound: true}, kmsproto.Unreachable},
		{"refused", "wrap with", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, kmsproto.Unreachable},
		{"reset", "wrap with", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, kmsproto.Unreachable},
		{"deadline", "wrap with", fmt.Errorf("x: %w", context.DeadlineExceeded), kmsproto.Timeout},
		{"credential", "wrap with", &credentialError{errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: missing")}, kmsproto.NoCredentials},
		{"401", "unwrap with", resp(401, `{"error":{"code":"Unauthorized","message":"AKV10032: Invalid issuer."}}`), kmsproto.NoCredentials},
		{"403", "unwrap with", resp(403, `{"error":{"code":"Forbidden","message":"Caller is not authorized.","innererror":{"code":"ForbiddenByRbac"}}}`), kmsproto.AccessDenied},
		{"403 disabled", "unwrap with", resp(403, `{"error":{"code":"Forbidden","message":"Operation decrypt is not allowed on a disabled key."}}`), kmsproto.NotFound},
		{"404", "wrap with", resp(404, `{"error":{"code":"KeyNotFound","message":"A key with (name/id) n was not found."}}`), kmsproto.NotFound},
		{"400 unwrap", "unwrap with", resp(400, `{"error":{"code":"BadParameter","message":"Bad Request"}}`), kmsproto.WrongKey},
		{"400 wrap", "wrap with", resp(400, `{"error":{"code":"BadParameter","message":"Bad Request"}}`), kmsproto.Invalid},
		{"429", "wrap with", resp(429, `{"error":{"code":"Throttled","message":"Too many requests."}}`), kmsproto.Unreachable},
		{"503", "wrap with", resp(503, `not json`), kmsproto.Unreachable},
		{"409", "wrap with", resp(409, `{}`), kmsproto.Internal},
		{"other", "wrap with", errors.New("something\nelse"), kmsproto.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, classify(bg, tt.action, k, tt.err), tt.kind, k)
		})
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	checkErr(t, classify(ctx, "wrap with", k, errors.New("whatever")), kmsproto.Timeout, k)
}

func TestSummary(t *testing.T) {
	got := summary("first line\n\t--------\n  second  \n\n" + strings.Repeat("é", 400))
	if strings.Contains(got, "\n") || !strings.HasPrefix(got, "first line; second; é") || len(got) > maxSummary+3 {
		t.Fatalf("summary = %q", got)
	}
	if !strings.HasSuffix(got, "é...") {
		t.Fatalf("summary cut inside a character: %q", got[len(got)-8:])
	}
}

func TestShouldRetry(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	if shouldRetry(nil, refused) {
		t.Error("retries a refused connection")
	}
	if shouldRetry(nil, &net.DNSError{Err: "no such host", IsNotFound: true}) {
		t.Error("retries an unknown host")
	}
	if !shouldRetry(nil, &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}) {
		t.Error("does not retry a reset connection")
	}
	if !shouldRetry(&http.Response{StatusCode: 503}, nil) || shouldRetry(&http.Response{StatusCode: 404}, nil) {
		t.Error("wrong status decisions")
	}
}
