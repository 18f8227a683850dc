// Package gcpkms is the Google Cloud KMS key source of kura-kms: it wraps
// and unwraps data keys (or Shamir shares) with the Encrypt and Decrypt
// calls of Cloud KMS, the way sops does, and stores the ciphertext in
// standard base64 in the gcp_kms stanza.
//
// Credentials and endpoint come from the environment, as in sops:
//
//   - GOOGLE_CREDENTIALS: the path of a credentials JSON file, or the JSON
//     itself; otherwise
//   - GOOGLE_OAUTH_ACCESS_TOKEN: a static OAuth 2.0 access token;
//     otherwise
//   - Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
//     gcloud's application default credentials, the GCE metadata server).
//   - SOPS_GCP_KMS_ENDPOINT: another endpoint (host:port for gRPC); else
//     SOPS_GCP_KMS_UNIVERSE_DOMAIN: another universe domain.
//   - SOPS_GCP_KMS_CLIENT_TYPE=rest: the REST/JSON API instead of gRPC.
//
// One client serves the whole run and every concurrent request. Each call
// is bounded by its request's context (a briefly unavailable service is
// asked up to three times within it; a refused connection fails at once),
// and its failure is classified into the kinds of the key-source protocol.
// Requests carry CRC32C checksums, as Google recommends, and answers are
// checked against the service's when it gives them.
package gcpkms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/crc32"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// Environment variables, as sops reads them.
const (
	EnvCredentials    = "GOOGLE_CREDENTIALS"        // #nosec G101 -- a variable's name, not a credential
	EnvAccessToken    = "GOOGLE_OAUTH_ACCESS_TOKEN" // #nosec G101 -- a variable's name, not a credential
	EnvClientType     = "SOPS_GCP_KMS_CLIENT_TYPE"
	EnvEndpoint       = "SOPS_GCP_KMS_ENDPOINT"
	EnvUniverseDomain = "SOPS_GCP_KMS_UNIVERSE_DOMAIN"
)

const adc = "Application Default Credentials"

var resourceID = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

// Provider is the gcp_kms key source. It is safe for concurrent use.
type Provider struct {
	getenv func(string) string
	// extra is appended to the client options (tests).
	extra []option.ClientOption

	once  sync.Once
	ready chan struct{}
	svc   *service
	err   error // a failure to set the client up, without the key's name
}

// New returns a provider that reads its configuration from the
// environment when it first needs a client.
func New() *Provider { return newProvider(os.Getenv) }

func newProvider(getenv func(string) string, extra ...option.ClientOption) *Provider {
	return &Provider{getenv: getenv, extra: extra, ready: make(chan struct{})}
}

// service is the client with what errors need to know about it.
type service struct {
	client   *kms.KeyManagementClient
	endpoint string   // for messages
	creds    string   // where the credentials come from, for messages
	secrets  []string // strings that must not appear in messages
}

var _ kmsproto.Provider = (*Provider)(nil)

// Wrap encrypts payload with the key k.ResourceID names.
func (p *Provider) Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error) {
	id := k.ResourceID
	if err := checkID(id); err != nil {
		return k, err
	}
	svc, err := p.service(ctx, id)
	if err != nil {
		return k, err
	}
	req := &kmspb.EncryptRequest{Name: id, Plaintext: payload, PlaintextCrc32C: wrapperspb.Int64(checksum(payload))}
	resp, err := retry(ctx, func(ctx context.Context) (*kmspb.EncryptResponse, error) {
		return svc.client.Encrypt(ctx, req)
	})
	if err != nil {
		return k, svc.classify(ctx, opEncrypt, id, err)
	}
	// The checksums guard against corruption on the way. A service that
	// does not compute them (a look-alike of Cloud KMS) leaves them out.
	if len(resp.GetCiphertext()) == 0 {
		return k, kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: the service returned no ciphertext", id)
	}
	if c := resp.GetCiphertextCrc32C(); c != nil && c.GetValue() != checksum(resp.GetCiphertext()) {
		return k, kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: the encrypted key arrived damaged (checksum mismatch); try again", id)
	}
	k.Enc = base64.StdEncoding.EncodeToString(resp.GetCiphertext())
	return k, nil
}

// Unwrap decrypts k.Enc with the key k.ResourceID names.
func (p *Provider) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	id := k.ResourceID
	if err := checkID(id); err != nil {
		return nil, err
	}
	if k.Enc == "" {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "GCP KMS key %s: the stanza holds no encrypted key (enc is empty)", id)
	}
	ct, err := base64.StdEncoding.DecodeString(k.Enc)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.WrongKey, "GCP KMS key %s: the encrypted key is damaged (enc is not valid base64)", id)
	}
	svc, err := p.service(ctx, id)
	if err != nil {
		return nil, err
	}
	req := &kmspb.DecryptRequest{Name: id, Ciphertext: ct, CiphertextCrc32C: wrapperspb.Int64(checksum(ct))}
	resp, err := retry(ctx, func(ctx context.Context) (*kmspb.DecryptResponse, error) {
		return svc.client.Decrypt(ctx, req)
	})
	if err != nil {
		return nil, svc.classify(ctx, opDecrypt, id, err)
	}
	if c := resp.GetPlaintextCrc32C(); c != nil && c.GetValue() != checksum(resp.GetPlaintext()) {
		return nil, kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: the decrypted key arrived damaged (checksum mismatch); try again", id)
	}
	return resp.GetPlaintext(), nil
}

// Close releases the client, if one was made.
func (p *Provider) Close() error {
	p.once.Do(func() {
		p.err = errClosed
		close(p.ready)
	})
	<-p.ready
	if p.svc != nil {
		return p.svc.client.Close()
	}
	return nil
}

var errClosed = errors.New("the GCP KMS provider is closed")

func checkID(id string) error {
	if !resourceID.MatchString(id) {
		return kmsproto.Errorf(kmsproto.Invalid, "%q is not a GCP KMS key resource ID (projects/P/locations/L/keyRings/R/cryptoKeys/K)", id)
	}
	return nil
}

// service returns the client, making it on first use. Making it needs no
// network with explicit credentials, but finding Application Default
// Credentials may probe for the GCE metadata server; a request whose
// context ends first gives up waiting, and the client stays for the
// next one.
func (p *Provider) service(ctx context.Context, id string) (*service, error) {
	p.once.Do(func() {
		go func() {
			p.svc, p.err = p.connect()
			close(p.ready)
		}()
	})
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, kmsproto.Errorf(kmsproto.Timeout, "GCP KMS key %s: setting up the Google credentials took too long", id)
	}
	if p.err != nil {
		if e, ok := p.err.(*setupError); ok {
			return nil, kmsproto.Errorf(e.kind, "GCP KMS key %s: %s", id, e.msg)
		}
		return nil, kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: %v", id, p.err)
	}
	return p.svc, nil
}

// setupError is a failure to make the client; the key's name is added
// per request.
type setupError struct {
	kind kmsproto.Kind
	msg  string
}

func (e *setupError) Error() string { return e.msg }

// connect makes the client, choosing credentials, endpoint and transport
// from the environment exactly as sops 3.13.2 does. The client outlives
// every request, so it is made with a background context; requests bound
// its calls.
func (p *Provider) connect() (*service, error) {
	svc := &service{endpoint: "cloudkms.googleapis.com", creds: adc}
	var opts []option.ClientOption
	if v := p.getenv(EnvCredentials); v != "" {
		creds := []byte(v)
		if _, err := os.Stat(v); err == nil {
			creds, err = os.ReadFile(v)
			if err != nil {
				return nil, &setupError{kmsproto.NoCredentials, "cannot read the credentials file GOOGLE_CREDENTIALS names: " + oneLine(err.Error())}
			}
		} else if !strings.HasPrefix(strings.TrimSpace(v), "{") {
			return nil, &setupError{kmsproto.NoCredentials, "GOOGLE_CREDENTIALS is neither the path of an existing file nor credentials JSON"}
		}
		// The file's own type, so that any credential type sops accepts is
		// accepted (option.WithCredentialsJSON, which sops uses, is the
		// deprecated spelling of this).
		var head struct {
			Type         string `json:"type"`
			PrivateKey   string `json:"private_key"`
			ClientSecret string `json:"client_secret"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(creds, &head); err != nil {
			return nil, &setupError{kmsproto.NoCredentials, "the credentials in GOOGLE_CREDENTIALS are not valid JSON"}
		}
		svc.secrets = append(svc.secrets, head.PrivateKey, head.ClientSecret, head.RefreshToken)
		svc.creds = "the credentials in " + EnvCredentials
		opts = append(opts, option.WithAuthCredentialsJSON(option.CredentialsType(head.Type), creds))
	} else if tok := p.getenv(EnvAccessToken); tok != "" {
		svc.secrets = append(svc.secrets, tok)
		svc.creds = "the token in " + EnvAccessToken
		opts = append(opts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok})))
	}
	if ep := p.getenv(EnvEndpoint); ep != "" {
		svc.endpoint = ep
		opts = append(opts, option.WithEndpoint(ep))
	} else if ud := p.getenv(EnvUniverseDomain); ud != "" {
		svc.endpoint = "cloudkms." + ud
		opts = append(opts, option.WithUniverseDomain(ud))
	}
	opts = append(opts, p.extra...)

	ctx := context.Background()
	var err error
	if strings.ToLower(p.getenv(EnvClientType)) == "rest" {
		svc.client, err = kms.NewKeyManagementRESTClient(ctx, opts...)
	} else {
		svc.client, err = kms.NewKeyManagementClient(ctx, opts...)
	}
	if err != nil {
		msg := "cannot use " + svc.creds + ": "
		if svc.creds == adc {
			msg = "no usable Google credentials (set " + EnvCredentials + " or " + EnvAccessToken + ", or set up Application Default Credentials): "
		}
		return nil, &setupError{kmsproto.NoCredentials, msg + svc.redact(err.Error())}
	}
	// The library retries Unavailable for up to a minute; retry (below)
	// does it within the request's deadline instead, and not when the
	// endpoint refuses connections.
	svc.client.CallOptions.Encrypt = nil
	svc.client.CallOptions.Decrypt = nil
	return svc, nil
}

// retry runs call, again after a short pause when the service was
// briefly unavailable, as long as the context allows.
func retry[T any](ctx context.Context, call func(context.Context) (T, error)) (T, error) {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := call(ctx)
		if err == nil || attempt == 3 || !transient(err) {
			return v, err
		}
		if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*pause {
			return v, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
		pause *= 3
	}
}

func checksum(b []byte) int64 {
	return int64(crc32.Checksum(b, castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
