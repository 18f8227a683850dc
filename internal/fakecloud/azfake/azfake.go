// Package azfake is a fake Azure Key Vault for tests: an HTTPS server on
// 127.0.0.1 that speaks the Key Vault REST calls sops and kura make (get
// key, encrypt, decrypt, wrapkey, unwrapkey) with real RSA-OAEP-256 under
// RSA keys the test creates, and the managed-identity token endpoint that
// azidentity's DefaultAzureCredential uses to authenticate to it.
//
// The point of the fake is that unmodified clients reach it through
// environment variables only, so that the real sops binary can be tested
// against it as well as kura-kms. Three things make that work:
//
//   - Credentials. DefaultAzureCredential includes ManagedIdentityCredential,
//     which MSAL points at App Service's local token endpoint when both
//     IDENTITY_ENDPOINT and IDENTITY_HEADER are set: a GET on that URL with
//     the header X-IDENTITY-HEADER and the query parameters api-version,
//     resource and (for a user-assigned identity) client_id. The fake
//     serves that endpoint. AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential
//     (read by azidentity 1.14 in sops 3.13.2 and 1.15 in kura-kms) takes
//     every other credential out of the chain, so nothing tries the Azure
//     CLI, a client secret or the internet, and the IMDS probe is skipped.
//
//   - The challenge. A Key Vault client first sends its request without a
//     token; the vault answers 401 with
//     WWW-Authenticate: Bearer authorization="<authority>/<tenant>", resource="<audience>"
//     and the client gets a token for that audience. azkeys checks that the
//     vault's host ends with "." + the audience's host, so that a rogue
//     vault cannot collect tokens for another service. For a vault at
//     https://127.0.0.1:PORT the fake names the audience
//     https://0.0.1:PORT/RANDOM: "127.0.0.1:PORT" ends with ".0.0.1:PORT",
//     so the check passes with its default setting (it looks at the host
//     only; the path keeps each server's tokens apart in MSAL's cache). (A vault at "localhost" cannot pass it: its host
//     has no dot.)
//
//   - TLS. Go reads SSL_CERT_FILE for its root certificates, and the fake
//     writes its self-signed certificate (for 127.0.0.1 and localhost)
//     there. Go loads the roots once per process, so every Server of a
//     process uses the same certificate.
//
// The fake knows two identities. The system-assigned managed identity
// (no AZURE_CLIENT_ID) may use every key. ForbiddenClientID is a
// user-assigned identity that gets tokens but has no permission on the
// keys: setting AZURE_CLIENT_ID to it gives 403 Forbidden. Any other
// client ID is unknown to the token endpoint.
package azfake

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// TenantID is the tenant the vault's challenge names.
	TenantID = "72f988bf-0000-4000-8000-00000000fa4e"
	// ForbiddenClientID is a user-assigned managed identity the token
	// endpoint knows but that has no permission on any key.
	ForbiddenClientID = "00000000-0000-4000-8000-0000000f0bd1"
	// TokenPath is the path of the managed-identity token endpoint.
	TokenPath = "/msi/token"
)

// Operations counted by Count.
const (
	OpToken     = "token"     // a token issued by the token endpoint
	OpChallenge = "challenge" // a vault request answered 401 with the challenge
	OpGet       = "get"
	OpEncrypt   = "encrypt"
	OpDecrypt   = "decrypt"
	OpWrapKey   = "wrapkey"
	OpUnwrapKey = "unwrapkey"
)

// Server is a running fake Key Vault with its token endpoint.
type Server struct {
	srv            *httptest.Server
	vaultURL       string // https://127.0.0.1:PORT
	audience       string // https://0.0.1:PORT/RANDOM
	certFile       string
	identityHeader string

	mu     sync.Mutex
	keys   map[string][]*keyVersion // by name; the last version is current
	tokens map[string]token
	counts map[string]int
}

type keyVersion struct {
	name, version string
	priv          *rsa.PrivateKey
	enabled       bool
	created       time.Time
}

type token struct {
	identity string // "" for the system-assigned identity, else the client ID
	audience string
	expires  time.Time
}

// Start starts a fake vault for the duration of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	cert, certPEM, err := testCert()
	if err != nil {
		t.Fatalf("azfake: %v", err)
	}
	certFile := filepath.Join(t.TempDir(), "azfake-cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatalf("azfake: %v", err)
	}
	s := &Server{
		certFile:       certFile,
		identityHeader: randomHex(16),
		keys:           map[string][]*keyVersion{},
		tokens:         map[string]token{},
		counts:         map[string]int{},
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients that give up mid-handshake are expected
	s.srv.StartTLS()
	t.Cleanup(s.srv.Close)
	_, port, _ := net.SplitHostPort(s.srv.Listener.Addr().String())
	s.vaultURL = "https://127.0.0.1:" + port
	// The audience also carries a path of its own: MSAL keeps one cache
	// of managed-identity tokens for the whole process, keyed by the
	// resource, and a later test's server may get an earlier one's port.
	// With the port alone, the client took the earlier server's token,
	// which this one never issued (a test failing now and then).
	s.audience = "https://0.0.1:" + port + "/" + randomHex(8)
	return s
}

// Audience is the resource the vault's challenge names: tokens for it are
// the ones the vault accepts.
func (s *Server) Audience() string { return s.audience }

// VaultURL is the vault's URL, https://127.0.0.1:PORT, as a vault_url.
func (s *Server) VaultURL() string { return s.vaultURL }

// KeyURL is the URL of a key as sops's --azure-kv takes it: VaultURL +
// "/keys/" + name, followed by "/" + version unless version is empty.
func (s *Server) KeyURL(name, version string) string {
	u := s.vaultURL + "/keys/" + name
	if version != "" {
		u += "/" + version
	}
	return u
}

// CertFile is the PEM file holding the server's certificate.
func (s *Server) CertFile() string { return s.certFile }

// CertPEM is the server's certificate in PEM, to trust it in a client of
// one's own or to add it to a bundle shared with other fakes (Go reads a
// single SSL_CERT_FILE, which may hold several certificates).
func (s *Server) CertPEM() []byte {
	_, pem, _ := testCert()
	return pem
}

// TokenEndpoint is the URL of the managed-identity token endpoint.
func (s *Server) TokenEndpoint() string { return s.vaultURL + TokenPath }

// IdentityHeader is the secret the token endpoint expects in
// X-IDENTITY-HEADER (IDENTITY_HEADER in Env).
func (s *Server) IdentityHeader() string { return s.identityHeader }

// Env returns the variables, as KEY=VALUE, that point azidentity's
// DefaultAzureCredential and Go's TLS roots at the fake. Use it on an
// environment without other Azure settings (see Environ and Setenv).
func (s *Server) Env() []string {
	return []string{
		"SSL_CERT_FILE=" + s.certFile,
		"IDENTITY_ENDPOINT=" + s.TokenEndpoint(),
		"IDENTITY_HEADER=" + s.identityHeader,
		"AZURE_TOKEN_CREDENTIALS=ManagedIdentityCredential",
	}
}

// conflicting reports whether an environment variable would change which
// credential azidentity uses or which roots Go trusts.
func conflicting(name string) bool {
	for _, p := range []string{"AZURE_", "IDENTITY_", "MSI_", "SSL_CERT_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == "IMDS_ENDPOINT" || name == "DEFAULT_IDENTITY_CLIENT_ID"
}

// Environ returns base (as os.Environ gives it) without the variables that
// configure Azure credentials or TLS roots, followed by Env: the
// environment for a sops or kura-kms process that must use the fake.
func (s *Server) Environ(base []string) []string {
	var out []string
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !conflicting(name) {
			out = append(out, kv)
		}
	}
	return append(out, s.Env()...)
}

// Setenv makes the current process's environment that of Environ for the
// rest of the test, for code that creates its Azure credential in
// process. Like t.Setenv it cannot be used in parallel tests. Go reads
// SSL_CERT_FILE once per process; every Server shares one certificate, so
// that is enough as long as nothing verified a TLS certificate before.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if conflicting(name) {
			t.Setenv(name, "") // restores the value after the test
			os.Unsetenv(name)
		}
	}
	for _, kv := range s.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// AddKey creates a new version of the RSA key name (a fresh 2048-bit
// key, creating the key if needed), makes it the current version and
// returns the version: 32 hex digits, as Key Vault's.
func (s *Server) AddKey(name string) string {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	kv := &keyVersion{name: name, version: randomHex(16), priv: priv, enabled: true, created: time.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[name] = append(s.keys[name], kv)
	return kv.version
}

// SetEnabled enables or disables a key version; operations on a disabled
// version fail as Key Vault's do (403, inner code KeyDisabled).
func (s *Server) SetEnabled(name, version string, enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kv := s.lookup(name, version); kv != nil {
		kv.enabled = enabled
	}
}

// PrivateKey returns a key version's RSA key, so that tests can check
// ciphertexts independently. It is nil for an unknown key.
func (s *Server) PrivateKey(name, version string) *rsa.PrivateKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kv := s.lookup(name, version); kv != nil {
		return kv.priv
	}
	return nil
}

// Count returns how many times an operation (OpGet, OpEncrypt, ...)
// succeeded, or, for OpChallenge, how many 401 challenges were sent.
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[op]
}

// lookup finds a key version; an empty version means the current one.
// s.mu must be held.
func (s *Server) lookup(name, version string) *keyVersion {
	versions := s.keys[name]
	if len(versions) == 0 {
		return nil
	}
	if version == "" {
		return versions[len(versions)-1]
	}
	for _, kv := range versions {
		if kv.version == version {
			return kv
		}
	}
	return nil
}

func (s *Server) count(op string) {
	s.mu.Lock()
	s.counts[op]++
	s.mu.Unlock()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-ms-request-id", randomHex(8))
	if r.URL.Path == TokenPath {
		s.serveToken(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/keys/")
	if !ok {
		vaultError(w, http.StatusNotFound, "NotFound", "The requested path was not found: "+r.URL.Path, "")
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		vaultError(w, http.StatusBadRequest, "BadParameter", "The api-version query parameter is missing.", "")
		return
	}
	identity := s.identityOf(r)

	parts := strings.Split(rest, "/")
	switch {
	case r.Method == http.MethodGet && (len(parts) == 1 || len(parts) == 2):
		name, version := parts[0], ""
		if len(parts) == 2 {
			version = parts[1]
		}
		if identity != "" {
			forbidden(w, identity, "get", s.vaultURL)
			return
		}
		s.getKey(w, name, version)
	case r.Method == http.MethodPost && (len(parts) == 2 || len(parts) == 3):
		name, version, op := parts[0], "", parts[len(parts)-1]
		if len(parts) == 3 {
			version = parts[1]
		}
		op = strings.ToLower(op)
		switch op {
		case OpEncrypt, OpDecrypt, OpWrapKey, OpUnwrapKey:
		default:
			vaultError(w, http.StatusBadRequest, "BadParameter", "Unknown key operation "+op+".", "")
			return
		}
		if identity != "" {
			forbidden(w, identity, op, s.vaultURL)
			return
		}
		s.keyOperation(w, r, name, version, op)
	default:
		vaultError(w, http.StatusMethodNotAllowed, "BadParameter", "The method "+r.Method+" is not allowed on "+r.URL.Path+".", "")
	}
}

// authorized checks the bearer token, answering 401 with the challenge
// when it is missing or not valid for this vault.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	msg := "AKV10000: Request is missing a Bearer or PoP token."
	if ok {
		s.mu.Lock()
		tok, known := s.tokens[bearer]
		s.mu.Unlock()
		switch {
		case !known:
			msg = "AKV10022: Invalid audience or issuer: the token was not issued by this tenant."
		case time.Now().After(tok.expires):
			msg = "AKV10032: The token has expired."
		case strings.TrimSuffix(tok.audience, "/") != s.audience:
			msg = "AKV10022: Invalid audience. Expected " + s.audience + ", found: " + tok.audience + "."
		default:
			return true
		}
	}
	s.count(OpChallenge)
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, s.vaultURL, TenantID, s.audience))
	vaultError(w, http.StatusUnauthorized, "Unauthorized", msg, "")
	return false
}

// identityOf returns the client ID of the request's (authorized) token,
// "" for the system-assigned identity.
func (s *Server) identityOf(r *http.Request) string {
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[bearer].identity
}

func (s *Server) getKey(w http.ResponseWriter, name, version string) {
	s.mu.Lock()
	kv := s.lookup(name, version)
	s.mu.Unlock()
	if kv == nil {
		keyNotFound(w, name, version)
		return
	}
	s.count(OpGet)
	pub := kv.priv.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{
		"key": map[string]any{
			"kid":     s.KeyURL(kv.name, kv.version),
			"kty":     "RSA",
			"key_ops": []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"},
			"n":       b64(pub.N.Bytes()),
			"e":       b64(big.NewInt(int64(pub.E)).Bytes()),
		},
		"attributes": map[string]any{
			"enabled":         kv.enabled,
			"created":         kv.created.Unix(),
			"updated":         kv.created.Unix(),
			"recoveryLevel":   "Recoverable+Purgeable",
			"recoverableDays": 90,
			"exportable":      false,
		},
	})
}

func (s *Server) keyOperation(w http.ResponseWriter, r *http.Request, name, version, op string) {
	s.mu.Lock()
	kv := s.lookup(name, version)
	s.mu.Unlock()
	if kv == nil {
		keyNotFound(w, name, version)
		return
	}
	if !kv.enabled {
		vaultError(w, http.StatusForbidden, "Forbidden", "Operation "+op+" is not allowed on a disabled key.", "KeyDisabled")
		return
	}
	var params struct {
		Alg   string `json:"alg"`
		Value string `json:"value"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &params) != nil {
		vaultError(w, http.StatusBadRequest, "BadParameter", "The request body is not valid JSON.", "")
		return
	}
	value, err := unb64(params.Value)
	if err != nil || params.Value == "" {
		vaultError(w, http.StatusBadRequest, "BadParameter", "Property value is not a valid base64url string.", "")
		return
	}
	var h crypto.Hash
	switch params.Alg {
	case "RSA-OAEP-256":
		h = crypto.SHA256
	case "RSA-OAEP":
		h = crypto.SHA1
	default: // RSA1_5 too: the SDKs' callers here use OAEP
		vaultError(w, http.StatusBadRequest, "BadParameter", "Invalid algorithm "+strconv.Quote(params.Alg)+" for an RSA key.", "")
		return
	}
	var out []byte
	switch op {
	case OpEncrypt, OpWrapKey:
		out, err = rsa.EncryptOAEP(h.New(), rand.Reader, &kv.priv.PublicKey, value, nil)
		if err != nil {
			vaultError(w, http.StatusBadRequest, "BadParameter", "The value is too long for the key and algorithm.", "")
			return
		}
	default:
		out, err = kv.priv.Decrypt(rand.Reader, value, &rsa.OAEPOptions{Hash: h})
		if err != nil {
			vaultError(w, http.StatusBadRequest, "BadParameter", "Bad Request", "")
			return
		}
	}
	s.count(op)
	writeJSON(w, http.StatusOK, map[string]any{
		"kid":   s.KeyURL(kv.name, kv.version),
		"value": b64(out),
	})
}

// serveToken is App Service's managed-identity endpoint (api-version
// 2019-08-01), as MSAL calls it when IDENTITY_ENDPOINT and IDENTITY_HEADER
// are set.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"statusCode": 405, "message": "Only GET is allowed."})
		return
	}
	if r.Header.Get("X-IDENTITY-HEADER") != s.identityHeader {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "The X-IDENTITY-HEADER header is missing or wrong."})
		return
	}
	resource := q.Get("resource")
	if resource == "" || q.Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "resource and api-version are required"})
		return
	}
	identity := q.Get("client_id")
	if q.Get("mi_res_id") != "" || q.Get("object_id") != "" || q.Get("principal_id") != "" ||
		(identity != "" && identity != ForbiddenClientID) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "Unable to load the proper Managed Identity."})
		return
	}
	tok := "azfake." + randomHex(24)
	expires := time.Now().Add(time.Hour)
	s.mu.Lock()
	s.tokens[tok] = token{identity: identity, audience: resource, expires: expires}
	s.counts[OpToken]++
	s.mu.Unlock()
	clientID := identity
	if clientID == "" {
		clientID = "00000000-0000-4000-8000-0000005a5a5a"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok,
		"expires_on":   strconv.FormatInt(expires.Unix(), 10),
		"resource":     resource,
		"token_type":   "Bearer",
		"client_id":    clientID,
	})
}

func keyNotFound(w http.ResponseWriter, name, version string) {
	id := name
	if version != "" {
		id += "/" + version
	}
	vaultError(w, http.StatusNotFound, "KeyNotFound", "A key with (name/id) "+id+" was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.", "")
}

func forbidden(w http.ResponseWriter, identity, op, vault string) {
	vaultError(w, http.StatusForbidden, "Forbidden",
		fmt.Sprintf("The user, group or application 'appid=%s;oid=%s' does not have keys %s permission on key vault '%s'.", identity, identity, op, vault),
		"AccessDenied")
}

// vaultError writes Key Vault's error body.
func vaultError(w http.ResponseWriter, status int, code, message, inner string) {
	e := map[string]any{"code": code, "message": message}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// b64 encodes as Key Vault does: base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// unb64 decodes base64url, with or without padding.
func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	certOnce sync.Once
	certTLS  tls.Certificate
	certPEM  []byte
	certErr  error
)

// testCert returns the process's self-signed certificate for 127.0.0.1,
// ::1 and localhost. It is one per process because Go reads SSL_CERT_FILE
// only once.
func testCert() (tls.Certificate, []byte, error) {
	certOnce.Do(func() {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: "azfake test vault", Organization: []string{"kura tests"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(7 * 24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			DNSNames:              []string{"localhost"},
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		if err != nil {
			certErr = err
			return
		}
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		certTLS = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
	})
	return certTLS, certPEM, certErr
}
