package azfake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// TestSDKDefaults: the unmodified SDK, with default client options and
// DefaultAzureCredential, reaches the fake through the environment alone
// and passes azkeys' challenge-resource verification.
func TestSDKDefaults(t *testing.T) {
	s := Start(t)
	v1 := s.AddKey("k")
	s.Setenv(t)
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azkeys.NewClient(s.VaultURL(), cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := c.GetKey(ctx, "k", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key.KID.Version() != v1 || got.Key.KID.Name() != "k" || !*got.Attributes.Enabled {
		t.Fatalf("GetKey: %s", *got.Key.KID)
	}
	pub := s.PrivateKey("k", v1).PublicKey
	if new(big.Int).SetBytes(got.Key.N).Cmp(pub.N) != 0 || new(big.Int).SetBytes(got.Key.E).Int64() != int64(pub.E) {
		t.Fatal("GetKey returned another public key")
	}

	payload := make([]byte, 32)
	rand.Read(payload)
	for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmRSAOAEP256, azkeys.EncryptionAlgorithmRSAOAEP} {
		w, err := c.WrapKey(ctx, "k", v1, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: payload}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Wrap and encrypt are the same RSA operation.
		u, err := c.Decrypt(ctx, "k", v1, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: w.Result}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(u.Result, payload) {
			t.Fatalf("%s: decrypt of wrapkey differs", alg)
		}
		e, err := c.Encrypt(ctx, "k", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: payload}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.KID.Version() != v1 {
			t.Fatalf("encrypt without version used %s", *e.KID)
		}
		u2, err := c.UnwrapKey(ctx, "k", v1, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: e.Result}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(u2.Result, payload) {
			t.Fatalf("%s: unwrapkey of encrypt differs", alg)
		}
	}
	if s.Count(OpToken) != 1 || s.Count(OpWrapKey) != 2 || s.Count(OpUnwrapKey) != 2 || s.Count(OpEncrypt) != 2 || s.Count(OpDecrypt) != 2 || s.Count(OpGet) != 1 {
		t.Fatalf("counts: token %d, get %d, wrapkey %d, unwrapkey %d, encrypt %d, decrypt %d",
			s.Count(OpToken), s.Count(OpGet), s.Count(OpWrapKey), s.Count(OpUnwrapKey), s.Count(OpEncrypt), s.Count(OpDecrypt))
	}
}

// client is an HTTP client that trusts the fake without SSL_CERT_FILE.
func client(t *testing.T, s *Server) *http.Client {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CertPEM()) {
		t.Fatal("bad certificate")
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) code() string {
	e, _ := a.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	if inner, ok := e["innererror"].(map[string]any); ok {
		c += "/" + inner["code"].(string)
	}
	return c
}

func do(t *testing.T, c *http.Client, method, u, token string, header http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("%s %s: body %q is not JSON", method, u, b)
	}
	return a
}

func getToken(t *testing.T, c *http.Client, s *Server, q url.Values, header string) answer {
	t.Helper()
	return do(t, c, "GET", s.TokenEndpoint()+"?"+q.Encode(), "", http.Header{"X-Identity-Header": {header}}, "")
}

func TestTokenEndpoint(t *testing.T) {
	s := Start(t)
	c := client(t, s)
	q := url.Values{"api-version": {"2019-08-01"}, "resource": {"https://0.0.1:1"}}
	if a := getToken(t, c, s, q, "wrong"); a.status != 401 {
		t.Errorf("wrong identity header: %d", a.status)
	}
	if a := getToken(t, c, s, url.Values{"api-version": {"2019-08-01"}}, s.IdentityHeader()); a.status != 400 {
		t.Errorf("no resource: %d", a.status)
	}
	q2 := url.Values{"client_id": {"unknown"}}
	for k, v := range q {
		q2[k] = v
	}
	if a := getToken(t, c, s, q2, s.IdentityHeader()); a.status != 400 {
		t.Errorf("unknown client id: %d", a.status)
	}
	a := getToken(t, c, s, q, s.IdentityHeader())
	if a.status != 200 || a.body["token_type"] != "Bearer" || a.body["resource"] != "https://0.0.1:1" {
		t.Fatalf("token: %d %v", a.status, a.body)
	}
	exp, err := strconv.ParseInt(a.body["expires_on"].(string), 10, 64)
	if err != nil || time.Until(time.Unix(exp, 0)) < 50*time.Minute {
		t.Fatalf("expires_on %v", a.body["expires_on"])
	}
	if a := do(t, c, "POST", s.TokenEndpoint(), "", nil, ""); a.status != 405 {
		t.Errorf("POST to the token endpoint: %d", a.status)
	}
}

func TestVaultErrors(t *testing.T) {
	s := Start(t)
	v := s.AddKey("k")
	c := client(t, s)
	tokenFor := func(resource, clientID string) string {
		q := url.Values{"api-version": {"2019-08-01"}, "resource": {resource}}
		if clientID != "" {
			q.Set("client_id", clientID)
		}
		return getToken(t, c, s, q, s.IdentityHeader()).body["access_token"].(string)
	}
	audience := s.Audience()
	good := tokenFor(audience, "")
	keyURL := s.KeyURL("k", v)
	api := "?api-version=7.4"
	enc := func(alg, value string) string {
		return `{"alg":"` + alg + `","value":"` + value + `"}`
	}
	value := base64.RawURLEncoding.EncodeToString([]byte("data key"))
	// A real ciphertext to damage.
	ok := do(t, c, "POST", keyURL+"/encrypt"+api, good, nil, enc("RSA-OAEP-256", value))
	ct, _ := base64.RawURLEncoding.DecodeString(ok.body["value"].(string))
	ct[10] ^= 1
	damaged := base64.RawURLEncoding.EncodeToString(ct)

	tests := []struct {
		name, method, url, token, body string
		status                         int
		code                           string
	}{
		{"no token", "GET", keyURL + api, "", "", 401, "Unauthorized"},
		{"unknown token", "GET", keyURL + api, "nope", "", 401, "Unauthorized"},
		{"wrong audience", "GET", keyURL + api, tokenFor("https://vault.azure.net", ""), "", 401, "Unauthorized"},
		{"no api-version", "GET", keyURL, good, "", 400, "BadParameter"},
		{"unknown key", "GET", s.KeyURL("nope", "") + api, good, "", 404, "KeyNotFound"},
		{"unknown version", "POST", s.KeyURL("k", "0000") + "/decrypt" + api, good, enc("RSA-OAEP-256", value), 404, "KeyNotFound"},
		{"forbidden get", "GET", keyURL + api, tokenFor(audience, ForbiddenClientID), "", 403, "Forbidden/AccessDenied"},
		{"forbidden decrypt", "POST", keyURL + "/decrypt" + api, tokenFor(audience, ForbiddenClientID), enc("RSA-OAEP-256", value), 403, "Forbidden/AccessDenied"},
		{"damaged ciphertext", "POST", keyURL + "/decrypt" + api, good, enc("RSA-OAEP-256", damaged), 400, "BadParameter"},
		{"bad algorithm", "POST", keyURL + "/encrypt" + api, good, enc("A256GCM", value), 400, "BadParameter"},
		{"RSA1_5", "POST", keyURL + "/encrypt" + api, good, enc("RSA1_5", value), 400, "BadParameter"},
		{"bad base64", "POST", keyURL + "/encrypt" + api, good, enc("RSA-OAEP-256", "***"), 400, "BadParameter"},
		{"bad JSON", "POST", keyURL + "/encrypt" + api, good, "{", 400, "BadParameter"},
		{"too long", "POST", keyURL + "/encrypt" + api, good, enc("RSA-OAEP-256", strings.Repeat("A", 400)), 400, "BadParameter"},
		{"unknown operation", "POST", keyURL + "/sign" + api, good, enc("RS256", value), 400, "BadParameter"},
		{"method", "DELETE", keyURL + api, good, "", 405, "BadParameter"},
		{"outside /keys", "GET", s.VaultURL() + "/secrets/x" + api, good, "", 404, "NotFound"},
		{"version-less path", "POST", s.KeyURL("k", "") + "/encrypt" + api, good, enc("RSA-OAEP-256", value), 200, ""},
		{"empty version", "POST", s.KeyURL("k", "") + "//encrypt" + api, good, enc("RSA-OAEP-256", value), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, c, tt.method, tt.url, tt.token, nil, tt.body)
			if a.status != tt.status || a.code() != tt.code {
				t.Fatalf("%d %s, want %d %s: %v", a.status, a.code(), tt.status, tt.code, a.body)
			}
			if a.status == 401 {
				want := `Bearer authorization="` + s.VaultURL() + "/" + TenantID + `", resource="` + audience + `"`
				if got := a.header.Get("WWW-Authenticate"); got != want {
					t.Fatalf("challenge %q, want %q", got, want)
				}
			}
		})
	}
	s.SetEnabled("k", v, false)
	if a := do(t, c, "POST", keyURL+"/encrypt"+api, good, nil, enc("RSA-OAEP-256", value)); a.status != 403 || a.code() != "Forbidden/KeyDisabled" {
		t.Fatalf("disabled key: %d %s", a.status, a.code())
	}
	if a := do(t, c, "GET", keyURL+api, good, nil, ""); a.status != 200 || a.body["attributes"].(map[string]any)["enabled"] != false {
		t.Fatalf("GET of a disabled key: %d %v", a.status, a.body)
	}
	if s.PrivateKey("nope", "") != nil {
		t.Fatal("PrivateKey of an unknown key")
	}
}

func TestEnviron(t *testing.T) {
	s := Start(t)
	base := []string{"PATH=/bin", "AZURE_CLIENT_SECRET=x", "AZURE_CLIENT_ID=y", "MSI_ENDPOINT=z", "IDENTITY_HEADER=old", "SSL_CERT_DIR=/etc/ssl", "IMDS_ENDPOINT=i", "HOME=/h"}
	got := strings.Join(s.Environ(base), "\n")
	for _, gone := range []string{"AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "MSI_ENDPOINT", "IDENTITY_HEADER=old", "SSL_CERT_DIR", "IMDS_ENDPOINT"} {
		if strings.Contains(got, gone) {
			t.Errorf("Environ kept %s", gone)
		}
	}
	for _, kv := range append([]string{"PATH=/bin", "HOME=/h"}, s.Env()...) {
		if !strings.Contains(got, kv) {
			t.Errorf("Environ lacks %s", kv)
		}
	}
	if !bytes.Contains(s.CertPEM(), []byte("BEGIN CERTIFICATE")) || s.CertFile() == "" {
		t.Fatal("no certificate")
	}
}
