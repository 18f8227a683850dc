package vaultkv

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.Address+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestServer(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Address, "http://127.0.0.1:") {
		t.Fatalf("address %s is not on the loopback interface", s.Address)
	}
	if code, _ := call(t, s, "PUT", "/v1/secret/data/a", "", `{"data":{"k":"v"}}`); code != 403 {
		t.Errorf("no token: %d, want 403", code)
	}
	if code, _ := call(t, s, "PUT", "/v1/secret/data/a", s.ReadOnlyToken, `{"data":{"k":"v"}}`); code != 403 {
		t.Errorf("read-only token: %d, want 403", code)
	}
	code, out := call(t, s, "POST", "/v1/secret/data/a/b", s.Token, `{"data":{"k":"v","n":{"x":1}}}`)
	if code != 200 || out["data"].(map[string]any)["version"] != float64(1) {
		t.Errorf("write: %d %v", code, out)
	}
	code, out = call(t, s, "GET", "/v1/secret/data/a/b", s.ReadOnlyToken, "")
	data, _ := out["data"].(map[string]any)
	if code != 200 || data["data"].(map[string]any)["k"] != "v" || data["metadata"].(map[string]any)["version"] != float64(1) {
		t.Errorf("read: %d %v", code, out)
	}
	if got, v, ok := s.Get("secret", "a/b"); !ok || v != 1 || got["k"] != "v" {
		t.Errorf("Get = %v %d %v", got, v, ok)
	}
	if code, _ := call(t, s, "GET", "/v1/secret/data/missing", s.Token, ""); code != 404 {
		t.Errorf("missing secret: %d, want 404", code)
	}
	if code, _ := call(t, s, "PUT", "/v1/other/data/a", s.Token, `{"data":{}}`); code != 404 {
		t.Errorf("no mount: %d, want 404", code)
	}
	code, out = call(t, s, "GET", "/v1/sys/internal/ui/mounts/team/kv/x", s.Token, "")
	if data, _ := out["data"].(map[string]any); code != 200 || data["path"] != "team/kv/" {
		t.Errorf("mount info: %d %v", code, out)
	}
	if code, _ := call(t, s, "PUT", "/v1/kv1/x", s.Token, `{"k":"v"}`); code != 204 {
		t.Errorf("kv1 write: %d, want 204", code)
	}
	if got, _, ok := s.Get("kv1", "x"); !ok || got["k"] != "v" {
		t.Errorf("kv1 Get = %v", got)
	}
	if s.Writes() != 2 {
		t.Errorf("Writes = %d, want 2", s.Writes())
	}
}
