// Package awskms is the AWS KMS key source of kura-kms: it wraps and
// unwraps data keys with KMS Encrypt and Decrypt as sops 3.13.2 does, so
// that either tool reads the other's kms stanzas.
//
// A stanza's enc is the standard (padded) base64 of the CiphertextBlob of
// Encrypt(KeyId = arn, Plaintext = data key, EncryptionContext = context).
// Decrypt passes the same KeyId and context. The region comes from the ARN;
// aws_profile selects a shared-config profile; role is assumed through STS
// with the session name sops uses. Everything else (credentials, endpoints
// such as AWS_ENDPOINT_URL_KMS, retries) is the AWS SDK's usual
// configuration.
package awskms

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// arnRE is the ARN form sops accepts; its first group is the region.
var arnRE = regexp.MustCompile(`^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$`)

// Provider is the AWS KMS key source. It is safe for concurrent use and
// meant to serve a whole run: the SDK configuration (credentials, assumed
// role) is built once per region, profile and role, and reused.
type Provider struct {
	configOpts []func(*config.LoadOptions) error
	hostname   func() (string, error)

	mu      sync.Mutex
	clients map[clientKey]*clientEntry
}

var _ kmsproto.Provider = (*Provider)(nil)

// Option configures a Provider.
type Option func(*Provider)

// WithConfigOptions adds options to every SDK configuration the provider
// loads, after its own (region, profile). It is for tests and embedders;
// kura-kms uses none.
func WithConfigOptions(opts ...func(*config.LoadOptions) error) Option {
	return func(p *Provider) { p.configOpts = append(p.configOpts, opts...) }
}

// New returns an AWS KMS provider.
func New(opts ...Option) *Provider {
	p := &Provider{hostname: os.Hostname, clients: map[clientKey]*clientEntry{}}
	for _, o := range opts {
		o(p)
	}
	return p
}

type clientKey struct{ region, profile, role string }

type clientEntry struct {
	// sem is held while the entry is looked at or loaded, so that
	// concurrent requests for the same key load the configuration once
	// and each can still give up when its own context ends.
	sem    chan struct{}
	client *kms.Client
	creds  aws.CredentialsProvider // the client's, cached
}

// Wrap encrypts payload with the key and returns the stanza with enc set.
func (p *Provider) Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error) {
	client, err := p.client(ctx, &k)
	if err != nil {
		return keys.Stanza{}, err
	}
	out, err := client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.ARN),
		Plaintext:         payload,
		EncryptionContext: encryptionContext(k.Context),
	})
	if err != nil {
		return keys.Stanza{}, classify(&k, err)
	}
	if len(out.CiphertextBlob) == 0 {
		return keys.Stanza{}, kmsproto.Errorf(kmsproto.Internal, "%s: AWS KMS returned no ciphertext", k.ARN)
	}
	k.Enc = base64.StdEncoding.EncodeToString(out.CiphertextBlob)
	return k, nil
}

// Unwrap decrypts the stanza's enc.
func (p *Provider) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	if k.Enc == "" {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: the key holds no encrypted data key", k.ARN)
	}
	blob, err := base64.StdEncoding.DecodeString(k.Enc)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.WrongKey, "%s: the encrypted data key is not valid base64", k.ARN)
	}
	client, err := p.client(ctx, &k)
	if err != nil {
		return nil, err
	}
	out, err := client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(k.ARN),
		CiphertextBlob:    blob,
		EncryptionContext: encryptionContext(k.Context),
	})
	if err != nil {
		return nil, classify(&k, err)
	}
	if len(out.Plaintext) == 0 {
		return nil, kmsproto.Errorf(kmsproto.Internal, "%s: AWS KMS returned no plaintext", k.ARN)
	}
	return out.Plaintext, nil
}

// encryptionContext is the context to send: always a map, empty when the
// stanza has none, as sops sends it.
func encryptionContext(c map[string]string) map[string]string {
	out := make(map[string]string, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// client returns the KMS client for the stanza's region, profile and role,
// loading the SDK configuration on first use, with its credentials in
// hand: they are fetched (or the role assumed) here, so that a failure is
// reported as what it is rather than as a failed KMS call.
func (p *Provider) client(ctx context.Context, k *keys.Stanza) (*kms.Client, error) {
	e, err := p.entry(ctx, k)
	if err != nil {
		return nil, err
	}
	if _, err := e.creds.Retrieve(ctx); err != nil {
		return nil, classifyCredentials(k, err)
	}
	return e.client, nil
}

// entry returns the cached client entry for a stanza, loading it if need be.
func (p *Provider) entry(ctx context.Context, k *keys.Stanza) (*clientEntry, error) {
	if k.Type != "" && k.Type != keys.KMS {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "the AWS KMS key source got a %s key", k.Type)
	}
	m := arnRE.FindStringSubmatch(k.ARN)
	if m == nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%q is not an AWS KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or :alias/NAME)", k.ARN)
	}
	key := clientKey{region: m[1], profile: k.AWSProfile, role: k.Role}

	p.mu.Lock()
	e := p.clients[key]
	if e == nil {
		e = &clientEntry{sem: make(chan struct{}, 1)}
		p.clients[key] = e
	}
	p.mu.Unlock()

	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, classify(k, ctx.Err())
	}
	defer func() { <-e.sem }()
	if e.client != nil {
		return e, nil
	}
	cfg, err := p.loadConfig(ctx, key)
	if err != nil {
		// Not kept: the next request tries again.
		return nil, classify(k, err)
	}
	e.client, e.creds = kms.NewFromConfig(cfg), cfg.Credentials
	return e, nil
}

// loadConfig builds the SDK configuration for a key: the default sources,
// the ARN's region, the profile if any, and the role's credentials if any.
func (p *Provider) loadConfig(ctx context.Context, key clientKey) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(key.region)}
	if key.profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(key.profile))
	}
	opts = append(opts, p.configOpts...)
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, err
	}
	// Credential failures are marked so that they can be told from the
	// service's answers (see classify).
	cfg.Credentials = aws.NewCredentialsCache(markedCredentials{cfg.Credentials, false})
	if key.role == "" {
		return cfg, nil
	}
	name, err := sessionName(p.hostname)
	if err != nil {
		return aws.Config{}, err
	}
	assume := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), key.role, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = name
	})
	roleCfg := cfg.Copy()
	roleCfg.Credentials = aws.NewCredentialsCache(markedCredentials{assume, true})
	return roleCfg, nil
}

// markedCredentials tags the errors of a credentials provider.
type markedCredentials struct {
	p    aws.CredentialsProvider
	role bool // the provider assumes the stanza's role
}

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if m.p == nil {
		return aws.Credentials{}, &credentialsError{err: fmt.Errorf("no credential provider"), role: m.role}
	}
	c, err := m.p.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err: err, role: m.role}
	}
	return c, nil
}

// credentialsError is a failure to get credentials: the SDK found none,
// or (role) STS did not hand out the role's.
type credentialsError struct {
	err  error
	role bool
}

func (e *credentialsError) Error() string { return "retrieving AWS credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// sessionName is the STS session name sops uses: "sops@" and the host
// name, keeping only the characters sops's pattern keeps, cut to 64
// bytes.
func sessionName(hostname func() (string, error)) (string, error) {
	h, err := hostname()
	if err != nil {
		return "", fmt.Errorf("building the STS session name: %w", err)
	}
	name := make([]byte, 0, len("sops@")+len(h))
	name = append(name, "sops@"...)
	for i := 0; i < len(h); i++ {
		if sessionNameByte(h[i]) {
			name = append(name, h[i])
		}
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return string(name), nil
}

// sessionNameByte reports whether sops keeps a host name byte in the
// session name. sops removes what its class [a-zA-Z0-9=,.@-_] does not
// match, and "@-_" there is the range '@'..'_' (upper-case letters and
// @[\]^_): a hyphen is dropped, so "build-01" becomes "build01".
func sessionNameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9', '@' <= c && c <= '_':
		return true
	case c == '=', c == ',', c == '.':
		return true
	}
	return false
}
