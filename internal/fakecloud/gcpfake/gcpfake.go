// Package gcpfake is a fake Google Cloud KMS for tests, since Google ships
// no emulator for it. It serves the KeyManagementService Encrypt and
// Decrypt calls both as gRPC and as the REST/JSON API, on one loopback
// port over TLS with a self-signed certificate, so that kura-kms and the
// real sops binary can be pointed at it through the environment alone
// (Server.Env).
//
// Each crypto key the test creates (AddKey) gets a random AES-256-GCM key
// per key version. A ciphertext carries the random id of the version that
// made it, so Decrypt under another key fails with InvalidArgument, as
// Cloud KMS does. Callers authenticate with a bearer token: Token is
// accepted, NoAccessToken is known but denied (PermissionDenied), anything
// else is Unauthenticated; JWTs signed by the service account of
// CredentialsJSON are accepted too. Keys can be rotated, disabled
// (FailedPrecondition) and made to fail (FailNext); ClosedEndpoint and
// SilentEndpoint stand for a service that is down or hangs.
package gcpfake

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Server is a running fake Cloud KMS. It stops when the test ends.
type Server struct {
	// Endpoint is the host:port of the service, as SOPS_GCP_KMS_ENDPOINT
	// takes it. gRPC and REST (HTTPS with JSON) share it.
	Endpoint string
	// CertFile is the PEM file of the server's self-signed certificate,
	// valid for 127.0.0.1, ::1 and localhost.
	CertFile string
	// Token is a bearer token the server accepts for every key.
	Token string
	// NoAccessToken is a bearer token the server recognises but that may
	// use no key: calls with it fail with PermissionDenied.
	NoAccessToken string
	// MetadataHost is the host:port of a plain-HTTP server that answers
	// every request with 404, like the metadata server of a GCE instance
	// with no service account. Env points GCE_METADATA_HOST at it, so that
	// Application Default Credentials never probe the network and find no
	// credentials there.
	MetadataHost string

	t       testing.TB
	dir     string
	certPEM []byte
	grpc    *grpc.Server
	https   *http.Server

	mu    sync.Mutex
	keys  map[string]*cryptoKey
	conns int
	calls int
	fail  []codes.Code // injected failures, first one next
	sa    *serviceAccount
}

type cryptoKey struct {
	name     string
	versions []*keyVersion // the last one is the primary
}

type keyVersion struct {
	name    string
	id      [versionIDSize]byte
	aead    cipher.AEAD
	enabled bool
}

func (k *cryptoKey) primary() *keyVersion { return k.versions[len(k.versions)-1] }

const (
	versionIDSize = 16
	nonceSize     = 12
	tagSize       = 16
	// maxPlaintext is Cloud KMS's limit on Encrypt.
	maxPlaintext = 64 * 1024
)

var keyName = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

// Start runs a fake Cloud KMS on a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:             t,
		dir:           t.TempDir(),
		Token:         "fake-gcp-token-" + randomHex(16),
		NoAccessToken: "fake-gcp-no-access-" + randomHex(16),
		keys:          map[string]*cryptoKey{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gcpfake: %v", err)
	}
	s.Endpoint = ln.Addr().String()

	cert, certPEM, err := selfSignedCert()
	if err != nil {
		ln.Close()
		t.Fatalf("gcpfake: %v", err)
	}
	s.certPEM = certPEM
	s.CertFile = filepath.Join(s.dir, "cert.pem")
	if err := os.WriteFile(s.CertFile, certPEM, 0o644); err != nil {
		ln.Close()
		t.Fatalf("gcpfake: %v", err)
	}
	// CLOUDSDK_CONFIG points at this empty directory, so that no gcloud
	// credentials of the person running the tests are found.
	if err := os.Mkdir(filepath.Join(s.dir, "gcloud"), 0o700); err != nil {
		ln.Close()
		t.Fatalf("gcpfake: %v", err)
	}

	s.grpc = grpc.NewServer()
	kmspb.RegisterKeyManagementServiceServer(s.grpc, &grpcService{s: s})
	s.https = &http.Server{
		Handler:           s,
		TLSConfig:         serverTLS(cert),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.mu.Lock()
				s.conns++
				s.mu.Unlock()
			}
		},
	}
	go s.https.ServeTLS(ln, "", "")

	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.https.Close()
		t.Fatalf("gcpfake: %v", err)
	}
	s.MetadataHost = mln.Addr().String()
	meta := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not found", http.StatusNotFound)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go meta.Serve(mln)

	t.Cleanup(func() {
		s.https.Close()
		meta.Close()
		s.grpc.Stop()
	})
	return s
}

// Close stops the server before the test ends.
func (s *Server) Close() {
	s.https.Close()
	s.grpc.Stop()
}

// Env returns the environment that points a client at the server with
// gRPC: kura-kms and sops 3.13.2 alike. Append it to os.Environ(): later
// entries win. It clears the other Google credential variables so that
// nothing of the caller's own environment is used, and keeps Application
// Default Credentials on loopback.
func (s *Server) Env() []string {
	return []string{
		"SOPS_GCP_KMS_ENDPOINT=" + s.Endpoint,
		"SOPS_GCP_KMS_UNIVERSE_DOMAIN=",
		"SOPS_GCP_KMS_CLIENT_TYPE=grpc",
		"GOOGLE_OAUTH_ACCESS_TOKEN=" + s.Token,
		"GOOGLE_CREDENTIALS=",
		"GOOGLE_APPLICATION_CREDENTIALS=",
		"GOOGLE_CLOUD_UNIVERSE_DOMAIN=",
		"CLOUDSDK_CONFIG=" + filepath.Join(s.dir, "gcloud"),
		"GCE_METADATA_HOST=" + s.MetadataHost,
		"GOOGLE_API_USE_CLIENT_CERTIFICATE=false",
		"GOOGLE_API_USE_MTLS_ENDPOINT=never",
		"SSL_CERT_FILE=" + s.CertFile,
	}
}

// EnvREST is Env with SOPS_GCP_KMS_CLIENT_TYPE=rest: the client speaks
// the REST/JSON API to the same endpoint.
func (s *Server) EnvREST() []string {
	return append(s.Env(), "SOPS_GCP_KMS_CLIENT_TYPE=rest")
}

// AddKey creates a symmetric crypto key with one enabled version.
func (s *Server) AddKey(resourceID string) {
	s.t.Helper()
	if !keyName.MatchString(resourceID) {
		s.t.Fatalf("gcpfake: %q is not a crypto key resource ID", resourceID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[resourceID] != nil {
		s.t.Fatalf("gcpfake: key %s exists already", resourceID)
	}
	k := &cryptoKey{name: resourceID}
	k.versions = append(k.versions, newVersion(k, 1))
	s.keys[resourceID] = k
}

// RotateKey adds a new primary version to a key. Older versions still
// decrypt.
func (s *Server) RotateKey(resourceID string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.mustKey(resourceID)
	k.versions = append(k.versions, newVersion(k, len(k.versions)+1))
}

// DisableKey disables every version of a key: Encrypt and Decrypt then
// fail with FailedPrecondition.
func (s *Server) DisableKey(resourceID string) { s.setEnabled(resourceID, false) }

// EnableKey enables every version of a key again.
func (s *Server) EnableKey(resourceID string) { s.setEnabled(resourceID, true) }

func (s *Server) setEnabled(resourceID string, on bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.mustKey(resourceID).versions {
		v.enabled = on
	}
}

func (s *Server) mustKey(resourceID string) *cryptoKey {
	s.t.Helper()
	k := s.keys[resourceID]
	if k == nil {
		s.t.Fatalf("gcpfake: no key %s", resourceID)
	}
	return k
}

// FailNext makes the next n Encrypt or Decrypt calls that pass
// authentication fail with code, as an overloaded or broken service would.
func (s *Server) FailNext(n int, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, code)
	}
}

// injected returns the next injected failure, if any. s.mu is held.
func (s *Server) injected() error {
	if len(s.fail) == 0 {
		return nil
	}
	c := s.fail[0]
	s.fail = s.fail[1:]
	return status.Errorf(c, "gcpfake: injected failure (%s)", c)
}

// Connections is the number of connections the server has accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Calls is the number of Encrypt and Decrypt calls the server has
// answered, failed ones included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func newVersion(k *cryptoKey, n int) *keyVersion {
	secret := make([]byte, 32)
	rand.Read(secret)
	block, err := aes.NewCipher(secret)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	v := &keyVersion{name: fmt.Sprintf("%s/cryptoKeyVersions/%d", k.name, n), aead: aead, enabled: true}
	rand.Read(v.id[:])
	return v
}

// encrypt and decrypt implement the calls for both APIs. authz is the
// Authorization header; errors are gRPC statuses.
func (s *Server) encrypt(authz string, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.check(authz, req.GetName(), "useToEncrypt"); err != nil {
		return nil, err
	}
	if err := s.injected(); err != nil {
		return nil, err
	}
	k := s.keys[req.GetName()]
	if k == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", req.GetName())
	}
	pt := req.GetPlaintext()
	if len(pt) == 0 {
		return nil, status.Error(codes.InvalidArgument, "plaintext is required.")
	}
	if len(pt) > maxPlaintext {
		return nil, status.Errorf(codes.InvalidArgument, "The plaintext must be at most %d bytes.", maxPlaintext)
	}
	if c := req.GetPlaintextCrc32C(); c != nil && c.GetValue() != checksum(pt) {
		return nil, status.Error(codes.InvalidArgument, "The checksum in field plaintext_crc32c did not match the data in field plaintext.")
	}
	v := k.primary()
	if !v.enabled {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: DISABLED.", v.name)
	}
	nonce := make([]byte, nonceSize)
	rand.Read(nonce)
	ct := append(append(v.id[:], nonce...), v.aead.Seal(nil, nonce, pt, []byte(k.name))...)
	return &kmspb.EncryptResponse{
		Name:                    v.name,
		Ciphertext:              ct,
		CiphertextCrc32C:        wrapperspb.Int64(checksum(ct)),
		VerifiedPlaintextCrc32C: req.GetPlaintextCrc32C() != nil,
		ProtectionLevel:         kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}

func (s *Server) decrypt(authz string, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := s.check(authz, req.GetName(), "useToDecrypt"); err != nil {
		return nil, err
	}
	if err := s.injected(); err != nil {
		return nil, err
	}
	k := s.keys[req.GetName()]
	if k == nil {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", req.GetName())
	}
	ct := req.GetCiphertext()
	if c := req.GetCiphertextCrc32C(); c != nil && c.GetValue() != checksum(ct) {
		return nil, status.Error(codes.InvalidArgument, "The checksum in field ciphertext_crc32c did not match the data in field ciphertext.")
	}
	if len(ct) < versionIDSize+nonceSize+tagSize {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	var v *keyVersion
	for _, kv := range k.versions {
		if string(kv.id[:]) == string(ct[:versionIDSize]) {
			v = kv
		}
	}
	if v == nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: verify that 'name' refers to the correct CryptoKey.")
	}
	if !v.enabled {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: DISABLED.", v.name)
	}
	nonce := ct[versionIDSize : versionIDSize+nonceSize]
	pt, err := v.aead.Open(nil, nonce, ct[versionIDSize+nonceSize:], []byte(k.name))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
	}
	return &kmspb.DecryptResponse{
		Plaintext:       pt,
		PlaintextCrc32C: wrapperspb.Int64(checksum(pt)),
		UsedPrimary:     v == k.primary(),
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}

// check authenticates the caller and validates the key name. s.mu is held.
func (s *Server) check(authz, name, permission string) error {
	scheme, tok, _ := strings.Cut(authz, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return status.Error(codes.Unauthenticated, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	switch {
	case tok == s.Token || s.validJWT(tok):
	case tok == s.NoAccessToken:
		return status.Errorf(codes.PermissionDenied, "Permission 'cloudkms.cryptoKeyVersions.%s' denied on resource '%s' (or it may not exist).", permission, name)
	default:
		return status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	if !keyName.MatchString(name) {
		return status.Errorf(codes.InvalidArgument, "Resource name [%s] does not match any known type.", name)
	}
	return nil
}

func checksum(b []byte) int64 {
	return int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

// grpcService is the gRPC face of the server.
type grpcService struct {
	kmspb.UnimplementedKeyManagementServiceServer
	s *Server
}

func authorization(md metadata.MD) string {
	if v := md.Get("authorization"); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (g *grpcService) Encrypt(ctx context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return g.s.encrypt(authorization(md), req)
}

func (g *grpcService) Decrypt(ctx context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	return g.s.decrypt(authorization(md), req)
}

// ClosedEndpoint returns a loopback host:port where nothing listens:
// connections to it are refused.
func ClosedEndpoint(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gcpfake: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// SilentEndpoint returns a loopback host:port that accepts connections
// and never answers, until the test ends.
func SilentEndpoint(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gcpfake: %v", err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
