// Package vaultfake is a HashiCorp Vault transit server for tests: it
// speaks the encrypt and decrypt endpoints of the transit secrets engine
// over HTTP (or HTTPS) on the loopback interface, with real AES-256-GCM
// keys, so that ciphertexts made by one client (kura, the real sops
// binary) decrypt with another.
//
// It answers as Vault does, as far as a SOPS client can tell: Vault's
// error JSON ({"errors":[...]}) with Vault's status codes and messages,
// ciphertexts of the form vault:v1:base64(nonce||sealed), token checks on
// X-Vault-Token, engines mounted at paths of several segments, and 503
// "Vault is sealed" on demand. It keeps one key version per key.
package vaultfake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a running fake Vault. It stops when the test ends.
type Server struct {
	// Address is the Vault address, http://127.0.0.1:PORT (https:// for
	// StartTLS), as a key URI or VAULT_ADDR holds it.
	Address string
	// Token is a token that may use every key (like a root token).
	Token string
	// NoAccessToken is a valid token whose policy grants nothing: every
	// request with it is answered 403 permission denied.
	NoAccessToken string
	// CACertFile is the PEM file of the certificate the HTTPS variant
	// serves, for VAULT_CACERT and SSL_CERT_FILE; empty for plain HTTP.
	CACertFile string

	mu       sync.Mutex
	mounts   map[string]bool        // engine paths
	keys     map[string]cipher.AEAD // engine + "\x00" + name
	upsert   bool                   // encrypt creates missing keys
	ops      map[string]int         // "encrypt"/"decrypt" successes
	sealed   atomic.Bool            // answer 503 to everything
	requests atomic.Int64           // requests received under /v1/
}

// Start runs a fake Vault over plain HTTP.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartTLS runs a fake Vault over HTTPS with a self-signed certificate
// valid for 127.0.0.1; Env points VAULT_CACERT and SSL_CERT_FILE at it.
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, useTLS bool) *Server {
	t.Helper()
	s := &Server{
		Token:         "hvs." + randomHex(12),
		NoAccessToken: "hvs." + randomHex(12),
		mounts:        map[string]bool{},
		keys:          map[string]cipher.AEAD{},
		ops:           map[string]int{},
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Loopback only, and bounded in time: a stuck client cannot hold the
	// server past the end of the test.
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 10 * time.Second
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Config.IdleTimeout = 10 * time.Second
	if useTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		pemFile := filepath.Join(t.TempDir(), "vault-ca.pem")
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(pemFile, block, 0o600); err != nil {
			srv.Close()
			t.Fatalf("vaultfake: writing the certificate: %v", err)
		}
		s.CACertFile = pemFile
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.Address = srv.URL
	return s
}

// AddKey creates an AES-256-GCM transit key called name in the engine
// mounted at engine (such as "transit" or "secret/team/transit"), mounting
// the engine if needed, and returns the key's URI. Adding a key twice
// keeps the first.
func (s *Server) AddKey(engine, name string) string {
	engine = strings.Trim(engine, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[engine] = true
	id := engine + "\x00" + name
	if _, ok := s.keys[id]; !ok {
		s.keys[id] = newAEAD()
	}
	return s.KeyURI(engine, name)
}

// Mount mounts a transit engine with no keys.
func (s *Server) Mount(engine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[strings.Trim(engine, "/")] = true
}

// KeyURI is the URI of a key as sops's --hc-vault-transit takes it:
// ADDRESS/v1/ENGINE/keys/NAME. The key need not exist.
func (s *Server) KeyURI(engine, name string) string {
	return s.Address + "/v1/" + strings.Trim(engine, "/") + "/keys/" + name
}

// SetSealed seals or unseals the server. A sealed server answers every
// request with 503 {"errors":["Vault is sealed"]}.
func (s *Server) SetSealed(sealed bool) { s.sealed.Store(sealed) }

// SetUpsert makes encrypt create a missing key, as Vault does for a token
// allowed to create it. By default encrypt to a missing key fails with
// 400 "encryption key not found", as for a token that may only update.
func (s *Server) SetUpsert(upsert bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.upsert = upsert
}

// Requests is the number of API requests the server has received,
// answered or not.
func (s *Server) Requests() int { return int(s.requests.Load()) }

// Count is the number of successful operations of one kind, "encrypt" or
// "decrypt".
func (s *Server) Count(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ops[op]
}

// Env is the environment a Vault client (kura-kms, the sops binary)
// needs to use this server and nothing else: the address and token, the
// certificate to trust, and every other Vault setting blanked so that
// nothing from the caller's environment redirects it. Append it to
// os.Environ(); later entries win.
func (s *Server) Env() []string {
	env := []string{
		"VAULT_ADDR=" + s.Address,
		"VAULT_TOKEN=" + s.Token,
		"VAULT_AGENT_ADDR=",
		"VAULT_NAMESPACE=",
		"VAULT_CACERT=" + s.CACertFile,
		"VAULT_CACERT_BYTES=",
		"VAULT_CAPATH=",
		"VAULT_CLIENT_CERT=",
		"VAULT_CLIENT_KEY=",
		"VAULT_SKIP_VERIFY=",
		"VAULT_TLS_SERVER_NAME=",
		"VAULT_HTTP_PROXY=",
		"VAULT_PROXY_ADDR=",
		"VAULT_HEADERS=",
		"VAULT_SRV_LOOKUP=",
		"VAULT_DISABLE_REDIRECTS=",
		"VAULT_MAX_RETRIES=",
		"VAULT_CLIENT_TIMEOUT=",
		"VAULT_RATE_LIMIT=",
		"SOPS_HC_VAULT_ALLOWLIST=",
		"NO_PROXY=127.0.0.1,localhost,::1",
		"no_proxy=127.0.0.1,localhost,::1",
	}
	if s.CACertFile != "" {
		env = append(env, "SSL_CERT_FILE="+s.CACertFile)
	}
	return env
}

// Environ is the whole environment for a child process such as the sops
// binary: the caller's, without any VAULT_* or SOPS_* variable (sops
// treats some set-but-empty variables as values, and a SOPS_AGE_RECIPIENTS
// or SOPS_PGP_FP would add keys), with Env's non-empty entries.
func (s *Server) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "SOPS_") || strings.EqualFold(k, "no_proxy") || k == "SSL_CERT_FILE" {
			continue
		}
		env = append(env, kv)
	}
	for _, kv := range s.Env() {
		if !strings.HasSuffix(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}

// Setenv applies Env to the test's own process with t.Setenv, for
// in-process clients.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// ClosedAddress returns the address of a loopback port nothing listens
// on: connections are refused.
func ClosedAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("vaultfake: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// HangingAddress returns the address of a loopback server that accepts
// connections and never answers, until the test ends.
func HangingAddress(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("vaultfake: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + l.Addr().String()
}

// The API.

// keyName is Vault's GenericNameRegex for key names.
var keyName = regexp.MustCompile(`^\w(([\w.@-]+)?\w)?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		writeErrors(w, http.StatusNotFound)
		return
	}
	s.requests.Add(1)
	if s.sealed.Load() {
		writeErrors(w, http.StatusServiceUnavailable, "Vault is sealed")
		return
	}
	switch token := r.Header.Get("X-Vault-Token"); token {
	case s.Token:
	case "", s.NoAccessToken:
		writeErrors(w, http.StatusForbidden, "permission denied")
		return
	default:
		writeErrors(w, http.StatusForbidden, "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/v1/")
	engine, op, name, ok := s.route(p)
	if !ok {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	if (op != "encrypt" && op != "decrypt") || !keyName.MatchString(name) {
		writeErrors(w, http.StatusNotFound, "1 error occurred:\n\t* unsupported path\n\n")
		return
	}
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		writeErrors(w, http.StatusMethodNotAllowed, "1 error occurred:\n\t* unsupported operation\n\n")
		return
	}
	var body map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&body); err != nil {
		writeErrors(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		return
	}
	if op == "encrypt" {
		s.encrypt(w, engine, name, body)
	} else {
		s.decrypt(w, engine, name, body)
	}
}

// route finds the longest mounted engine that prefixes p and splits the
// rest into operation and key name.
func (s *Server) route(p string) (engine, op, name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mounts := make([]string, 0, len(s.mounts))
	for m := range s.mounts {
		mounts = append(mounts, m)
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		rest, found := strings.CutPrefix(p, m+"/")
		if !found {
			continue
		}
		op, name, _ = strings.Cut(rest, "/")
		return m, op, name, true
	}
	return "", "", "", false
}

func (s *Server) encrypt(w http.ResponseWriter, engine, name string, body map[string]any) {
	raw, ok := body["plaintext"]
	if !ok {
		writeErrors(w, http.StatusBadRequest, "missing plaintext to encrypt")
		return
	}
	text, ok := raw.(string)
	if !ok {
		writeErrors(w, http.StatusBadRequest, "1 error occurred:\n\t* 'plaintext' expected type 'string'\n\n")
		return
	}
	plaintext, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		writeErrors(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	aead, found := s.keys[engine+"\x00"+name]
	if !found && s.upsert {
		aead = newAEAD()
		s.keys[engine+"\x00"+name] = aead
		found = true
	}
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusBadRequest, "encryption key not found")
		return
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce) // never fails
	sealed := aead.Seal(nonce, nonce, plaintext, nil)
	s.count("encrypt")
	writeData(w, map[string]any{
		"ciphertext":  "vault:v1:" + base64.StdEncoding.EncodeToString(sealed),
		"key_version": 1,
	})
}

func (s *Server) decrypt(w http.ResponseWriter, engine, name string, body map[string]any) {
	text, _ := body["ciphertext"].(string)
	if text == "" {
		writeErrors(w, http.StatusBadRequest, "missing ciphertext to decrypt")
		return
	}
	s.mu.Lock()
	aead, found := s.keys[engine+"\x00"+name]
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusBadRequest, "encryption key not found")
		return
	}
	plaintext, msg := open(aead, text)
	if msg != "" {
		writeErrors(w, http.StatusBadRequest, msg)
		return
	}
	s.count("decrypt")
	writeData(w, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plaintext)})
}

// open decrypts a vault:vN: ciphertext, or returns Vault's message for
// why it cannot.
func open(aead cipher.AEAD, text string) ([]byte, string) {
	rest, ok := strings.CutPrefix(text, "vault:v")
	if !ok {
		return nil, "invalid ciphertext: no prefix"
	}
	ver, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, "invalid ciphertext: wrong number of fields"
	}
	v, err := strconv.Atoi(ver)
	if err != nil {
		return nil, "invalid ciphertext: version number could not be decoded"
	}
	if v > 1 {
		return nil, "invalid ciphertext: version is too new"
	}
	blob, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, "invalid ciphertext: could not decode base64"
	}
	if len(blob) < aead.NonceSize() {
		return nil, "invalid ciphertext length"
	}
	plaintext, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], nil)
	if err != nil {
		return nil, "cipher: message authentication failed"
	}
	return plaintext, ""
}

func (s *Server) count(op string) {
	s.mu.Lock()
	s.ops[op]++
	s.mu.Unlock()
}

func writeData(w http.ResponseWriter, data map[string]any) {
	var id [16]byte
	rand.Read(id[:])
	h := hex.EncodeToString(id[:])
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id":     h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:],
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
		"mount_type":     "transit",
	})
}

// writeErrors answers with Vault's error document.
func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, status, map[string]any{"errors": msgs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":["encoding the response"]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func newAEAD() cipher.AEAD {
	key := make([]byte, 32)
	rand.Read(key) // never fails
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
