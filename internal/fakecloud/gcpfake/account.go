package gcpfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// serviceAccount is the one service account the server knows.
type serviceAccount struct {
	email string
	key   *rsa.PrivateKey
	json  []byte
}

// CredentialsJSON returns the JSON key of a service account the server
// trusts, as GOOGLE_CREDENTIALS takes it. Google's client libraries sign
// their own JWTs with it (self-signed JWT) or exchange one for a token at
// its token_uri, which is this server's /token; the server accepts both.
func (s *Server) CredentialsJSON() []byte {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sa != nil {
		return s.sa.json
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		s.t.Fatalf("gcpfake: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		s.t.Fatalf("gcpfake: %v", err)
	}
	sa := &serviceAccount{email: "kura-test@gcpfake-project.iam.gserviceaccount.com", key: key}
	sa.json, err = json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "gcpfake-project",
		"private_key_id":              randomHex(20),
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                sa.email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://" + s.Endpoint + "/auth",
		"token_uri":                   "https://" + s.Endpoint + "/token",
		"auth_provider_x509_cert_url": "https://" + s.Endpoint + "/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	if err != nil {
		s.t.Fatalf("gcpfake: %v", err)
	}
	s.sa = sa
	return sa.json
}

// CredentialsFile writes CredentialsJSON to a file and returns its path.
func (s *Server) CredentialsFile() string {
	s.t.Helper()
	b := s.CredentialsJSON()
	path := filepath.Join(s.dir, "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		s.t.Fatalf("gcpfake: %v", err)
	}
	return path
}

// validJWT reports whether tok is a live JWT signed by the service
// account. s.mu is held.
func (s *Server) validJWT(tok string) bool {
	if s.sa == nil {
		return false
	}
	return s.sa.verify(tok) == nil
}

func (sa *serviceAccount) verify(tok string) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string `json:"iss"`
		Exp int64  `json:"exp"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return err
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return err
	}
	if hdr.Alg != "RS256" {
		return errors.New("unsupported algorithm")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&sa.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return errors.New("bad signature")
	}
	if claims.Iss != sa.email {
		return errors.New("wrong issuer")
	}
	if claims.Exp < time.Now().Add(-time.Minute).Unix() {
		return errors.New("expired")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// serveToken is the OAuth 2.0 JWT-bearer grant (RFC 7523) of the service
// account: a signed assertion buys the server's Token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request"}`))
		return
	}
	s.mu.Lock()
	ok := r.PostForm.Get("grant_type") == "urn:ietf:params:oauth:grant-type:jwt-bearer" && s.validJWT(r.PostForm.Get("assertion"))
	tok := s.Token
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
		return
	}
	b, _ := json.Marshal(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	w.Write(b)
}
