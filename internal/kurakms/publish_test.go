package kurakms

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	smfake "github.com/kura-secrets/kura/internal/fakecloud/secretsmanager"
	"github.com/kura-secrets/kura/internal/fakecloud/vaultkv"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

func setenv(t *testing.T, env []string) {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

const testDoc = `{"db":{"user":"admin","password":"s3cr3t"},"port":5432,"hosts":["a","b"],"on":true}`

func publishCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestPublishVault writes through the Vault API client to the fake KV:
// version 2 (data keys, nested JSON kept), a mount of two segments,
// version 1, and the failures.
func TestPublishVault(t *testing.T) {
	kv := vaultkv.Start(t)
	setenv(t, kv.Env())
	t.Setenv("HOME", t.TempDir())
	p := NewPublisher()
	ctx := publishCtx(t)
	want := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(testDoc))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}

	for i, tc := range []struct {
		target, mount, path string
		version             string
	}{
		{"vault-kv://secret/apps/web", "secret", "apps/web", "1"},
		{"vault-kv://secret/apps/web", "secret", "apps/web", "2"},
		{"vault-kv://team/kv/web?mount=team/kv", "team/kv", "web", "1"},
		{"vault-kv://kv1/web?kv_version=1", "kv1", "web", ""},
	} {
		res, err := p.Publish(ctx, tc.target, json.RawMessage(testDoc))
		if err != nil {
			t.Fatalf("%d: Publish(%s): %v", i, tc.target, err)
		}
		if res.Version != tc.version || res.Target != tc.target {
			t.Errorf("%d: Publish(%s) = %+v, want version %q", i, tc.target, res, tc.version)
		}
		got, _, ok := kv.Get(tc.mount, tc.path)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%d: the fake holds %#v, want %#v", i, got, want)
		}
	}

	fail := func(target string, kind kmsproto.Kind, msg string) {
		t.Helper()
		_, err := p.Publish(ctx, target, json.RawMessage(testDoc))
		if kmsproto.KindOf(err) != kind || err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), target+": ") {
			t.Errorf("Publish(%s) = %v (%s), want %s: %q", target, err, kmsproto.KindOf(err), kind, msg)
		}
		if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), kv.Token)) {
			t.Errorf("the message holds a secret: %v", err)
		}
	}
	fail("vault-kv://nomount/x", kmsproto.NotFound, "no KV engine mounted at nomount/")
	t.Setenv("VAULT_TOKEN", kv.ReadOnlyToken)
	fail("vault-kv://secret/x", kmsproto.AccessDenied, "permission denied: the Vault token may not write this secret (HTTP 403: permission denied)")
	t.Setenv("VAULT_TOKEN", "hvs.wrong")
	fail("vault-kv://secret/x", kmsproto.AccessDenied, "Vault does not accept the token")
	t.Setenv("VAULT_TOKEN", "")
	fail("vault-kv://secret/x", kmsproto.NoCredentials, "no Vault token")
	t.Setenv("VAULT_TOKEN", kv.Token)
	fail("vault-kv://secret/x?address=http://127.0.0.1:1", kmsproto.Unreachable, "connection refused")
	fail("vault-kv://secret", kmsproto.Invalid, "name a secret below the mount")
	if kv.Writes() != 4 {
		t.Errorf("the fake received %d writes, want 4", kv.Writes())
	}
}

// TestPublishSecretsManager writes through the AWS SDK to the fake:
// CreateSecret when the secret is missing, PutSecretValue after.
func TestPublishSecretsManager(t *testing.T) {
	sm := smfake.Start(t)
	setenv(t, sm.Env())
	p := NewPublisher()
	ctx := publishCtx(t)
	res, err := p.Publish(ctx, "aws-secretsmanager://prod/app", json.RawMessage(testDoc))
	if err != nil || !res.Created || res.Version == "" {
		t.Fatalf("first Publish = %+v, %v; want created", res, err)
	}
	res2, err := p.Publish(ctx, "aws-secretsmanager://prod/app", json.RawMessage(testDoc))
	if err != nil || res2.Created || res2.Version == res.Version {
		t.Fatalf("second Publish = %+v, %v; want a new version", res2, err)
	}
	got, versions, ok := sm.Get("prod/app")
	if !ok || got != testDoc || versions != 2 {
		t.Errorf("the fake holds %q (%d versions), want %q", got, versions, testDoc)
	}
	var ops []string
	for _, c := range sm.Calls() {
		if c.AccessKeyID != smfake.AccessKeyID {
			t.Errorf("call %+v not signed with the test key", c)
		}
		ops = append(ops, c.Operation)
	}
	if want := []string{"PutSecretValue", "CreateSecret", "PutSecretValue"}; !reflect.DeepEqual(ops, want) {
		t.Errorf("calls = %v, want %v", ops, want)
	}

	fail := func(target string, kind kmsproto.Kind, msg string) {
		t.Helper()
		_, err := p.Publish(ctx, target, json.RawMessage(testDoc))
		if kmsproto.KindOf(err) != kind || err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), target+": ") {
			t.Errorf("Publish(%s) = %v (%s), want %s: %q", target, err, kmsproto.KindOf(err), kind, msg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the message holds the secret: %v", err)
		}
	}
	// A secret named by ARN is never created.
	fail("aws-secretsmanager://arn:aws:secretsmanager:eu-west-1:111122223333:secret:missing-AbCdEf", kmsproto.NotFound, "the secret does not exist")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	fail("aws-secretsmanager://prod/app", kmsproto.AccessDenied, "InvalidSignatureException")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
	fail("aws-secretsmanager://prod/app", kmsproto.AccessDenied, "UnrecognizedClientException")
}
