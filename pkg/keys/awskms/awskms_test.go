package awskms

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// start runs local-kms and points the SDK at it for the test.
func start(t *testing.T) *awslocal.Server {
	t.Helper()
	s := awslocal.Start(t)
	setEnv(t, s.Env())
	t.Cleanup(func() {
		if u := s.Unexpected(); len(u) > 0 {
			t.Errorf("requests to services other than KMS and STS: %v", u)
		}
	})
	return s
}

func setEnv(t *testing.T, env []string) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func stanza(arn string) keys.Stanza { return keys.Stanza{Type: keys.KMS, ARN: arn} }

var dataKey = []byte("kura-test-data-key-0123456789abc") // 32 bytes

func roundTrip(t *testing.T, p *Provider, k keys.Stanza) keys.Stanza {
	t.Helper()
	ctx := timeout(t, 10*time.Second)
	w, err := p.Wrap(ctx, k, dataKey)
	if err != nil {
		t.Fatalf("Wrap: %v", err)
	}
	if w.ARN != k.ARN || w.Role != k.Role || w.AWSProfile != k.AWSProfile || len(w.Context) != len(k.Context) {
		t.Errorf("Wrap changed the stanza: %+v", w)
	}
	// Standard padded base64, as sops writes it.
	blob, err := base64.StdEncoding.Strict().DecodeString(w.Enc)
	if err != nil || len(w.Enc)%4 != 0 || len(blob) == 0 {
		t.Fatalf("enc %q is not padded standard base64: %v", w.Enc, err)
	}
	got, err := p.Unwrap(ctx, w)
	if err != nil {
		t.Fatalf("Unwrap: %v", err)
	}
	if !bytes.Equal(got, dataKey) {
		t.Fatalf("Unwrap = %q, want %q", got, dataKey)
	}
	return w
}

// wantError checks an error's kind and that its message is one line that
// names the ARN and holds no secret.
func wantError(t *testing.T, err error, kind kmsproto.Kind, arn string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	var pe *kmsproto.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %q is not a *kmsproto.Error", err, err)
	}
	if pe.Kind != kind {
		t.Errorf("kind %s, want %s: %s", pe.Kind, kind, pe.Message)
	}
	if !strings.Contains(pe.Message, arn) {
		t.Errorf("message does not name %s: %s", arn, pe.Message)
	}
	if strings.ContainsAny(pe.Message, "\n\r") {
		t.Errorf("message is not one line: %q", pe.Message)
	}
	secrets = append(secrets, string(dataKey), base64.StdEncoding.EncodeToString(dataKey), awslocal.SecretAccessKey)
	for _, s := range secrets {
		if s != "" && strings.Contains(pe.Message, s) {
			t.Errorf("message holds a secret %q: %s", s, pe.Message)
		}
	}
	t.Logf("%s: %s", pe.Kind, pe.Message)
}

func TestRoundTrip(t *testing.T) {
	s := start(t)
	p := New()

	t.Run("key", func(t *testing.T) {
		w := roundTrip(t, p, stanza(s.KeyARN))
		calls := s.KMSCalls()
		last := calls[len(calls)-1]
		if last.Operation != "Decrypt" || last.KeyID != s.KeyARN || last.Region != awslocal.Region || last.AccessKeyID != awslocal.AccessKeyID {
			t.Errorf("Decrypt call: %+v", last)
		}
		// Like sops, an empty context is sent as {} rather than left out.
		if last.EncryptionContext == nil || len(last.EncryptionContext) != 0 {
			t.Errorf("Decrypt context: %#v", last.EncryptionContext)
		}
		// A stanza made with one key does not open with another's ARN.
		other := w
		other.ARN = s.OtherKeyARN
		_, err := p.Unwrap(timeout(t, 5*time.Second), other)
		wantError(t, err, kmsproto.WrongKey, s.OtherKeyARN)
	})

	t.Run("context", func(t *testing.T) {
		k := stanza(s.KeyARN)
		k.Context = map[string]string{"app": "kura", "env": "test"}
		w := roundTrip(t, p, k)
		calls := s.KMSCalls()
		if c := calls[len(calls)-1].EncryptionContext; len(c) != 2 || c["app"] != "kura" {
			t.Errorf("Decrypt context: %#v", c)
		}
		for _, ctxt := range []map[string]string{nil, {"app": "kura"}, {"app": "kura", "env": "prod"}} {
			changed := w
			changed.Context = ctxt
			_, err := p.Unwrap(timeout(t, 5*time.Second), changed)
			wantError(t, err, kmsproto.WrongKey, s.KeyARN)
		}
		// Without a context, a stanza does not open with one.
		plain := roundTrip(t, p, stanza(s.KeyARN))
		plain.Context = k.Context
		_, err := p.Unwrap(timeout(t, 5*time.Second), plain)
		wantError(t, err, kmsproto.WrongKey, s.KeyARN)
	})

	t.Run("alias", func(t *testing.T) {
		w := roundTrip(t, p, stanza(s.AliasARN))
		// The alias's target opens what the alias wrapped.
		w.ARN = s.KeyARN
		got, err := p.Unwrap(timeout(t, 5*time.Second), w)
		if err != nil || !bytes.Equal(got, dataKey) {
			t.Errorf("Unwrap via the target key: %v", err)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		w := roundTrip(t, p, stanza(s.OtherKeyARN))
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				got, err := p.Unwrap(timeout(t, 10*time.Second), w)
				if err == nil && !bytes.Equal(got, dataKey) {
					err = errors.New("wrong payload")
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})

	// One SDK configuration per region, profile and role.
	if n := len(p.clients); n != 1 {
		t.Errorf("%d cached configurations, want 1", n)
	}
}

func TestProfile(t *testing.T) {
	s := start(t)
	dir := t.TempDir()
	const id, secret = "AKIAKURATESTPROFILE1", "kura-test-profile-secret-000000000000000"
	s.AddCredentials(id, secret)
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	// The profile's region is not the key's: the ARN's wins.
	os.WriteFile(config, []byte("[profile kura-prof]\nregion = us-east-2\n"), 0o600)
	os.WriteFile(creds, []byte("[kura-prof]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)

	check := func(t *testing.T, p *Provider, k keys.Stanza) {
		t.Helper()
		before := len(s.KMSCalls())
		roundTrip(t, p, k)
		calls := s.KMSCalls()[before:]
		if len(calls) != 2 {
			t.Fatalf("calls: %+v", calls)
		}
		for _, c := range calls {
			if c.AccessKeyID != id || c.Region != awslocal.Region {
				t.Errorf("%s signed by %s in %s, want the profile's key in %s", c.Operation, c.AccessKeyID, c.Region, awslocal.Region)
			}
		}
	}

	t.Run("stanza", func(t *testing.T) {
		// aws_profile wins over the environment's credentials.
		k := stanza(s.KeyARN)
		k.AWSProfile = "kura-prof"
		check(t, New(), k)
	})
	t.Run("AWS_PROFILE", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		t.Setenv("AWS_PROFILE", "kura-prof")
		check(t, New(), stanza(s.KeyARN))
	})
	t.Run("missing", func(t *testing.T) {
		k := stanza(s.KeyARN)
		k.AWSProfile = "nope"
		_, err := New().Wrap(timeout(t, 5*time.Second), k, dataKey)
		wantError(t, err, kmsproto.NoCredentials, s.KeyARN, secret)
	})
}

func TestRole(t *testing.T) {
	s := start(t)
	p := New()
	k := stanza(s.KeyARN)
	k.Role = awslocal.Role
	w := roundTrip(t, p, k)

	// Concurrent requests share one assumed role.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := p.Unwrap(timeout(t, 10*time.Second), w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()

	roles := s.AssumeRoleCalls()
	if len(roles) != 1 {
		t.Fatalf("AssumeRole calls: %+v", roles)
	}
	want, _ := sessionName(os.Hostname)
	r := roles[0]
	if !r.Granted || r.RoleArn != awslocal.Role || r.RoleSessionName != want || r.AccessKeyID != awslocal.AccessKeyID || r.Region != awslocal.Region {
		t.Errorf("AssumeRole call %+v, want session name %q signed by the static key", r, want)
	}
	for _, c := range s.KMSCalls() {
		if c.AccessKeyID != r.IssuedAccessKeyID || !c.SessionToken {
			t.Errorf("%s signed by %s, want the role's temporary key %s", c.Operation, c.AccessKeyID, r.IssuedAccessKeyID)
		}
	}

	// Without the role, the same enc opens with the base credentials:
	// the role only changes who asks.
	w.Role = ""
	if _, err := p.Unwrap(timeout(t, 5*time.Second), w); err != nil {
		t.Errorf("Unwrap without the role: %v", err)
	}

	denied := stanza(s.KeyARN)
	denied.Role = awslocal.DeniedRole
	_, err := p.Wrap(timeout(t, 5*time.Second), denied, dataKey)
	wantError(t, err, kmsproto.AccessDenied, s.KeyARN)
	if err != nil && !strings.Contains(err.Error(), awslocal.DeniedRole) {
		t.Errorf("message does not name the role: %v", err)
	}
}

func TestSessionName(t *testing.T) {
	for host, want := range map[string]string{
		"laptop":                  "sops@laptop",
		"Build-01.example.com":    "sops@Build01.example.com",
		"a_b@c=d,e^f[g]h\\i j+k#": "sops@a_b@c=d,e^f[g]h\\ijk",
		"hôte":                    "sops@hte",
		"":                        "sops@",
		strings.Repeat("x", 80):   "sops@" + strings.Repeat("x", 59),
	} {
		got, err := sessionName(func() (string, error) { return host, nil })
		if err != nil || got != want {
			t.Errorf("sessionName(%q) = %q, %v; want %q", host, got, err, want)
		}
	}
	if _, err := sessionName(func() (string, error) { return "", errors.New("no host") }); err == nil {
		t.Error("no error for a failing hostname")
	}
}
