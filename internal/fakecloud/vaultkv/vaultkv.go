// Package vaultkv is a HashiCorp Vault KV secrets engine for tests: the
// KV version 2 data endpoints (PUT/POST and GET MOUNT/data/PATH) and KV
// version 1 (PUT/POST and GET MOUNT/PATH) over plain HTTP on the loopback
// interface, with Vault's answers and error documents, token checks on
// X-Vault-Token, and the mount-information endpoint
// (sys/internal/ui/mounts/PATH) that Vault clients may ask. Secrets are
// kept in memory, every version of them, and Get shows what was written.
package vaultkv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running fake Vault KV.
type Server struct {
	// Address is http://127.0.0.1:PORT, as VAULT_ADDR holds it.
	Address string
	// Token may read and write everything.
	Token string
	// ReadOnlyToken is valid but may only read: writes get 403.
	ReadOnlyToken string

	srv *httptest.Server

	mu      sync.Mutex
	mounts  map[string]int              // mount path -> KV version
	secrets map[string][]map[string]any // mount + "\x00" + path -> versions
	writes  int
	reqs    []string
}

// New starts a fake Vault with KV version 2 engines at "secret" and
// "team/kv", and a version 1 engine at "kv1". Close stops it.
func New() *Server {
	s := &Server{
		Token:         "hvs." + randomHex(12),
		ReadOnlyToken: "hvs." + randomHex(12),
		mounts:        map[string]int{"secret": 2, "team/kv": 2, "kv1": 1},
		secrets:       map[string][]map[string]any{},
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 10 * time.Second
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Config.IdleTimeout = 10 * time.Second
	srv.Start()
	s.srv = srv
	s.Address = srv.URL
	return s
}

// Start runs New for a test and stops the server when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Mount mounts a KV engine of the given version (1 or 2) at path, which
// may have several segments.
func (s *Server) Mount(path string, version int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mounts[strings.Trim(path, "/")] = version
}

// Get returns the data of the latest version of a secret, and its version
// number (1 for the first write).
func (s *Server) Get(mount, path string) (map[string]any, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.secrets[strings.Trim(mount, "/")+"\x00"+strings.Trim(path, "/")]
	if len(vs) == 0 {
		return nil, 0, false
	}
	return vs[len(vs)-1], len(vs), true
}

// Writes is the number of secrets written.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// Requests lists the requests received, "METHOD /v1/PATH".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// Env is the environment that points a Vault client at this server with
// the full token, and blanks every other Vault setting.
func (s *Server) Env() []string {
	return []string{
		"VAULT_ADDR=" + s.Address,
		"VAULT_TOKEN=" + s.Token,
		"VAULT_AGENT_ADDR=",
		"VAULT_NAMESPACE=",
		"VAULT_CACERT=",
		"VAULT_CAPATH=",
		"VAULT_CLIENT_CERT=",
		"VAULT_CLIENT_KEY=",
		"VAULT_SKIP_VERIFY=",
		"VAULT_HTTP_PROXY=",
		"VAULT_PROXY_ADDR=",
		"VAULT_MAX_RETRIES=0",
		"VAULT_CLIENT_TIMEOUT=10s",
		"NO_PROXY=127.0.0.1,localhost,::1",
		"no_proxy=127.0.0.1,localhost,::1",
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	p, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		writeErrors(w, http.StatusNotFound)
		return
	}
	token := r.Header.Get("X-Vault-Token")
	switch token {
	case s.Token, s.ReadOnlyToken:
	case "":
		writeErrors(w, http.StatusForbidden, "permission denied")
		return
	default:
		writeErrors(w, http.StatusForbidden, "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n")
		return
	}
	if rest, ok := strings.CutPrefix(p, "sys/internal/ui/mounts/"); ok {
		s.mountInfo(w, rest)
		return
	}
	mount, version, rest, ok := s.route(p)
	if !ok {
		writeErrors(w, http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", p))
		return
	}
	if version == 2 {
		sub, ok := strings.CutPrefix(rest, "data/")
		if !ok || strings.Trim(sub, "/") == "" {
			writeErrors(w, http.StatusNotFound, "1 error occurred:\n\t* unsupported path\n\n")
			return
		}
		rest = sub
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		writeErrors(w, http.StatusNotFound, "1 error occurred:\n\t* unsupported path\n\n")
		return
	}
	id := mount + "\x00" + rest
	switch r.Method {
	case http.MethodGet:
		s.read(w, id, version)
	case http.MethodPut, http.MethodPost:
		if token != s.Token {
			writeErrors(w, http.StatusForbidden, "1 error occurred:\n\t* permission denied\n\n")
			return
		}
		var body map[string]any
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			writeErrors(w, http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
			return
		}
		s.write(w, id, version, body)
	default:
		writeErrors(w, http.StatusMethodNotAllowed, "1 error occurred:\n\t* unsupported operation\n\n")
	}
}

// route finds the longest mount that prefixes p.
func (s *Server) route(p string) (mount string, version int, rest string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mounts := make([]string, 0, len(s.mounts))
	for m := range s.mounts {
		mounts = append(mounts, m)
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for _, m := range mounts {
		if r, found := strings.CutPrefix(p, m+"/"); found {
			return m, s.mounts[m], r, true
		}
	}
	return "", 0, "", false
}

func (s *Server) mountInfo(w http.ResponseWriter, p string) {
	mount, version, _, ok := s.route(strings.Trim(p, "/") + "/")
	if !ok {
		writeErrors(w, http.StatusBadRequest, "preflight capability check returned 403, please ensure client's policies grant access to path \""+p+"/\"")
		return
	}
	writeData(w, map[string]any{
		"path":    mount + "/",
		"type":    "kv",
		"options": map[string]any{"version": fmt.Sprint(version)},
	})
}

func (s *Server) write(w http.ResponseWriter, id string, version int, body map[string]any) {
	data := body
	if version == 2 {
		d, ok := body["data"].(map[string]any)
		if !ok {
			writeErrors(w, http.StatusBadRequest, "no data provided")
			return
		}
		data = d
	}
	s.mu.Lock()
	s.secrets[id] = append(s.secrets[id], data)
	n := len(s.secrets[id])
	s.writes++
	s.mu.Unlock()
	if version == 1 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeData(w, map[string]any{
		"created_time":    time.Now().UTC().Format(time.RFC3339Nano),
		"custom_metadata": nil,
		"deletion_time":   "",
		"destroyed":       false,
		"version":         n,
	})
}

func (s *Server) read(w http.ResponseWriter, id string, version int) {
	s.mu.Lock()
	vs := s.secrets[id]
	s.mu.Unlock()
	if len(vs) == 0 {
		writeErrors(w, http.StatusNotFound)
		return
	}
	data := vs[len(vs)-1]
	if version == 1 {
		writeData(w, data)
		return
	}
	writeData(w, map[string]any{
		"data": data,
		"metadata": map[string]any{
			"created_time":    time.Now().UTC().Format(time.RFC3339Nano),
			"custom_metadata": nil,
			"deletion_time":   "",
			"destroyed":       false,
			"version":         len(vs),
		},
	})
}

func writeData(w http.ResponseWriter, data map[string]any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id":     randomHex(16),
		"lease_id":       "",
		"renewable":      false,
		"lease_duration": 0,
		"data":           data,
		"wrap_info":      nil,
		"warnings":       nil,
		"auth":           nil,
		"mount_type":     "kv",
	})
}

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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
