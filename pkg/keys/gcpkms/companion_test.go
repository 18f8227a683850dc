package gcpkms

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// These tests run the provider as kura runs it: in a companion process
// configured by the environment alone (gcpfake's Env or EnvREST), over
// the key-source protocol.

var transports = []struct {
	name string
	env  func(*gcpfake.Server) []string
}{
	{"grpc", (*gcpfake.Server).Env},
	{"rest", (*gcpfake.Server).EnvREST},
}

func TestCompanion(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			f := gcpfake.Start(t)
			f.AddKey(testKey)
			f.AddKey(otherKey)
			c := startCompanion(t, tr.env(f)...)

			// Concurrent requests on the one companion.
			const n = 12
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := []string{testKey, otherKey}[i%2]
					s, err := c.wrap(id, dataKey(i), 10*time.Second)
					if err != nil {
						errs <- err
						return
					}
					if s.ResourceID != id || s.CreatedAt == "" || s.Enc == "" {
						errs <- fmt.Errorf("wrap returned %+v", s)
						return
					}
					got, err := c.unwrap(s, 10*time.Second)
					if err != nil {
						errs <- err
					} else if !bytes.Equal(got, dataKey(i)) {
						errs <- fmt.Errorf("request %d: got %x", i, got)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if tr.name == "grpc" && f.Connections() != 1 {
				t.Errorf("%d connections, want 1", f.Connections())
			}

			// Errors, classified the same way over both transports.
			s, err := c.wrap(testKey, dataKey(1), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ct, _ := base64.StdEncoding.DecodeString(s.Enc)
			ct[20] ^= 0x80
			damaged := s
			damaged.Enc = base64.StdEncoding.EncodeToString(ct)
			_, err = c.unwrap(damaged, 5*time.Second)
			wantError(t, err, kmsproto.WrongKey, testKey, f.Token)

			moved := s
			moved.ResourceID = otherKey
			_, err = c.unwrap(moved, 5*time.Second)
			wantError(t, err, kmsproto.WrongKey, otherKey, f.Token)

			missing := s
			missing.ResourceID = testKey + "-missing"
			_, err = c.unwrap(missing, 5*time.Second)
			wantError(t, err, kmsproto.NotFound, missing.ResourceID, f.Token)

			// A briefly unavailable service (503 over REST) is asked again.
			before := f.Calls()
			f.FailNext(1, codes.Unavailable)
			if got, err := c.unwrap(s, 5*time.Second); err != nil || !bytes.Equal(got, dataKey(1)) {
				t.Fatalf("unwrap after one failure = %x, %v", got, err)
			}
			f.FailNext(3, codes.Unavailable)
			_, err = c.unwrap(s, 5*time.Second)
			wantError(t, err, kmsproto.Unreachable, testKey, f.Token)
			if got := f.Calls() - before; got != 5 {
				t.Errorf("%d calls, want 2 + 3", got)
			}

			f.DisableKey(testKey)
			_, err = c.unwrap(s, 5*time.Second)
			wantError(t, err, kmsproto.NotFound, testKey, f.Token)
			_, err = c.wrap(testKey, dataKey(1), 5*time.Second)
			wantError(t, err, kmsproto.NotFound, testKey, f.Token)
		})
	}
}

func TestCompanionTokens(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			f := gcpfake.Start(t)
			f.AddKey(testKey)
			c := startCompanion(t, append(tr.env(f), EnvAccessToken+"="+f.NoAccessToken)...)
			_, err := c.wrap(testKey, dataKey(1), 5*time.Second)
			wantError(t, err, kmsproto.AccessDenied, testKey, f.NoAccessToken)

			c = startCompanion(t, append(tr.env(f), EnvAccessToken+"=expired-token-0123456789")...)
			_, err = c.wrap(testKey, dataKey(1), 5*time.Second)
			wantError(t, err, kmsproto.NoCredentials, testKey, "expired-token-0123456789")

			// A service account key in GOOGLE_CREDENTIALS wins over the token.
			c = startCompanion(t, append(tr.env(f), EnvCredentials+"="+f.CredentialsFile())...)
			s, err := c.wrap(testKey, dataKey(2), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.unwrap(s, 5*time.Second); err != nil || !bytes.Equal(got, dataKey(2)) {
				t.Fatalf("unwrap = %x, %v", got, err)
			}
		})
	}
}

// Without GOOGLE_CREDENTIALS and GOOGLE_OAUTH_ACCESS_TOKEN the client
// falls back to Application Default Credentials. gcpfake's environment
// leaves none: no GOOGLE_APPLICATION_CREDENTIALS, an empty gcloud
// directory, and a loopback GCE metadata server without a service account
// (or a closed loopback port, which the metadata client retries for a
// second or two: tried once), so nothing leaves the machine.
func TestCompanionNoCredentials(t *testing.T) {
	for _, tr := range transports {
		for _, metadata := range []string{"empty", "closed"} {
			if metadata == "closed" && tr.name != "grpc" {
				continue
			}
			t.Run(tr.name+"/"+metadata, func(t *testing.T) {
				f := gcpfake.Start(t)
				f.AddKey(testKey)
				env := append(tr.env(f), EnvAccessToken+"=")
				if metadata == "closed" {
					env = append(env, "GCE_METADATA_HOST="+gcpfake.ClosedEndpoint(t))
				}
				c := startCompanion(t, env...)
				start := time.Now()
				_, err := c.wrap(testKey, dataKey(1), 10*time.Second)
				wantError(t, err, kmsproto.NoCredentials, testKey)
				t.Logf("after %v", time.Since(start).Round(time.Millisecond))
				if f.Calls() != 0 {
					t.Errorf("%d calls reached the service without credentials", f.Calls())
				}
			})
		}
	}
}

// A GOOGLE_APPLICATION_CREDENTIALS file that does not exist stops the
// client from being made at all; every request says so.
func TestCompanionBadADC(t *testing.T) {
	f := gcpfake.Start(t)
	c := startCompanion(t, append(f.Env(), EnvAccessToken+"=", "GOOGLE_APPLICATION_CREDENTIALS=/nonexistent/adc.json")...)
	for range 2 {
		_, err := c.wrap(testKey, dataKey(1), 5*time.Second)
		wantError(t, err, kmsproto.NoCredentials, testKey)
	}
	_, err := c.wrap(otherKey, dataKey(1), 5*time.Second)
	wantError(t, err, kmsproto.NoCredentials, otherKey)
}

func TestCompanionDeadEndpoints(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			f := gcpfake.Start(t)
			c := startCompanion(t, append(tr.env(f), EnvEndpoint+"="+gcpfake.ClosedEndpoint(t))...)
			start := time.Now()
			_, err := c.wrap(testKey, dataKey(1), 5*time.Second)
			wantError(t, err, kmsproto.Unreachable, testKey, f.Token)
			if d := time.Since(start); d > time.Second {
				t.Errorf("a refused connection took %v", d)
			}

			// A service whose certificate is not trusted.
			f.AddKey(testKey)
			c = startCompanion(t, append(tr.env(f), "SSL_CERT_FILE="+os.DevNull, "SSL_CERT_DIR="+t.TempDir())...)
			_, err = c.wrap(testKey, dataKey(1), 5*time.Second)
			wantError(t, err, kmsproto.Unreachable, testKey, f.Token)
			if !strings.Contains(err.Error(), "certificate") {
				t.Errorf("the message does not say that the certificate is the problem: %v", err)
			}

			c = startCompanion(t, append(tr.env(f), EnvEndpoint+"="+gcpfake.SilentEndpoint(t))...)
			start = time.Now()
			_, err = c.wrap(testKey, dataKey(1), time.Second)
			wantError(t, err, kmsproto.Timeout, testKey, f.Token)
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Errorf("a silent service failed after %v, want about 1s", d)
			}
		})
	}
}
