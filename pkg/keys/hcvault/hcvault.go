// Package hcvault is the HashiCorp Vault transit key source of kura-kms:
// it wraps a data key (or Shamir share) with a transit key and unwraps it
// again, as sops does for its hc_vault master keys.
//
// Wrapping is POST ADDRESS/v1/ENGINE/encrypt/NAME with plaintext =
// base64(payload); the stanza's enc is the returned ciphertext string
// (vault:v1:...). Unwrapping is POST ADDRESS/v1/ENGINE/decrypt/NAME with
// ciphertext = enc, and the returned plaintext base64-decoded.
//
// The Vault address comes from the stanza; everything else comes from the
// environment through the Vault API client, as for sops: VAULT_TOKEN (or,
// without it, ~/.vault-token), VAULT_CACERT, VAULT_NAMESPACE,
// VAULT_MAX_RETRIES, VAULT_AGENT_ADDR and the rest.
// SOPS_HC_VAULT_ALLOWLIST limits the addresses kura may talk to.
package hcvault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/hashicorp/vault/api"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// TokenFile is the file in the home directory that holds the token
// `vault login` stores, read when VAULT_TOKEN is empty.
const TokenFile = ".vault-token"

// Provider wraps and unwraps with Vault transit keys. It keeps one Vault
// client per address for its lifetime; it is safe for concurrent use.
// The zero value is not usable; call New.
type Provider struct {
	mu      sync.Mutex
	clients map[string]*client
}

// New returns a Provider. It reads the environment when it first talks
// to each Vault address.
func New() *Provider {
	return &Provider{clients: map[string]*client{}}
}

var _ kmsproto.Provider = (*Provider)(nil)

// Wrap encrypts payload with the transit key k names and returns k with
// Enc set to Vault's ciphertext.
func (p *Provider) Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error) {
	req, err := p.request(k, "encrypt")
	if err != nil {
		return k, err
	}
	b64 := base64.StdEncoding.EncodeToString(payload)
	data, err := req.do(ctx, map[string]any{"plaintext": b64}, b64)
	if err != nil {
		return k, err
	}
	enc, _ := data["ciphertext"].(string)
	if enc == "" {
		return k, kmsproto.Errorf(kmsproto.Internal, "%s: Vault's encrypt answer holds no ciphertext", req.uri)
	}
	k.Enc = enc
	return k, nil
}

// Unwrap decrypts k.Enc with the transit key k names.
func (p *Provider) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	if k.Enc == "" {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: the key holds no encrypted data key", printable(k.Identity()))
	}
	req, err := p.request(k, "decrypt")
	if err != nil {
		return nil, err
	}
	data, err := req.do(ctx, map[string]any{"ciphertext": k.Enc}, k.Enc)
	if err != nil {
		return nil, err
	}
	text, ok := data["plaintext"].(string)
	if !ok {
		return nil, kmsproto.Errorf(kmsproto.Internal, "%s: Vault's decrypt answer holds no plaintext", req.uri)
	}
	payload, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Internal, "%s: Vault's decrypt answer is not base64", req.uri)
	}
	return payload, nil
}

// request is one call about to be made.
type request struct {
	c    *client
	uri  string // the key URI, for messages
	op   string // "encrypt" or "decrypt"
	path string // ENGINE/OP/NAME
}

// request checks the stanza and the allowlist and finds the client.
func (p *Provider) request(k keys.Stanza, op string) (*request, error) {
	uri := printable(k.Identity())
	if u, err := url.Parse(k.VaultAddress); err == nil && u.User != nil {
		// A password in the address stays out of messages.
		uri = printable(strings.Replace(k.Identity(), k.VaultAddress, u.Redacted(), 1))
	}
	if err := checkStanza(&k); err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: %v", uri, err)
	}
	al, err := readAllowlist()
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: %v", uri, err)
	}
	if !al.allows(k.VaultAddress) {
		return nil, kmsproto.Errorf(kmsproto.AccessDenied, "%s: %s does not allow the Vault address %s", uri, AllowlistEnv, k.VaultAddress)
	}
	c, err := p.client(k.VaultAddress)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.KindOf(err), "%s: %v", uri, err)
	}
	engine := strings.Trim(k.VaultEnginePath, "/")
	return &request{c: c, uri: uri, op: op, path: engine + "/" + op + "/" + k.VaultKeyName}, nil
}

// checkStanza rejects addresses the client cannot use and engine paths or
// key names that would make the request path leave the engine (a file
// could otherwise send the data key to any Vault path the token may
// write).
func checkStanza(k *keys.Stanza) error {
	u, err := url.Parse(k.VaultAddress)
	switch {
	case k.VaultAddress == "":
		return errors.New("the key has no Vault address")
	case err == nil && u.User != nil:
		return errors.New("the Vault address holds a user name or password; give the token in VAULT_TOKEN instead")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("the Vault address %q is not an http:// or https:// URL like https://vault.example.com:8200", k.VaultAddress)
	}
	engine := strings.Trim(k.VaultEnginePath, "/")
	if engine == "" {
		return errors.New("the key has no engine path")
	}
	for _, seg := range strings.Split(engine, "/") {
		if !cleanSegment(seg) {
			return fmt.Errorf("the engine path %q is not a plain path", k.VaultEnginePath)
		}
	}
	if !cleanSegment(k.VaultKeyName) {
		return fmt.Errorf("the key name %q is not a plain name", k.VaultKeyName)
	}
	return nil
}

func cleanSegment(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// client is the Vault client of one address.
type client struct {
	api      *api.Client
	address  string        // the address the stanza names
	target   string        // the address requests go to (VAULT_AGENT_ADDR wins, as in sops)
	timeout  time.Duration // VAULT_CLIENT_TIMEOUT, 60s by default
	hasToken bool
	token    string // only to keep it out of messages
}

// client returns the client of an address, creating it on first use.
func (p *Provider) client(address string) (*client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[address]; ok {
		return c, nil
	}
	c, err := newClient(address)
	if err != nil {
		return nil, err
	}
	p.clients[address] = c
	return c, nil
}

func newClient(address string) (*client, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "the Vault client settings in the environment are wrong: %v", oneLine(cfg.Error.Error(), nil))
	}
	cfg.Address = address
	cfg.CheckRetry = retryPolicy
	ac, err := api.NewClient(cfg)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "cannot set up a Vault client: %v", oneLine(err.Error(), nil))
	}
	// The client would cancel its own timeout as soon as the answer's
	// headers arrive, before the body is read (over HTTP/2 the read then
	// fails); do applies the timeout around the whole exchange instead.
	c := &client{api: ac, address: address, target: address, timeout: cfg.Timeout}
	ac.SetClientTimeout(0)
	if cfg.AgentAddress != "" {
		c.target = cfg.AgentAddress
	}
	source := "VAULT_TOKEN"
	token := ac.Token()
	if token == "" {
		source = "~/" + TokenFile
		token, err = userToken()
		if err != nil {
			return nil, kmsproto.Errorf(kmsproto.NoCredentials, "reading the Vault token: %v", err)
		}
		ac.SetToken(token)
	}
	if strings.IndexFunc(token, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return nil, kmsproto.Errorf(kmsproto.NoCredentials, "the Vault token in %s holds non-printable characters", source)
	}
	c.token, c.hasToken = token, token != ""
	return c, nil
}

// userToken reads ~/.vault-token, where `vault login` keeps the token; a
// missing file (or home) means no token.
func userToken() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(home, TokenFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("~/%s: %w", TokenFile, errors.Unwrap(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// retryWaitMax is the longest wait between two tries (the Vault client's
// default MaxRetryWait).
const retryWaitMax = 1500 * time.Millisecond

// retryPolicy decides whether the Vault client tries a request again. It
// retries what may pass (a dropped connection, 429, 412, 5xx) up to
// VAULT_MAX_RETRIES times (2 by default), but not what will not: a refused
// connection, an unknown host, a bad certificate, a sealed Vault (503). It
// stops when the deadline leaves no room for another wait and try, so the
// last real error is reported rather than a timeout. It never returns the
// status as an error, so that Vault's own error text reaches the caller.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < retryWaitMax+time.Second {
		return false, nil
	}
	if err != nil {
		if refused(err) || dnsFailure(err) || certFailure(err) {
			return false, nil
		}
	} else if resp.StatusCode == http.StatusServiceUnavailable {
		return false, nil
	}
	retry, _ := api.DefaultRetryPolicy(ctx, resp, err)
	return retry, nil
}

// do sends the request and returns the data of Vault's answer. secret is
// the request's sensitive field, kept out of messages.
func (r *request) do(ctx context.Context, body map[string]any, secret string) (map[string]any, error) {
	if r.c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.c.timeout)
		defer cancel()
	}
	start := time.Now()
	var budget time.Duration
	if dl, ok := ctx.Deadline(); ok {
		budget = time.Until(dl)
	}
	resp, err := r.c.api.Logical().WriteRawWithContext(ctx, r.path, mustJSON(body))
	if resp != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, r.failure(ctx, err, secret, start, budget)
	}
	secretResp, err := api.ParseSecret(resp.Body)
	if err != nil || secretResp == nil || secretResp.Data == nil {
		// A KV engine, say, answers 204 with nothing.
		return nil, kmsproto.Errorf(kmsproto.Internal, "%s: Vault's %s answer holds no data (HTTP %d): is the engine a transit engine?", r.uri, r.op, resp.StatusCode)
	}
	return secretResp.Data, nil
}

// failure classifies an error of the Vault client.
func (r *request) failure(ctx context.Context, err error, secret string, start time.Time, budget time.Duration) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return r.responseFailure(re, secret)
	}
	host := hostOf(r.c.target)
	via := ""
	if r.c.target != r.c.address {
		via = " (the Vault agent at " + r.c.target + ", from VAULT_AGENT_ADDR)"
	}
	var ne net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		if budget <= 0 {
			budget = time.Since(start)
		}
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Vault at %s%s did not answer within %v", r.uri, host, via, budget.Round(time.Millisecond))
	case refused(err):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: connection refused: no Vault server listens at %s%s", r.uri, host, via)
	case dnsFailure(err):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot resolve the Vault host %s%s", r.uri, host, via)
	case certFailure(err):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: the TLS certificate of %s%s is not trusted (%s); set VAULT_CACERT to the CA that signed it", r.uri, host, via, oneLine(innerError(err), r.redactions(secret)))
	case errors.As(err, &ne) && ne.Timeout():
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Vault at %s%s did not answer in time (%s)", r.uri, host, via, oneLine(innerError(err), r.redactions(secret)))
	}
	return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot reach Vault at %s%s: %s", r.uri, host, via, oneLine(innerError(err), r.redactions(secret)))
}

// responseFailure classifies an error answer of Vault.
func (r *request) responseFailure(re *api.ResponseError, secret string) error {
	detail := oneLine(strings.Join(re.Errors, "; "), r.redactions(secret))
	if detail == "" {
		detail = http.StatusText(re.StatusCode)
	}
	lower := strings.ToLower(detail)
	code := re.StatusCode
	switch {
	case code == http.StatusForbidden || code == http.StatusUnauthorized || strings.Contains(lower, "missing client token"):
		if !r.c.hasToken {
			return kmsproto.Errorf(kmsproto.NoCredentials, "%s: no Vault token: set VAULT_TOKEN or run `vault login` (which writes ~/%s) (HTTP %d: %s)", r.uri, TokenFile, code, detail)
		}
		if strings.Contains(lower, "invalid token") {
			return kmsproto.Errorf(kmsproto.AccessDenied, "%s: Vault does not accept the token: it is invalid or expired (HTTP %d: %s)", r.uri, code, detail)
		}
		return kmsproto.Errorf(kmsproto.AccessDenied, "%s: permission denied: the Vault token may not %s with this key (HTTP %d: %s)", r.uri, r.op, code, detail)
	case code == http.StatusNotFound:
		return kmsproto.Errorf(kmsproto.NotFound, "%s: Vault has no transit engine at this path (HTTP %d: %s)", r.uri, code, detail)
	case code == http.StatusBadRequest && strings.Contains(lower, "not found"):
		return kmsproto.Errorf(kmsproto.NotFound, "%s: the transit key does not exist (HTTP %d: %s)", r.uri, code, detail)
	case code == http.StatusBadRequest && r.op == "decrypt":
		return kmsproto.Errorf(kmsproto.WrongKey, "%s: Vault cannot decrypt the data key with this key: it was made with another key or damaged (HTTP %d: %s)", r.uri, code, detail)
	case code == http.StatusServiceUnavailable && strings.Contains(lower, "sealed"):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: Vault at %s is sealed (HTTP %d)", r.uri, hostOf(r.c.target), code)
	case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests || code == http.StatusBadGateway || code == http.StatusGatewayTimeout:
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: Vault at %s is unavailable (HTTP %d: %s)", r.uri, hostOf(r.c.target), code, detail)
	case code == http.StatusBadRequest:
		return kmsproto.Errorf(kmsproto.Invalid, "%s: Vault refused the %s request (HTTP %d: %s)", r.uri, r.op, code, detail)
	}
	return kmsproto.Errorf(kmsproto.Internal, "%s: Vault failed the %s request (HTTP %d: %s)", r.uri, r.op, code, detail)
}

// redactions lists what must never appear in a message.
func (r *request) redactions(secret string) []string {
	return []string{r.c.token, secret}
}

// maxDetail bounds the text of Vault (or a proxy in front of it) quoted
// in a message.
const maxDetail = 200

// oneLine makes text fit on one line of a message: whitespace runs become
// one space, secrets are cut out, and long text is shortened.
func oneLine(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// printable replaces what would break a message line, for text from a
// file such as a key URI.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// innerError drops the "Put URL:" of a *url.Error, which adds nothing to
// the key URI a message starts with.
func innerError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func hostOf(address string) string {
	if u, err := url.Parse(address); err == nil && u.Host != "" {
		return u.Host
	}
	return address
}

func refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "actively refused")
}

func dnsFailure(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && !de.IsTimeout
}

func certFailure(err error) bool {
	var (
		ua  x509.UnknownAuthorityError
		ci  x509.CertificateInvalidError
		he  x509.HostnameError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve)
}

func mustJSON(v map[string]any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	return b
}
