package awslocal_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
)

func setEnv(t *testing.T, env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func kmsClient(t *testing.T, ctx context.Context, creds aws.CredentialsProvider) *kms.Client {
	t.Helper()
	opts := []func(*config.LoadOptions) error{}
	if creds != nil {
		opts = append(opts, config.WithCredentialsProvider(creds))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return kms.NewFromConfig(cfg)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestServer checks that the emulator behaves as the provider tests
// assume, talking to it with the plain SDK.
func TestServer(t *testing.T) {
	s := awslocal.Start(t)
	setEnv(t, s.Env())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := kmsClient(t, ctx, nil)
	payload := []byte("0123456789abcdef0123456789abcdef")
	ec := map[string]string{"purpose": "test"}

	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.KeyARN, Plaintext: payload, EncryptionContext: ec})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if aws.ToString(enc.KeyId) != s.KeyARN {
		t.Errorf("KeyId = %q, want %q", aws.ToString(enc.KeyId), s.KeyARN)
	}
	dec, err := c.Decrypt(ctx, &kms.DecryptInput{KeyId: &s.AliasARN, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(dec.Plaintext, payload) {
		t.Fatalf("Decrypt via alias: %v", err)
	}
	// The encryption context is enforced.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: &s.KeyARN, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: map[string]string{"purpose": "other"}})
	if apiCode(err) != "InvalidCiphertextException" {
		t.Errorf("Decrypt with another context: %v", err)
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: &s.KeyARN, CiphertextBlob: enc.CiphertextBlob})
	if apiCode(err) != "InvalidCiphertextException" {
		t.Errorf("Decrypt without the context: %v", err)
	}
	// Another key's id: real KMS says IncorrectKeyException.
	_, err = c.Decrypt(ctx, &kms.DecryptInput{KeyId: &s.OtherKeyARN, CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ec})
	if code := apiCode(err); code != "InvalidCiphertextException" && code != "IncorrectKeyException" {
		t.Errorf("Decrypt with another key: %v", err)
	}
	for arn, want := range map[string]string{
		s.MissingKeyARN:            "NotFoundException",
		s.DisabledKeyARN:           "DisabledException",
		s.PendingDeletionKeyARN:    "KMSInvalidStateException",
		awslocal.ARN("alias/nope"): "NotFoundException",
	} {
		_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: payload})
		if apiCode(err) != want {
			t.Errorf("Encrypt with %s: %v, want %s", arn, err, want)
		}
	}

	// The front checks signatures.
	bad := kmsClient(t, ctx, credentials.NewStaticCredentialsProvider(awslocal.AccessKeyID, "wrong", ""))
	if _, err := bad.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.KeyARN, Plaintext: payload}); apiCode(err) != "InvalidSignatureException" {
		t.Errorf("wrong secret: %v", err)
	}
	unknown := kmsClient(t, ctx, credentials.NewStaticCredentialsProvider("AKIAUNKNOWN", "x", ""))
	if _, err := unknown.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.KeyARN, Plaintext: payload}); apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("unknown key: %v", err)
	}

	// STS hands out credentials the front accepts.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stsc := sts.NewFromConfig(cfg)
	out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(awslocal.Role), RoleSessionName: aws.String("kura@test")})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	cr := out.Credentials
	temp := kmsClient(t, ctx, credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken))
	if _, err := temp.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.KeyARN, Plaintext: payload}); err != nil {
		t.Errorf("Encrypt with the role's credentials: %v", err)
	}
	noToken := kmsClient(t, ctx, credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, ""))
	if _, err := noToken.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.KeyARN, Plaintext: payload}); apiCode(err) != "UnrecognizedClientException" {
		t.Errorf("temporary key without its token: %v", err)
	}
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(awslocal.DeniedRole), RoleSessionName: aws.String("kura@test")})
	if apiCode(err) != "AccessDenied" {
		t.Errorf("AssumeRole of the denied role: %v", err)
	}
	_, err = stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(awslocal.Role), RoleSessionName: aws.String("bad name")})
	if apiCode(err) != "ValidationError" {
		t.Errorf("AssumeRole with a bad session name: %v", err)
	}

	calls := s.KMSCalls()
	if len(calls) == 0 || calls[0].Operation != "Encrypt" || calls[0].AccessKeyID != awslocal.AccessKeyID || calls[0].Region != awslocal.Region {
		t.Errorf("first recorded call: %+v", calls)
	}
	if got := s.AssumeRoleCalls(); len(got) != 2 || !got[0].Granted || got[1].Granted {
		t.Errorf("AssumeRole calls: %+v", got)
	}
	if u := s.Unexpected(); len(u) > 0 {
		t.Errorf("unexpected requests: %v", u)
	}
}
