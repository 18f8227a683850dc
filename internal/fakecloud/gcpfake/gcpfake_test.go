package gcpfake

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const key = "projects/p/locations/global/keyRings/r/cryptoKeys/k"

func jwt(t *testing.T, k *rsa.PrivateKey, iss string) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": iss, "sub": iss, "scope": "https://www.googleapis.com/auth/cloudkms", "iat": now, "exp": now + 3600})
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// post sends a REST call and returns the status and the decoded body.
func post(t *testing.T, s *Server, path, auth string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "https://"+s.Endpoint+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: s.ClientTLS()}, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestREST(t *testing.T) {
	s := Start(t)
	s.AddKey(key)
	pt := base64.StdEncoding.EncodeToString([]byte("payload"))
	code, out := post(t, s, "/v1/"+key+":encrypt", s.Token, map[string]any{"plaintext": pt})
	if code != 200 || out["ciphertext"] == nil {
		t.Fatalf("encrypt: %d %v", code, out)
	}
	code, out = post(t, s, "/v1/"+key+":decrypt", s.Token, map[string]any{"ciphertext": out["ciphertext"]})
	if code != 200 || out["plaintext"] != pt {
		t.Fatalf("decrypt: %d %v", code, out)
	}
	for _, c := range []struct {
		path, auth string
		code       int
		status     string
	}{
		{"/v1/" + key + ":encrypt", "", 401, "UNAUTHENTICATED"},
		{"/v1/" + key + ":encrypt", s.NoAccessToken, 403, "PERMISSION_DENIED"},
		{"/v1/" + key + "x:encrypt", s.Token, 404, "NOT_FOUND"},
		{"/v1/" + key + ":decrypt", s.Token, 400, "INVALID_ARGUMENT"},
		{"/v1/" + key + ":sign", s.Token, 501, "UNIMPLEMENTED"},
	} {
		code, out := post(t, s, c.path, c.auth, map[string]any{"plaintext": pt, "ciphertext": base64.StdEncoding.EncodeToString(make([]byte, 60))})
		e, _ := out["error"].(map[string]any)
		if code != c.code || e["status"] != c.status || e["code"] != float64(c.code) {
			t.Errorf("%s with %.10q: %d %v, want %d %s", c.path, c.auth, code, out, c.code, c.status)
		}
	}
	s.DisableKey(key)
	code, out = post(t, s, "/v1/"+key+":encrypt", s.Token, map[string]any{"plaintext": pt})
	if e, _ := out["error"].(map[string]any); code != 400 || e["status"] != "FAILED_PRECONDITION" {
		t.Errorf("disabled key: %d %v", code, out)
	}
}

// The service account's JWTs are accepted as bearer tokens and buy a
// token at /token; others are not.
func TestServiceAccount(t *testing.T) {
	s := Start(t)
	s.AddKey(key)
	var sa struct {
		PrivateKey  string `json:"private_key"`
		ClientEmail string `json:"client_email"`
		TokenURI    string `json:"token_uri"`
	}
	if err := json.Unmarshal(s.CredentialsJSON(), &sa); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	good := jwt(t, k.(*rsa.PrivateKey), sa.ClientEmail)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged := jwt(t, other, sa.ClientEmail)
	pt := map[string]any{"plaintext": base64.StdEncoding.EncodeToString([]byte("x"))}
	if code, out := post(t, s, "/v1/"+key+":encrypt", good, pt); code != 200 {
		t.Errorf("signed JWT refused: %d %v", code, out)
	}
	if code, _ := post(t, s, "/v1/"+key+":encrypt", forged, pt); code != 401 {
		t.Errorf("forged JWT: %d, want 401", code)
	}
	if !strings.HasPrefix(sa.TokenURI, "https://"+s.Endpoint) {
		t.Fatalf("token_uri %q", sa.TokenURI)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: s.ClientTLS()}, Timeout: 5 * time.Second}
	for _, c := range []struct {
		assertion string
		ok        bool
	}{{good, true}, {forged, false}} {
		resp, err := client.PostForm(sa.TokenURI, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {c.assertion}})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if c.ok != (resp.StatusCode == 200 && out["access_token"] == s.Token) {
			t.Errorf("token exchange (valid %v): %d %v", c.ok, resp.StatusCode, out)
		}
	}
}
