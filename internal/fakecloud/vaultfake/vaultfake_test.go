package vaultfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// call sends one raw request and returns the status and decoded body.
func call(t *testing.T, s *Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.Address+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, b)
	}
	return resp.StatusCode, out
}

func firstError(out map[string]any) string {
	errs, _ := out["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	s, _ := errs[0].(string)
	return s
}

func TestAPI(t *testing.T) {
	s := Start(t)
	s.AddKey("team/transit", "k")
	s.Mount("empty")
	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		err                       string
	}{
		{"PUT", "/v1/team/transit/encrypt/k", "", `{"plaintext":"eA=="}`, 403, "permission denied"},
		{"PUT", "/v1/team/transit/encrypt/k", s.NoAccessToken, `{"plaintext":"eA=="}`, 403, "permission denied"},
		{"PUT", "/v1/team/transit/encrypt/k", "hvs.nope", `{"plaintext":"eA=="}`, 403, "invalid token"},
		{"GET", "/v1/team/transit/encrypt/k", s.Token, ``, 405, "unsupported operation"},
		{"PUT", "/v1/team/transit/keys/k", s.Token, `{}`, 404, "unsupported path"},
		{"PUT", "/v1/team/encrypt/k", s.Token, `{}`, 404, "no handler for route"},
		{"PUT", "/v1/team/transit/encrypt/k", s.Token, `{`, 400, "failed to parse JSON input"},
		{"PUT", "/v1/team/transit/encrypt/k", s.Token, `{}`, 400, "missing plaintext to encrypt"},
		{"PUT", "/v1/team/transit/encrypt/k", s.Token, `{"plaintext":1}`, 400, "expected type 'string'"},
		{"PUT", "/v1/team/transit/encrypt/k", s.Token, `{"plaintext":"%%"}`, 400, "illegal base64"},
		{"PUT", "/v1/empty/encrypt/k", s.Token, `{"plaintext":"eA=="}`, 400, "encryption key not found"},
		{"PUT", "/v1/team/transit/decrypt/k", s.Token, `{}`, 400, "missing ciphertext to decrypt"},
		{"PUT", "/v1/team/transit/decrypt/k", s.Token, `{"ciphertext":"vault:v1"}`, 400, "wrong number of fields"},
		{"PUT", "/v1/team/transit/decrypt/k", s.Token, `{"ciphertext":"vault:vX:AA=="}`, 400, "version number could not be decoded"},
		{"GET", "/other", s.Token, ``, 404, ""},
		{"POST", "/v1/team/transit/encrypt/k", s.Token, `{"plaintext":"eA=="}`, 200, ""},
	} {
		status, out := call(t, s, tc.method, tc.path, tc.token, tc.body)
		if status != tc.status || !strings.Contains(firstError(out), tc.err) {
			t.Errorf("%s %s %s: %d %v, want %d %q", tc.method, tc.path, tc.body, status, out, tc.status, tc.err)
		}
	}

	s.SetUpsert(true)
	status, out := call(t, s, "PUT", "/v1/empty/encrypt/new", s.Token, `{"plaintext":"eA=="}`)
	data, _ := out["data"].(map[string]any)
	ct, _ := data["ciphertext"].(string)
	if status != 200 || !strings.HasPrefix(ct, "vault:v1:") {
		t.Fatalf("upsert: %d %v", status, out)
	}
	status, out = call(t, s, "PUT", "/v1/empty/decrypt/new", s.Token, `{"ciphertext":"`+ct+`"}`)
	data, _ = out["data"].(map[string]any)
	if status != 200 || data["plaintext"] != "eA==" {
		t.Fatalf("decrypt: %d %v", status, out)
	}
	if s.Count("encrypt") != 2 || s.Count("decrypt") != 1 || s.Requests() != 17 {
		t.Errorf("counts: encrypt %d decrypt %d requests %d", s.Count("encrypt"), s.Count("decrypt"), s.Requests())
	}
	s.SetSealed(true)
	if status, out := call(t, s, "PUT", "/v1/empty/decrypt/new", s.Token, `{}`); status != 503 || firstError(out) != "Vault is sealed" {
		t.Errorf("sealed: %d %v", status, out)
	}
}

func TestEnviron(t *testing.T) {
	s := StartTLS(t)
	t.Setenv("SOPS_AGE_RECIPIENTS", "age1xyz")
	t.Setenv("VAULT_NAMESPACE", "elsewhere")
	env := strings.Join(s.Environ(), "\n") + "\n"
	for _, want := range []string{"VAULT_ADDR=" + s.Address + "\n", "VAULT_TOKEN=" + s.Token + "\n", "VAULT_CACERT=" + s.CACertFile + "\n", "SSL_CERT_FILE=" + s.CACertFile + "\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("no %q", want)
		}
	}
	for _, not := range []string{"SOPS_AGE_RECIPIENTS", "VAULT_NAMESPACE", "VAULT_AGENT_ADDR"} {
		if strings.Contains(env, not) {
			t.Errorf("%s leaks through", not)
		}
	}
}
