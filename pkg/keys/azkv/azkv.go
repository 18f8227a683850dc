// Package azkv is the Azure Key Vault key source of kura-kms: it wraps and
// unwraps data keys (or Shamir shares) with an RSA key in a vault, as sops
// does for its azure_kv master keys.
//
// # Wire compatibility
//
// sops 3.13.2 calls the vault's encrypt and decrypt operations with
// RSA-OAEP-256 on the key's name and version, and stores the result in
// "enc" as unpadded base64url. This package calls the same two operations
// with the same algorithm. The vault's wrapKey/unwrapKey operations would
// produce the very same RSA-OAEP-256 ciphertext, but they need the
// keys/wrapKey and keys/unwrapKey permissions (or the "Key Vault Crypto
// Service Encryption User" role) while sops needs keys/encrypt and
// keys/decrypt: teams whose access policies were written for sops would
// see kura refused where sops works. So kura asks for exactly what sops
// asks for.
//
// When a key names no version, Wrap asks the vault for the key's current
// version (keys/get, as sops does when it loads its configuration) and
// stores it, so that the file keeps naming the version that wrapped it
// after the key is rotated.
//
// # Credentials
//
// Credentials come from azidentity's DefaultAzureCredential, as in sops:
// AZURE_* variables (client secret, certificate), workload identity,
// managed identity, then the Azure CLI, Azure Developer CLI and Azure
// PowerShell. AZURE_TOKEN_CREDENTIALS narrows the chain. The credential
// is created once per Provider, and one client per vault URL, and both are
// shared by the concurrent requests of a run.
//
// Every call is bounded by its context: the SDK's waits that do not watch
// the context (a credential chain probing IMDS or running the az CLI for
// another request, a token being fetched by another request) are cut off
// at the deadline, which then reports kmsproto.Timeout.
package azkv

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// algorithm is what sops uses for azure_kv keys.
const algorithm = azkeys.EncryptionAlgorithmRSAOAEP256

// Provider is the Azure Key Vault key source. Its methods may be called
// concurrently.
type Provider struct {
	credOnce sync.Once
	cred     azcore.TokenCredential
	credErr  error

	mu      sync.Mutex
	clients map[string]*azkeys.Client // by vault URL
}

var _ kmsproto.Provider = (*Provider)(nil)

// New returns a Provider. It reads no environment and makes no network
// call until the first request.
func New() *Provider {
	return &Provider{clients: map[string]*azkeys.Client{}}
}

// Wrap encrypts payload with the key k names (RSA-OAEP-256, the vault's
// encrypt operation) and returns k with Enc set and, when k named no
// version, the key's current version.
func (p *Provider) Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error) {
	if err := check(k); err != nil {
		return k, err
	}
	if len(payload) == 0 {
		return k, kmsproto.Errorf(kmsproto.Invalid, "cannot wrap with %s: nothing to wrap", describe(k))
	}
	c, err := p.client(k.AzureVaultURL)
	if err != nil {
		return k, classify(ctx, "wrap with", k, err)
	}
	if k.AzureVersion == "" {
		version, err := bounded(ctx, func(ctx context.Context) (string, error) {
			resp, err := c.GetKey(ctx, k.AzureName, "", nil)
			if err != nil {
				return "", err
			}
			if resp.Key == nil || resp.Key.KID == nil || resp.Key.KID.Version() == "" {
				return "", errors.New("the vault's answer names no key version")
			}
			return resp.Key.KID.Version(), nil
		})
		if err != nil {
			return k, classify(ctx, "find the current version of", k, err)
		}
		k.AzureVersion = version
	}
	result, err := bounded(ctx, func(ctx context.Context) ([]byte, error) {
		resp, err := c.Encrypt(ctx, k.AzureName, k.AzureVersion, azkeys.KeyOperationParameters{
			Algorithm: to.Ptr(algorithm),
			Value:     payload,
		}, nil)
		if err != nil {
			return nil, err
		}
		if len(resp.Result) == 0 {
			return nil, errors.New("the vault's answer holds no ciphertext")
		}
		return resp.Result, nil
	})
	if err != nil {
		return k, classify(ctx, "wrap with", k, err)
	}
	k.Enc = base64.RawURLEncoding.EncodeToString(result)
	return k, nil
}

// Unwrap decrypts k.Enc with the key k names (the vault's decrypt
// operation).
func (p *Provider) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	if err := check(k); err != nil {
		return nil, err
	}
	if k.Enc == "" {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: the metadata holds no wrapped key (enc is empty)", describe(k))
	}
	// sops writes unpadded base64url; a padded copy decodes the same.
	ciphertext, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Enc, "="))
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.WrongKey, "cannot unwrap with %s: the wrapped key (enc) is not base64url: the file was damaged", describe(k))
	}
	c, err := p.client(k.AzureVaultURL)
	if err != nil {
		return nil, classify(ctx, "unwrap with", k, err)
	}
	plain, err := bounded(ctx, func(ctx context.Context) ([]byte, error) {
		resp, err := c.Decrypt(ctx, k.AzureName, k.AzureVersion, azkeys.KeyOperationParameters{
			Algorithm: to.Ptr(algorithm),
			Value:     ciphertext,
		}, nil)
		if err != nil {
			return nil, err
		}
		return resp.Result, nil
	})
	if err != nil {
		return nil, classify(ctx, "unwrap with", k, err)
	}
	if len(plain) == 0 {
		return nil, kmsproto.Errorf(kmsproto.WrongKey, "cannot unwrap with %s: the vault decrypted the wrapped key to nothing", describe(k))
	}
	return plain, nil
}

// check refuses a stanza that cannot name a Key Vault key, before any
// network call.
func check(k keys.Stanza) error {
	u, err := url.Parse(k.AzureVaultURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return kmsproto.Errorf(kmsproto.Invalid, "%s: the vault URL %q is not an https URL with only a host, like https://VAULT.vault.azure.net", describe(k), k.AzureVaultURL)
	}
	if k.AzureName == "" || strings.ContainsAny(k.AzureName, "/?#") {
		return kmsproto.Errorf(kmsproto.Invalid, "%s: the key name %q is not a Key Vault key name", describe(k), k.AzureName)
	}
	if strings.ContainsAny(k.AzureVersion, "/?#") {
		return kmsproto.Errorf(kmsproto.Invalid, "%s: the key version %q is not a Key Vault key version", describe(k), k.AzureVersion)
	}
	return nil
}

// describe names the key in messages: its URL as sops prints it, without
// the trailing slash of a key that names no version.
func describe(k keys.Stanza) string {
	return "Azure Key Vault key " + strings.TrimSuffix(k.Identity(), "/")
}

// credential returns the shared credential, creating it on first use.
func (p *Provider) credential() (azcore.TokenCredential, error) {
	p.credOnce.Do(func() {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			p.credErr = &credentialError{err}
			return
		}
		p.cred = &taggedCredential{cred}
	})
	return p.cred, p.credErr
}

// client returns the shared client of a vault.
func (p *Provider) client(vaultURL string) (*azkeys.Client, error) {
	cred, err := p.credential()
	if err != nil {
		return nil, err
	}
	vaultURL = strings.TrimSuffix(vaultURL, "/")
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients[vaultURL]; c != nil {
		return c, nil
	}
	if p.clients == nil {
		p.clients = map[string]*azkeys.Client{}
	}
	c, err := azkeys.NewClient(vaultURL, cred, &azkeys.ClientOptions{
		ClientOptions: azcore.ClientOptions{
			Retry:     policy.RetryOptions{ShouldRetry: shouldRetry},
			Telemetry: policy.TelemetryOptions{ApplicationID: "kura-kms"},
		},
	})
	if err != nil {
		return nil, err
	}
	p.clients[vaultURL] = c
	return c, nil
}

// retryStatus are the statuses azcore retries by default.
var retryStatus = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// shouldRetry is azcore's default retry decision, except that a refused
// connection or an unknown host is not retried: they will not heal in the
// seconds the retries take, and the user should hear at once that the
// vault cannot be reached.
func shouldRetry(resp *http.Response, err error) bool {
	if err != nil {
		return !permanentNetError(err)
	}
	return runtime.HasStatusCode(resp, retryStatus...)
}

func permanentNetError(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsTemporary && !dnsErr.IsTimeout
	}
	return errors.Is(err, syscall.ECONNREFUSED) || certificateError(err)
}

func certificateError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// taggedCredential marks the errors of the credential, so that classify
// can tell "no credentials" from a failure of the vault.
type taggedCredential struct{ azcore.TokenCredential }

func (c *taggedCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := c.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		return tok, &credentialError{err}
	}
	return tok, nil
}

// credentialError is a failure to get a token.
type credentialError struct{ err error }

func (e *credentialError) Error() string { return e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }

// NonRetriable tells azcore not to retry: the credential has done so.
func (e *credentialError) NonRetriable() {}

// bounded runs f and returns when it does or when ctx ends, whichever is
// first. f gets ctx, so it ends soon after in the second case too.
func bounded[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// classify turns an error of the SDK into a kmsproto error: one line that
// names the key and what went wrong, never key material or tokens.
func classify(ctx context.Context, action string, k keys.Stanza, err error) error {
	what := fmt.Sprintf("cannot %s %s", action, describe(k))
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return kmsproto.Errorf(kmsproto.Timeout, "%s: no answer in time from the vault or the credential source", what)
	}

	var credErr *credentialError
	if errors.As(err, &credErr) {
		var authFailed *azidentity.AuthenticationFailedError
		if errors.As(err, &authFailed) {
			return kmsproto.Errorf(kmsproto.NoCredentials, "%s: Azure authentication failed: %s", what, credentialSummary(err))
		}
		return kmsproto.Errorf(kmsproto.NoCredentials, "%s: no Azure credentials (set AZURE_* variables, use a managed identity or log in with az login): %s", what, credentialSummary(err))
	}

	var respErr *azcore.ResponseError
	if errors.As(err, &respErr) {
		return classifyResponse(what, action, respErr)
	}

	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot resolve the vault's host %s", what, dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: the vault refused the connection", what)
	case certificateError(err):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: the vault's TLS certificate is not trusted: %s", what, summary(innermost(err)))
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		if netErr.Timeout() {
			return kmsproto.Errorf(kmsproto.Timeout, "%s: the connection to the vault timed out", what)
		}
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot reach the vault: %s", what, summary(innermost(err)))
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot reach the vault: %s", what, summary(innermost(err)))
	}
	return kmsproto.Errorf(kmsproto.Internal, "%s: %s", what, summary(err.Error()))
}

// vaultErrorBody is Key Vault's error body.
type vaultErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror"`
	} `json:"error"`
}

func classifyResponse(what, action string, e *azcore.ResponseError) error {
	var body vaultErrorBody
	if e.RawResponse != nil {
		if b, err := runtime.Payload(e.RawResponse); err == nil {
			json.Unmarshal(b, &body)
		}
	}
	code := body.Error.Code
	if code == "" {
		code = e.ErrorCode
	}
	inner := ""
	if body.Error.InnerError != nil {
		inner = body.Error.InnerError.Code
	}
	if code == "" {
		code = http.StatusText(e.StatusCode)
	}
	detail := strings.TrimSpace(fmt.Sprintf("%d %s", e.StatusCode, code))
	if inner != "" {
		detail += "/" + inner
	}
	if msg := summary(body.Error.Message); msg != "" {
		detail += ": " + msg
	}
	disabled := inner == "KeyDisabled" || strings.Contains(strings.ToLower(body.Error.Message), "disabled key")
	switch {
	case e.StatusCode == http.StatusUnauthorized:
		return kmsproto.Errorf(kmsproto.NoCredentials, "%s: the vault did not accept the Azure credentials (%s)", what, detail)
	case e.StatusCode == http.StatusForbidden && disabled:
		return kmsproto.Errorf(kmsproto.NotFound, "%s: the key is disabled (%s)", what, detail)
	case e.StatusCode == http.StatusForbidden:
		return kmsproto.Errorf(kmsproto.AccessDenied, "%s: access denied (%s)", what, detail)
	case e.StatusCode == http.StatusNotFound:
		return kmsproto.Errorf(kmsproto.NotFound, "%s: no such key in the vault (%s)", what, detail)
	case e.StatusCode == http.StatusBadRequest && action == "unwrap with":
		return kmsproto.Errorf(kmsproto.WrongKey, "%s: the vault refused the wrapped key: it was not made with this key version, or it was changed (%s)", what, detail)
	case e.StatusCode == http.StatusBadRequest:
		return kmsproto.Errorf(kmsproto.Invalid, "%s: the vault refused the request (%s)", what, detail)
	case e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500:
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: the vault is unavailable (%s)", what, detail)
	}
	return kmsproto.Errorf(kmsproto.Internal, "%s: unexpected answer from the vault (%s)", what, detail)
}

// innermost returns the message of the deepest wrapped error: the
// network's own words, without the SDK's request dump.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// credentialSummary is the gist of azidentity's error report: each
// credential tried and why it failed, without the report's headings, the
// troubleshooting links and the layout of a response body.
func credentialSummary(err error) string {
	var lines []string
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "{", line == "}", line == "Attempted credentials:",
			strings.HasSuffix(line, "failed to acquire a token."),
			strings.HasPrefix(line, "To troubleshoot, visit"):
			continue
		}
		line = strings.TrimSuffix(line, ",")
		if i := strings.Index(line, ". To troubleshoot, visit"); i >= 0 {
			line = line[:i+1]
		}
		lines = append(lines, line)
	}
	return summary(strings.Join(lines, "\n"))
}

// maxSummary bounds the service's words in a message.
const maxSummary = 300

// summary puts a possibly multi-line message (the SDK's are) on one line:
// lines trimmed, rules and blank lines dropped, joined with "; ", cut at
// maxSummary bytes.
func summary(s string) string {
	var parts []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Trim(line, "-=") == "" {
			continue
		}
		parts = append(parts, line)
	}
	out := strings.Join(parts, "; ")
	if len(out) > maxSummary {
		cut := maxSummary
		for cut > 0 && !utf8Start(out[cut]) {
			cut--
		}
		out = out[:cut] + "..."
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
