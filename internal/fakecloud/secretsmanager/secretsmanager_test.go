package secretsmanager

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUnsigned checks that a request without a SigV4 signature is
// refused; the signed path is exercised through the AWS SDK by
// internal/kurakms's tests.
func TestUnsigned(t *testing.T) {
	s := Start(t)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %s is not on the loopback interface", s.Endpoint)
	}
	req, err := http.NewRequest("POST", s.Endpoint+"/", strings.NewReader(`{"Name":"a","SecretString":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+AccessKeyID+"/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00")
	c := &http.Client{Timeout: 5 * time.Second}
	for _, auth := range []string{"", req.Header.Get("Authorization")} {
		req.Header.Set("Authorization", auth)
		req.Body = http.NoBody
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") == "" {
			t.Errorf("auth %q: %d %s, want 400 with an error type", auth, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
	if _, _, ok := s.Get("a"); ok || s.Writes() != 0 {
		t.Error("an unsigned or badly signed request wrote a secret")
	}
}
