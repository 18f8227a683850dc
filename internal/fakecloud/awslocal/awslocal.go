// Package awslocal runs a local AWS KMS for tests: local-kms
// (github.com/nsmithuk/local-kms, a KMS emulator doing real AES-GCM), seeded
// with known keys, behind a front that checks AWS Signature Version 4 as
// real KMS does, plus a small fake STS that answers AssumeRole. Everything
// listens on the loopback interface and is stopped when the test ends.
//
// Env gives the environment that points the AWS SDK (kura-kms, and the sops
// binary) at these servers and nowhere else.
package awslocal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/sigv4"
)

// Version is the local-kms version CI installs:
//
//	go install github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
const Version = "v0.0.0-20260228092603-2a5e92d09ab6"

// The account and region of every seeded key.
const (
	Region  = "eu-west-1"
	Account = "111122223333"
)

// Ids of the seeded keys. Their key material is fixed, so a ciphertext made
// by one run decrypts in another.
const (
	KeyID                = "0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c01" // symmetric, target of the alias
	OtherKeyID           = "0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c02" // symmetric
	DisabledKeyID        = "0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c03" // symmetric, disabled at start
	PendingDeletionKeyID = "0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c04" // symmetric, scheduled for deletion at start
	MissingKeyID         = "0b5e9c2e-7d1f-4a36-9c1e-6f1d2a8b4c99" // not seeded
	AliasName            = "alias/kura-test"                      // points at KeyID
)

// Static credentials for tests. The front accepts only credentials it
// knows: these, those added with AddCredentials and those the fake STS
// hands out.
const (
	AccessKeyID     = "AKIAKURATESTSTATIC01"
	SecretAccessKey = "kura-test-static-secret-0000000000000000"
)

// Roles the fake STS knows: it refuses DeniedRole with AccessDenied and
// lets any other well-formed role ARN be assumed.
const (
	Role       = "arn:aws:iam::" + Account + ":role/kura-test"
	DeniedRole = "arn:aws:iam::" + Account + ":role/kura-denied"
)

// ARN returns the ARN of a key id or alias name ("alias/NAME") in the
// seeded account and region.
func ARN(idOrAlias string) string {
	if strings.HasPrefix(idOrAlias, "alias/") {
		return "arn:aws:kms:" + Region + ":" + Account + ":" + idOrAlias
	}
	return "arn:aws:kms:" + Region + ":" + Account + ":key/" + idOrAlias
}

// Server is a running local KMS and fake STS.
type Server struct {
	// Endpoint is the KMS endpoint, http://127.0.0.1:PORT: the signature
	// checking front of local-kms.
	Endpoint string
	// STSEndpoint answers AssumeRole.
	STSEndpoint string
	// Elsewhere answers every other AWS service with 403 and records the
	// request (see Unexpected); Env points AWS_ENDPOINT_URL at it.
	Elsewhere string

	// ARNs of the seeded keys.
	KeyARN, OtherKeyARN, DisabledKeyARN, PendingDeletionKeyARN, MissingKeyARN, AliasARN string // see the Id constants

	awsDir  string
	backend string // local-kms itself, for setup calls

	mu         sync.Mutex
	creds      map[string]credential
	kmsCalls   []KMSCall
	roleCalls  []AssumeRoleCall
	unexpected []string
}

type credential = sigv4.Credential

// KMSCall is one request the KMS front let through to local-kms.
type KMSCall struct {
	Operation         string // Encrypt, Decrypt...
	AccessKeyID       string // who signed it
	Region            string // the region in the signature's scope
	SessionToken      bool   // whether it carried a session token
	KeyID             string // the KeyId field, if any
	EncryptionContext map[string]string
}

// AssumeRoleCall is one AssumeRole request the fake STS answered.
type AssumeRoleCall struct {
	RoleArn, RoleSessionName string
	AccessKeyID              string // who signed it
	Region                   string // the region in the signature's scope
	Granted                  bool
	IssuedAccessKeyID        string // the temporary key handed out, if granted
}

// Start runs local-kms for the test and stops it when the test ends. It
// skips the test when local-kms is not installed, unless $CI is set, where
// it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := LookTool("local-kms")
	if bin == "" {
		msg := "local-kms is not installed: go install github.com/nsmithuk/local-kms@" + Version
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &Server{
		KeyARN:                ARN(KeyID),
		OtherKeyARN:           ARN(OtherKeyID),
		DisabledKeyARN:        ARN(DisabledKeyID),
		PendingDeletionKeyARN: ARN(PendingDeletionKeyID),
		MissingKeyARN:         ARN(MissingKeyID),
		AliasARN:              ARN(AliasName),
		awsDir:                filepath.Join(dir, "aws"),
		creds:                 map[string]credential{AccessKeyID: {SecretAccessKey: SecretAccessKey}},
	}
	if err := os.MkdirAll(s.awsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config", "credentials"} {
		if err := os.WriteFile(filepath.Join(s.awsDir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	seed := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seed, []byte(seedYAML), 0o600); err != nil {
		t.Fatal(err)
	}

	port, stop, logs, err := runLocalKMS(bin, seed, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatalf("starting local-kms: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("local-kms log:\n%s", logs.tail(4096))
		}
	})
	s.backend = "http://127.0.0.1:" + port
	if err := s.waitReady(10 * time.Second); err != nil {
		t.Fatalf("local-kms did not answer: %v\n%s", err, logs.tail(4096))
	}
	if err := s.backendCall("DisableKey", map[string]string{"KeyId": s.DisabledKeyARN}); err != nil {
		t.Fatalf("disabling the test key: %v", err)
	}
	if err := s.backendCall("ScheduleKeyDeletion", map[string]any{"KeyId": s.PendingDeletionKeyARN, "PendingWindowInDays": 7}); err != nil {
		t.Fatalf("scheduling the deletion of the test key: %v", err)
	}

	kms := httptest.NewServer(s.kmsFront())
	t.Cleanup(kms.Close)
	sts := httptest.NewServer(http.HandlerFunc(s.serveSTS))
	t.Cleanup(sts.Close)
	other := httptest.NewServer(http.HandlerFunc(s.serveElsewhere))
	t.Cleanup(other.Close)
	s.Endpoint, s.STSEndpoint, s.Elsewhere = kms.URL, sts.URL, other.URL
	return s
}

// Env is the environment that sends the AWS SDK (Go SDK v2, as in
// kura-kms and sops) to this server with the static test credentials, and
// keeps it off the network and away from the user's own AWS settings. Later
// entries of an exec.Cmd's Env win, so append it to os.Environ().
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL_KMS=" + s.Endpoint,
		"AWS_ENDPOINT_URL_STS=" + s.STSEndpoint,
		"AWS_ENDPOINT_URL=" + s.Elsewhere,
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_SECURITY_TOKEN=",
		"AWS_PROFILE=",
		"AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(s.awsDir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.awsDir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + s.Elsewhere,
		"AWS_ROLE_ARN=",
		"AWS_WEB_IDENTITY_TOKEN_FILE=",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=",
		"AWS_CA_BUNDLE=",
		"AWS_USE_FIPS_ENDPOINT=",
		"AWS_USE_DUALSTACK_ENDPOINT=",
		"SOPS_DISABLE_VERSION_CHECK=true",
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	}
}

// AddCredentials makes the front and the fake STS accept another access
// key, such as one written in a test's shared credentials file.
func (s *Server) AddCredentials(accessKeyID, secretAccessKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creds[accessKeyID] = credential{SecretAccessKey: secretAccessKey}
}

// AddAlias creates an alias ("alias/NAME") for a seeded key id, for tests
// whose key ARNs are written in advance, such as the documentation's.
func (s *Server) AddAlias(alias, keyID string) error {
	return s.backendCall("CreateAlias", map[string]string{"AliasName": alias, "TargetKeyId": keyID})
}

// KMSCalls returns the KMS requests let through so far.
func (s *Server) KMSCalls() []KMSCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]KMSCall(nil), s.kmsCalls...)
}

// AssumeRoleCalls returns the AssumeRole requests answered so far.
func (s *Server) AssumeRoleCalls() []AssumeRoleCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AssumeRoleCall(nil), s.roleCalls...)
}

// Unexpected returns the requests that went to neither KMS nor STS
// ("METHOD URL X-Amz-Target").
func (s *Server) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

func (s *Server) lookup(id string) (credential, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.creds[id]
	return c, ok
}

// kmsFront checks each request's signature, records it and passes it to
// local-kms, which checks none.
func (s *Server) kmsFront() http.Handler {
	backend, _ := url.Parse(s.backend)
	proxy := httputil.NewSingleHostReverseProxy(backend)
	proxy.Transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 10 * time.Second,
		Proxy:                 nil,
	}
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		kmsError(w, "KMSInternalException", "local-kms failed: "+err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		sig, fail := sigv4.Verify(r, body, "kms", s.lookup)
		switch fail {
		case sigv4.Missing:
			kmsError(w, "MissingAuthenticationTokenException", "Missing Authentication Token")
			return
		case sigv4.UnknownKey, sigv4.BadToken:
			kmsError(w, "UnrecognizedClientException", "The security token included in the request is invalid.")
			return
		case sigv4.BadSignature, sigv4.BadScope:
			kmsError(w, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
			return
		}
		var fields struct {
			KeyId             string
			EncryptionContext map[string]string
		}
		json.Unmarshal(body, &fields)
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		s.mu.Lock()
		s.kmsCalls = append(s.kmsCalls, KMSCall{
			Operation: op, AccessKeyID: sig.AccessKeyID, Region: sig.Region,
			SessionToken: r.Header.Get("X-Amz-Security-Token") != "",
			KeyID:        fields.KeyId, EncryptionContext: fields.EncryptionContext,
		})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	})
}

func kmsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (s *Server) serveElsewhere(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.unexpected = append(s.unexpected, strings.TrimSpace(r.Method+" "+r.URL.String()+" "+r.Header.Get("X-Amz-Target")))
	s.mu.Unlock()
	http.Error(w, "kura tests: no AWS service other than KMS and STS is reachable", http.StatusForbidden)
}

// backendCall sends an unsigned request to local-kms itself.
func (s *Server) backendCall(op string, body any) error {
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.backend+"/", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+op)
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", op, resp.Status, out)
	}
	return nil
}

var loopbackClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := s.backendCall("ListKeys", map[string]any{})
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LookTool finds a test tool's executable on PATH, then where go install
// puts it ($GOBIN, $GOPATH/bin). It returns "" when there is none.
func LookTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var dirs []string
	if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
		dirs = append(dirs, strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		for _, gp := range filepath.SplitList(strings.TrimSpace(lines[1])) {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

var startedRE = regexp.MustCompile(`Local KMS started on [^ ]*:(\d+)`)

// runLocalKMS starts local-kms on a port the kernel picks and returns the
// port once it listens. local-kms cannot be told which interface to bind
// (it listens on all of them); everything here talks to it through the
// loopback address.
func runLocalKMS(bin, seed, data string) (port string, stop func(), logs *logBuffer, err error) {
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"PORT=0",
		"KMS_REGION="+Region,
		"KMS_ACCOUNT_ID="+Account,
		"KMS_SEED_PATH="+seed,
		"KMS_DATA_PATH="+data,
	)
	logs = &logBuffer{}
	cmd.Stdout = logs
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	exited := make(chan struct{})
	stop = func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if m := startedRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pipe)
		cmd.Wait()
		close(exited)
	}()
	select {
	case port = <-found:
		return port, stop, logs, nil
	case <-exited:
		return "", nil, nil, fmt.Errorf("local-kms exited:\n%s", logs.tail(4096))
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, nil, fmt.Errorf("local-kms did not report its port:\n%s", logs.tail(4096))
	}
}

// logBuffer collects a process's output for failure reports.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// seedYAML creates the test keys. The backing keys are test values only.
const seedYAML = `Keys:
  Symmetric:
    Aes:
      - Metadata:
          KeyId: ` + KeyID + `
          Description: kura test key
        BackingKeys:
          - 6b7572612d746573742d6b65792d312d6d6174657269616c2d30303030303030
      - Metadata:
          KeyId: ` + OtherKeyID + `
          Description: kura other test key
        BackingKeys:
          - 6b7572612d746573742d6b65792d322d6d6174657269616c2d30303030303030
      - Metadata:
          KeyId: ` + DisabledKeyID + `
          Description: kura disabled test key
        BackingKeys:
          - 6b7572612d746573742d6b65792d332d6d6174657269616c2d30303030303030
      - Metadata:
          KeyId: ` + PendingDeletionKeyID + `
          Description: kura test key pending deletion
        BackingKeys:
          - 6b7572612d746573742d6b65792d342d6d6174657269616c2d30303030303030
Aliases:
  - AliasName: ` + AliasName + `
    TargetKeyId: ` + KeyID + `
`
