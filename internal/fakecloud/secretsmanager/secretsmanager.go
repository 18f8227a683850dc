// Package secretsmanager is an AWS Secrets Manager for tests: CreateSecret,
// PutSecretValue, GetSecretValue and DescribeSecret in the AWS JSON 1.1
// protocol (POST / with X-Amz-Target: secretsmanager.OPERATION) over plain
// HTTP on the loopback interface. Every request must carry an AWS
// Signature Version 4 Authorization header, signed for the service
// "secretsmanager" with a known access key; the signature is checked as
// AWS checks it. Secrets are kept in memory, every version of them, and
// Get shows what was written.
package secretsmanager

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/sigv4"
)

// The account and region of every secret, and the credentials the server
// accepts.
const (
	Region          = "eu-west-1"
	Account         = "111122223333"
	AccessKeyID     = "AKIAKURASMTEST000001"
	SecretAccessKey = "kura-sm-test-secret-000000000000000000000"
)

// Server is a running fake Secrets Manager.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_SECRETS_MANAGER.
	Endpoint string

	srv *httptest.Server
	dir string // empty AWS config and credentials files live here

	mu      sync.Mutex
	creds   map[string]string // access key id -> secret
	secrets map[string]*secret
	calls   []Call
}

type secret struct {
	name, arn string
	created   time.Time
	versions  []version
}

type version struct {
	id, value string
}

// Call is one request the server answered.
type Call struct {
	Operation   string // CreateSecret, PutSecretValue...
	AccessKeyID string // who signed it ("" when unsigned)
	Status      int
}

// New starts a server; Close stops it.
func New() (*Server, error) {
	dir, err := os.MkdirTemp("", "kura-smfake-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, creds: map[string]string{AccessKeyID: SecretAccessKey}, secrets: map[string]*secret{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Config.ReadHeaderTimeout = 5 * time.Second
	srv.Config.ReadTimeout = 10 * time.Second
	srv.Config.WriteTimeout = 10 * time.Second
	srv.Config.IdleTimeout = 10 * time.Second
	srv.Start()
	s.srv, s.Endpoint = srv, srv.URL
	return s, nil
}

// Start runs New for a test and stops the server when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := New()
	if err != nil {
		t.Fatalf("secretsmanager fake: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.Close()
	os.RemoveAll(s.dir)
}

// Env is the environment that sends the AWS SDK to this server with the
// static test credentials, and keeps it off the network and away from the
// user's own AWS settings. Every other AWS service is sent here too, where
// it fails.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.Endpoint,
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_SECURITY_TOKEN=",
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(s.dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ROLE_ARN=",
		"AWS_WEB_IDENTITY_TOKEN_FILE=",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
		"AWS_CA_BUNDLE=",
		"AWS_USE_FIPS_ENDPOINT=",
		"AWS_USE_DUALSTACK_ENDPOINT=",
		"AWS_MAX_ATTEMPTS=1",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// Get returns the secret string of the current version of a secret, by
// name or ARN, and the number of versions.
func (s *Server) Get(nameOrARN string) (string, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.find(nameOrARN)
	if sec == nil {
		return "", 0, false
	}
	return sec.versions[len(sec.versions)-1].value, len(sec.versions), true
}

// Calls returns the requests answered so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Writes is the number of successful CreateSecret and PutSecretValue
// calls.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Status == http.StatusOK && (c.Operation == "CreateSecret" || c.Operation == "PutSecretValue") {
			n++
		}
	}
	return n
}

func (s *Server) find(id string) *secret {
	if sec, ok := s.secrets[id]; ok {
		return sec
	}
	for _, sec := range s.secrets {
		if sec.arn == id {
			return sec
		}
	}
	return nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	call := Call{Operation: op}
	defer func() {
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()
	fail := func(status int, code, msg string) {
		call.Status = status
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		fail(http.StatusBadRequest, "SerializationException", "could not read the request")
		return
	}
	keyID, problem := s.verify(r, body)
	call.AccessKeyID = keyID
	switch problem {
	case "":
	case "missing":
		fail(http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	case "unknown":
		fail(http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	default:
		fail(http.StatusBadRequest, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.") {
		fail(http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", "the request body is not JSON")
		return
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := func(v map[string]any) {
		call.Status = http.StatusOK
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(v)
	}
	switch op {
	case "CreateSecret":
		name := str("Name")
		if !validName.MatchString(name) {
			fail(http.StatusBadRequest, "ValidationException", "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
			return
		}
		if s.secrets[name] != nil {
			fail(http.StatusBadRequest, "ResourceExistsException", "The operation failed because the secret "+name+" already exists.")
			return
		}
		sec := &secret{name: name, arn: "arn:aws:secretsmanager:" + Region + ":" + Account + ":secret:" + name + "-" + randomAlnum(6), created: time.Now()}
		s.secrets[name] = sec
		out := map[string]any{"ARN": sec.arn, "Name": name}
		if v, has := in["SecretString"].(string); has {
			id := versionID(str("ClientRequestToken"))
			sec.versions = append(sec.versions, version{id: id, value: v})
			out["VersionId"] = id
		}
		ok(out)
	case "PutSecretValue":
		sec := s.find(str("SecretId"))
		if sec == nil {
			fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		v, has := in["SecretString"].(string)
		if !has {
			fail(http.StatusBadRequest, "InvalidRequestException", "You must provide either SecretString or SecretBinary.")
			return
		}
		id := versionID(str("ClientRequestToken"))
		sec.versions = append(sec.versions, version{id: id, value: v})
		ok(map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": id, "VersionStages": []string{"AWSCURRENT"}})
	case "GetSecretValue":
		sec := s.find(str("SecretId"))
		if sec == nil || len(sec.versions) == 0 {
			fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		v := sec.versions[len(sec.versions)-1]
		ok(map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "SecretString": v.value,
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": float64(sec.created.Unix())})
	case "DescribeSecret":
		sec := s.find(str("SecretId"))
		if sec == nil {
			fail(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		stages := map[string][]string{}
		if len(sec.versions) > 0 {
			stages[sec.versions[len(sec.versions)-1].id] = []string{"AWSCURRENT"}
		}
		ok(map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionIdsToStages": stages, "CreatedDate": float64(sec.created.Unix())})
	default:
		fail(http.StatusBadRequest, "UnknownOperationException", "")
	}
}

var validName = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)

func versionID(token string) string {
	if token != "" {
		return token
	}
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// verify checks the request's AWS Signature Version 4. It returns the
// access key id and "" when the signature is right, or what is wrong:
// "missing", "unknown" (key), "scope" or "signature". The fake gives no
// session tokens, so any token a client sends is taken as it is.
func (s *Server) verify(r *http.Request, body []byte) (string, string) {
	signed, fail := sigv4.Verify(r, body, "secretsmanager", func(id string) (sigv4.Credential, bool) {
		s.mu.Lock()
		secretKey, known := s.creds[id]
		s.mu.Unlock()
		return sigv4.Credential{SecretAccessKey: secretKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}, known
	})
	switch fail {
	case sigv4.OK:
		return signed.AccessKeyID, ""
	case sigv4.Missing:
		return "", "missing"
	case sigv4.UnknownKey:
		return signed.AccessKeyID, "unknown"
	case sigv4.BadScope:
		return signed.AccessKeyID, "scope"
	}
	return signed.AccessKeyID, "signature"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func randomAlnum(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// String describes the server for logs.
func (s *Server) String() string { return fmt.Sprintf("fake Secrets Manager at %s", s.Endpoint) }
