package gcpkms

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

const (
	testKey  = "projects/kura-test/locations/global/keyRings/ring/cryptoKeys/key"
	otherKey = "projects/kura-test/locations/europe-west1/keyRings/ring/cryptoKeys/other"
)

// companionEnv makes the test binary serve the key-source protocol with
// this package's provider instead of running tests: a kura-kms that knows
// only GCP, configured by the environment alone.
const companionEnv = "KURA_GCPKMS_TEST_COMPANION"

func TestMain(m *testing.M) {
	if os.Getenv(companionEnv) == "1" {
		p := New()
		err := kmsproto.Serve(os.Stdin, os.Stdout, map[keys.Type]kmsproto.Provider{keys.GCPKMS: p}, nil)
		p.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func stanza(id string) keys.Stanza { return keys.Stanza{Type: keys.GCPKMS, ResourceID: id} }

func dataKey(i int) []byte {
	k := bytes.Repeat([]byte{byte(i)}, 32)
	copy(k, fmt.Sprintf("key %d", i))
	return k
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// inProcess returns a provider in the test process configured by the
// fake's gRPC environment followed by changes ("NAME=value"). The process
// cannot trust the fake through SSL_CERT_FILE (Go reads it once), so the
// provider gets the fake's certificate as a client option.
func inProcess(t *testing.T, f *gcpfake.Server, changes ...string) *Provider {
	t.Helper()
	m := envMap(append(f.Env(), changes...))
	p := newProvider(func(k string) string { return m[k] },
		option.WithGRPCDialOption(grpc.WithTransportCredentials(credentials.NewTLS(f.ClientTLS()))))
	t.Cleanup(func() { p.Close() })
	return p
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// companion is the test binary running as a key-source companion.
type companion struct {
	c      *kmsproto.Client
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startCompanion runs the companion with env ("NAME=value", later entries
// winning) added to the test's environment, as kura starts kura-kms.
func startCompanion(t *testing.T, env ...string) *companion {
	t.Helper()
	for k, v := range envMap(env) {
		t.Setenv(k, v)
	}
	t.Setenv(companionEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &companion{stderr: &syncBuffer{}}
	c.c, err = kmsproto.Start(exe, c.stderr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !c.c.Handles(string(keys.GCPKMS)) {
		t.Fatal("the companion does not handle gcp_kms")
	}
	t.Cleanup(func() {
		c.c.Close()
		// The companion must not chatter on the terminal kura shares.
		if s := c.stderr.String(); s != "" {
			t.Errorf("the companion wrote to stderr:\n%s", s)
		}
	})
	return c
}

func (c *companion) wrap(id string, payload []byte, timeout time.Duration) (keys.Stanza, error) {
	s := stanza(id)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	resp, err := c.c.Call(ctx, kmsproto.Request{Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&s),
		Payload: kmsproto.EncodePayload(payload), TimeoutMillis: timeout.Milliseconds()})
	if err != nil {
		return keys.Stanza{}, err
	}
	return resp.Key.Stanza(), nil
}

func (c *companion) unwrap(s keys.Stanza, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	resp, err := c.c.Call(ctx, kmsproto.Request{Op: kmsproto.OpUnwrap, Key: kmsproto.FromStanza(&s), TimeoutMillis: timeout.Milliseconds()})
	if err != nil {
		return nil, err
	}
	return kmsproto.DecodePayload(resp.Payload)
}

// wantError checks a failure's kind and that its message is one line,
// names the key and holds none of the secrets.
func wantError(t *testing.T, err error, kind kmsproto.Kind, id string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	if got := kmsproto.KindOf(err); got != kind {
		t.Fatalf("kind %s, want %s: %v", got, kind, err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("message is not one line: %q", msg)
	}
	if id != "" && !strings.Contains(msg, id) {
		t.Errorf("message does not name %s: %s", id, msg)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message holds a secret (%.12s…): %s", s, msg)
		}
	}
	t.Logf("%s: %s", kind, msg)
}
