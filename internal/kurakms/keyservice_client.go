package kurakms

// The forwarder: kura --keyservice URI sends its wrap and unwrap requests
// here with the URI (kmsproto.Request.KeyService), and this file makes the
// gRPC call to the key service, a `sops keyservice` or a
// `kura keyservice`.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/keyservice"
	"github.com/kura-secrets/kura/pkg/keys/keyservice/forward"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// The client's TLS settings, for TCP key services that require mutual
// TLS (a kura keyservice with --tls-client-ca).
const (
	envClientCert = "KURA_KEYSERVICE_TLS_CERT" // client certificate, PEM
	envClientKey  = "KURA_KEYSERVICE_TLS_KEY"  // its private key, PEM
	envClientCA   = "KURA_KEYSERVICE_TLS_CA"   // CA certificates that verify the server, PEM
)

// forwarder is the kmsproto.Provider registered under
// kmsproto.KeyServiceType.
type forwarder struct {
	getenv func(string) string
	stderr io.Writer

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	warn  map[string]bool
}

func newForwarder(getenv func(string) string, stderr io.Writer) *forwarder {
	return &forwarder{getenv: getenv, stderr: stderr, conns: map[string]*grpc.ClientConn{}, warn: map[string]bool{}}
}

// client returns a client for the request's key service, connecting on
// first use. gRPC connects lazily and fails fast: a service that is not
// there fails the call at once.
func (f *forwarder) client(ctx context.Context) (*keyservice.Client, string, error) {
	raw := kmsproto.KeyServiceOf(ctx)
	if raw == "" {
		return nil, "", kmsproto.Errorf(kmsproto.Invalid, "the request names no key service")
	}
	u, err := forward.ParseURI(raw)
	if err != nil {
		return nil, raw, kmsproto.Errorf(kmsproto.Invalid, "%v", err)
	}
	name := u.String()
	f.mu.Lock()
	defer f.mu.Unlock()
	if cc, ok := f.conns[name]; ok {
		return keyservice.NewClient(cc), name, nil
	}
	creds, err := f.credentials(u)
	if err != nil {
		return nil, name, kmsproto.Errorf(kmsproto.Invalid, "key service %s: %v", name, err)
	}
	var cc *grpc.ClientConn
	if u.Network == "unix" {
		cc, err = grpc.NewClient("unix://"+u.Address, grpc.WithTransportCredentials(creds))
	} else {
		network := u.Network
		cc, err = grpc.NewClient("passthrough:///"+u.Address, grpc.WithTransportCredentials(creds),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}))
	}
	if err != nil {
		return nil, name, kmsproto.Errorf(kmsproto.Invalid, "key service %s: %v", name, err)
	}
	f.conns[name] = cc
	return keyservice.NewClient(cc), name, nil
}

// credentials returns TLS credentials for a TCP service when
// KURA_KEYSERVICE_TLS_CA or KURA_KEYSERVICE_TLS_CERT is set, and none
// otherwise (a Unix socket, or sops's own server, which has no TLS).
func (f *forwarder) credentials(u forward.URI) (credentials.TransportCredentials, error) {
	certFile, keyFile, caFile := f.getenv(envClientCert), f.getenv(envClientKey), f.getenv(envClientCA)
	if u.Network == "unix" || certFile == "" && keyFile == "" && caFile == "" {
		if u.Network != "unix" && !f.warn[u.Address] {
			f.warn[u.Address] = true
			if host, _, _ := net.SplitHostPort(u.Address); !isLoopback(host) {
				fmt.Fprintf(f.stderr, "kura: warning: key service %s: sending data keys over TCP without TLS (set %s, %s and %s for mutual TLS)\n", u, envClientCA, envClientCert, envClientKey)
			}
		}
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("set both %s and %s, or neither", envClientCert, envClientKey)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("the client certificate (%s, %s): %v", envClientCert, envClientKey, pathless(err))
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if caFile != "" {
		pool, err := loadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", envClientCA, err)
		}
		cfg.RootCAs = pool
	}
	return credentials.NewTLS(cfg), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loadPool reads PEM certificates into a pool.
func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, pathless(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// pathless keeps an *os.PathError's path and cause, in one short line.
func pathless(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", pe.Path, pe.Err)
	}
	return err
}

// Wrap asks the key service to encrypt payload with k.
func (f *forwarder) Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error) {
	c, name, err := f.client(ctx)
	if err != nil {
		return keys.Stanza{}, err
	}
	k.Enc, k.CreatedAt = "", ""
	resp, err := c.Encrypt(ctx, &keyservice.EncryptRequest{Key: k, Plaintext: payload})
	if err != nil {
		return keys.Stanza{}, keyservice.WireError(name, err)
	}
	if len(resp.Ciphertext) == 0 {
		return keys.Stanza{}, kmsproto.Errorf(kmsproto.Internal, "key service %s returned an empty ciphertext for %s", name, keyservice.KeyName(&k))
	}
	k.Enc = string(resp.Ciphertext)
	return k, nil
}

// Unwrap asks the key service to decrypt k.Enc.
func (f *forwarder) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	c, name, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	ct := []byte(k.Enc)
	k.Enc, k.CreatedAt = "", ""
	resp, err := c.Decrypt(ctx, &keyservice.DecryptRequest{Key: k, Ciphertext: ct})
	if err != nil {
		return nil, keyservice.WireError(name, err)
	}
	if len(resp.Plaintext) == 0 {
		return nil, kmsproto.Errorf(kmsproto.Internal, "key service %s returned an empty data key for %s", name, keyservice.KeyName(&k))
	}
	return resp.Plaintext, nil
}

// Close closes the connections.
func (f *forwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, cc := range f.conns {
		cc.Close()
		delete(f.conns, name)
	}
}
