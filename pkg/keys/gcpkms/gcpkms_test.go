package gcpkms

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

func TestRoundTrip(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	p := inProcess(t, f)
	ctx := timeoutCtx(t, 10*time.Second)

	in := stanza(testKey)
	in.CreatedAt = "2024-01-02T03:04:05Z"
	s, err := p.Wrap(ctx, in, dataKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != keys.GCPKMS || s.ResourceID != testKey || s.CreatedAt != in.CreatedAt {
		t.Errorf("Wrap changed the stanza: %+v", s)
	}
	ct, err := base64.StdEncoding.DecodeString(s.Enc)
	if err != nil || len(ct) == 0 {
		t.Fatalf("enc %q is not standard base64: %v", s.Enc, err)
	}
	got, err := p.Unwrap(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, dataKey(1)) {
		t.Fatalf("Unwrap = %x, want %x", got, dataKey(1))
	}
	// A Shamir share is any length.
	s2, err := p.Wrap(ctx, stanza(testKey), []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Enc == s.Enc {
		t.Error("two wraps gave the same ciphertext")
	}
	if got, err := p.Unwrap(ctx, s2); err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("Unwrap = %x, %v", got, err)
	}
}

// SOPS_GCP_KMS_ENDPOINT wins over SOPS_GCP_KMS_UNIVERSE_DOMAIN, as in
// sops: the universe domain is not applied at all.
func TestEndpointBeatsUniverse(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	p := inProcess(t, f, EnvUniverseDomain+"=example.invalid")
	if _, err := p.Wrap(timeoutCtx(t, 10*time.Second), stanza(testKey), dataKey(1)); err != nil {
		t.Fatal(err)
	}
}

// A briefly unavailable service is asked again; other failures are not
// repeated.
func TestRetry(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	p := inProcess(t, f)
	ctx := timeoutCtx(t, 10*time.Second)

	f.FailNext(2, codes.Unavailable)
	s, err := p.Wrap(ctx, stanza(testKey), dataKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if f.Calls() != 3 {
		t.Errorf("%d calls, want 3", f.Calls())
	}

	for _, c := range []struct {
		code  codes.Code
		n     int // failures
		calls int // calls made
		kind  kmsproto.Kind
	}{
		{codes.Unavailable, 3, 3, kmsproto.Unreachable},
		{codes.ResourceExhausted, 1, 1, kmsproto.Internal},
		{codes.Internal, 1, 1, kmsproto.Internal},
		{codes.DeadlineExceeded, 1, 1, kmsproto.Timeout},
		{codes.Unauthenticated, 1, 1, kmsproto.NoCredentials},
	} {
		before := f.Calls()
		f.FailNext(c.n, c.code)
		_, err := p.Unwrap(ctx, s)
		wantError(t, err, c.kind, testKey)
		if got := f.Calls() - before; got != c.calls {
			t.Errorf("%s: %d calls, want %d", c.code, got, c.calls)
		}
	}
}

// A ciphertext of an older key version still decrypts after rotation.
func TestRotatedKey(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	p := inProcess(t, f)
	ctx := timeoutCtx(t, 10*time.Second)
	old, err := p.Wrap(ctx, stanza(testKey), dataKey(2))
	if err != nil {
		t.Fatal(err)
	}
	f.RotateKey(testKey)
	if got, err := p.Unwrap(ctx, old); err != nil || !bytes.Equal(got, dataKey(2)) {
		t.Fatalf("Unwrap after rotation = %x, %v", got, err)
	}
}

// One provider serves concurrent requests with one client: one
// connection to the service.
func TestConcurrent(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	f.AddKey(otherKey)
	p := inProcess(t, f)
	ctx := timeoutCtx(t, 10*time.Second)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := []string{testKey, otherKey}[i%2]
			s, err := p.Wrap(ctx, stanza(id), dataKey(i))
			if err != nil {
				errs <- err
				return
			}
			got, err := p.Unwrap(ctx, s)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(got, dataKey(i)) {
				errs <- fmt.Errorf("request %d: got %x", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := f.Calls(); c != 2*n {
		t.Errorf("%d calls reached the service, want %d", c, 2*n)
	}
	if c := f.Connections(); c != 1 {
		t.Errorf("%d connections to the service, want 1 (one client for the run)", c)
	}
}

// GOOGLE_CREDENTIALS, as a file or as JSON, comes before
// GOOGLE_OAUTH_ACCESS_TOKEN.
func TestCredentialsJSON(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	for name, creds := range map[string]string{"file": f.CredentialsFile(), "json": string(f.CredentialsJSON())} {
		t.Run(name, func(t *testing.T) {
			p := inProcess(t, f, EnvCredentials+"="+creds, EnvAccessToken+"=not-a-valid-token")
			ctx := timeoutCtx(t, 10*time.Second)
			s, err := p.Wrap(ctx, stanza(testKey), dataKey(3))
			if err != nil {
				t.Fatal(err)
			}
			if got, err := p.Unwrap(ctx, s); err != nil || !bytes.Equal(got, dataKey(3)) {
				t.Fatalf("Unwrap = %x, %v", got, err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := gcpfake.Start(t)
	f.AddKey(testKey)
	f.AddKey(otherKey)
	good := inProcess(t, f)
	ctx := timeoutCtx(t, 10*time.Second)
	wrapped, err := good.Wrap(ctx, stanza(testKey), dataKey(4))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := good.Wrap(ctx, stanza(otherKey), dataKey(4))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := base64.StdEncoding.DecodeString(wrapped.Enc)
	ct[len(ct)-1] ^= 1
	damaged := wrapped
	damaged.Enc = base64.StdEncoding.EncodeToString(ct)
	moved := foreign
	moved.ResourceID = testKey
	notBase64 := wrapped
	notBase64.Enc = "not base64!"
	empty := wrapped
	empty.Enc = ""
	unknown := wrapped
	unknown.ResourceID = "projects/kura-test/locations/global/keyRings/ring/cryptoKeys/missing"

	for _, c := range []struct {
		name string
		env  []string
		k    keys.Stanza // unwrap k, or wrap under k.ResourceID when k.Enc is empty and wrap is set
		wrap bool
		kind kmsproto.Kind
	}{
		{"wrong token wrap", []string{EnvAccessToken + "=wrong-token-0123456789"}, stanza(testKey), true, kmsproto.NoCredentials},
		{"wrong token unwrap", []string{EnvAccessToken + "=wrong-token-0123456789"}, wrapped, false, kmsproto.NoCredentials},
		{"no access wrap", []string{EnvAccessToken + "=" + f.NoAccessToken}, stanza(testKey), true, kmsproto.AccessDenied},
		{"no access unwrap", []string{EnvAccessToken + "=" + f.NoAccessToken}, wrapped, false, kmsproto.AccessDenied},
		{"unknown key wrap", nil, stanza(unknown.ResourceID), true, kmsproto.NotFound},
		{"unknown key unwrap", nil, unknown, false, kmsproto.NotFound},
		{"damaged ciphertext", nil, damaged, false, kmsproto.WrongKey},
		{"foreign ciphertext", nil, moved, false, kmsproto.WrongKey},
		{"enc not base64", nil, notBase64, false, kmsproto.WrongKey},
		{"empty enc", nil, empty, false, kmsproto.Invalid},
		{"bad resource id wrap", nil, stanza("projects/p/keyRings/r/cryptoKeys/k"), true, kmsproto.Invalid},
		{"bad resource id unwrap", nil, keys.Stanza{Type: keys.GCPKMS, ResourceID: testKey + "/cryptoKeyVersions/1", Enc: wrapped.Enc}, false, kmsproto.Invalid},
		{"credentials neither file nor JSON", []string{EnvCredentials + "=/no/such/file-secret-ish"}, wrapped, false, kmsproto.NoCredentials},
		{"credentials without a key", []string{EnvCredentials + `={"type": "service_account", "client_email": "a@b.c"}`}, wrapped, false, kmsproto.NoCredentials},
		{"credentials of an unknown type", []string{EnvCredentials + `={"type": "martian"}`}, wrapped, false, kmsproto.NoCredentials},
		{"credentials not JSON", []string{EnvCredentials + `={"type": "service_account", "private_key": "secret-ish-material`}, wrapped, false, kmsproto.NoCredentials},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := inProcess(t, f, c.env...)
			ctx := timeoutCtx(t, 5*time.Second)
			var err error
			if c.wrap {
				_, err = p.Wrap(ctx, c.k, dataKey(5))
			} else {
				_, err = p.Unwrap(ctx, c.k)
			}
			id := c.k.ResourceID
			if c.kind == kmsproto.Invalid {
				id = "" // it is quoted
			}
			wantError(t, err, c.kind, id, f.NoAccessToken, "wrong-token-0123456789", "secret-ish", f.Token)
		})
	}

	// A disabled key neither wraps nor unwraps.
	f.DisableKey(testKey)
	_, err = good.Wrap(ctx, stanza(testKey), dataKey(6))
	wantError(t, err, kmsproto.NotFound, testKey)
	_, err = good.Unwrap(ctx, wrapped)
	wantError(t, err, kmsproto.NotFound, testKey)
	f.EnableKey(testKey)
	if _, err := good.Unwrap(ctx, wrapped); err != nil {
		t.Fatalf("after enabling the key again: %v", err)
	}
}

// An invalid resource ID is refused before anything reaches the service.
func TestInvalidIDStaysLocal(t *testing.T) {
	f := gcpfake.Start(t)
	p := inProcess(t, f)
	ctx := timeoutCtx(t, 5*time.Second)
	for _, id := range []string{"", "projects/p", "projects/p/locations/l/keyRings/r/cryptoKeys/k/", "projects//locations/l/keyRings/r/cryptoKeys/k", " projects/p/locations/l/keyRings/r/cryptoKeys/k"} {
		_, err := p.Wrap(ctx, stanza(id), dataKey(1))
		wantError(t, err, kmsproto.Invalid, "")
	}
	if f.Calls() != 0 || f.Connections() != 0 {
		t.Errorf("%d calls and %d connections reached the service", f.Calls(), f.Connections())
	}
}

// A refused connection fails at once; a service that never answers fails
// when the request's deadline passes.
func TestDeadEndpoints(t *testing.T) {
	f := gcpfake.Start(t)
	k := stanza(testKey)
	k.Enc = base64.StdEncoding.EncodeToString([]byte("some ciphertext"))

	closed := gcpfake.ClosedEndpoint(t)
	p := inProcess(t, f, EnvEndpoint+"="+closed)
	start := time.Now()
	_, err := p.Unwrap(timeoutCtx(t, 5*time.Second), k)
	wantError(t, err, kmsproto.Unreachable, testKey, f.Token)
	if d := time.Since(start); d > time.Second {
		t.Errorf("a refused connection took %v", d)
	}

	silent := gcpfake.SilentEndpoint(t)
	p = inProcess(t, f, EnvEndpoint+"="+silent)
	start = time.Now()
	_, err = p.Wrap(timeoutCtx(t, time.Second), stanza(testKey), dataKey(1))
	wantError(t, err, kmsproto.Timeout, testKey, f.Token)
	if d := time.Since(start); d < 900*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("a silent service failed after %v, want about 1s", d)
	}
}
