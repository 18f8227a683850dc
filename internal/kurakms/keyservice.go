package kurakms

// kura-kms keyservice: a sops-compatible gRPC key service (what `sops
// keyservice` serves), run by `kura keyservice`. It wraps and unwraps
// data keys with this machine's age identities, PGP keys and cloud
// credentials for clients that send it the key and the data. See
// docs/keyservice.md.

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/age"
	"github.com/kura-secrets/kura/pkg/keys/keyservice"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
	"github.com/kura-secrets/kura/pkg/keys/pgp"
)

const keyserviceUsage = `usage: kura keyservice [--network unix|tcp] [--address ADDR]
                       [--tls-cert FILE --tls-key FILE --tls-client-ca FILE]
                       [--address-file FILE]
       kura keyservice tls-init [--host NAMES] DIR

Serves sops's key service (the gRPC service of sops keyservice): clients
such as kura --keyservice URI or sops --keyservice URI send it a key and a
data key to wrap, or a wrapped data key to unwrap, and it does so with this
machine's age identities (SOPS_AGE_KEY_FILE, SOPS_AGE_KEY, keys.txt...),
PGP keys (gpg, KURA_PGP_KEY_FILE) and cloud credentials.

It listens on a Unix socket (mode 0600) by default. TCP is served only with
mutual TLS: the key service protocol has no authentication of its own.
Each request is logged on standard error (key, operation, outcome; never
key material). SIGINT or SIGTERM stops it.

flags:
`

// keyserviceOptions are the server's flags.
type keyserviceOptions struct {
	network, address, addressFile string
	tlsCert, tlsKey, tlsClientCA  string
}

// keyserviceMain runs kura-kms keyservice ARGS.
func keyserviceMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "tls-init" {
		return tlsInitMain(args[1:], stdout, stderr)
	}
	var o keyserviceOptions
	fs := flag.NewFlagSet("kura keyservice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), keyserviceUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.network, "network", "unix", "network to listen on: unix, or tcp (tcp4, tcp6) with mutual TLS")
	fs.StringVar(&o.network, "net", "unix", "same as --network (sops's short name)")
	fs.StringVar(&o.address, "address", "", "socket path, or host:port for TCP (default $XDG_RUNTIME_DIR/kura-keyservice.sock, or 127.0.0.1:5000 for TCP)")
	fs.StringVar(&o.address, "addr", "", "same as --address (sops's short name)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "server certificate, PEM (TCP)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the server certificate's private key, PEM (TCP)")
	fs.StringVar(&o.tlsClientCA, "tls-client-ca", "", "CA certificates, PEM, that client certificates must chain to (TCP)")
	fs.StringVar(&o.addressFile, "address-file", "", "once listening, write the key service URI (one line, no newline; useful with port 0) to this file; it is removed on exit")
	fs.SetOutput(stdout)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fs.SetOutput(stderr)
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kura keyservice: error: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	lis, uri, creds, err := o.listen()
	if err != nil {
		fmt.Fprintf(stderr, "kura keyservice: error: %v\n", err)
		return 2
	}
	logger := log.New(stderr, "kura keyservice: ", log.LstdFlags)
	return serveKeyservice(lis, uri, creds, o.addressFile, logger, stderr)
}

// listen checks the options and opens the listener.
func (o *keyserviceOptions) listen() (net.Listener, string, credentials.TransportCredentials, error) {
	anyTLS := o.tlsCert != "" || o.tlsKey != "" || o.tlsClientCA != ""
	switch o.network {
	case "unix":
		if anyTLS {
			return nil, "", nil, errors.New("--tls-cert, --tls-key and --tls-client-ca apply to --network tcp only; a Unix socket is protected by its file mode")
		}
		path := o.address
		if path == "" {
			var err error
			if path, err = defaultSocketPath(); err != nil {
				return nil, "", nil, err
			}
		}
		lis, err := listenUnix(path)
		if err != nil {
			return nil, "", nil, err
		}
		abs, _ := filepath.Abs(path)
		return lis, "unix://" + abs, nil, nil
	case "tcp", "tcp4", "tcp6":
		if o.tlsCert == "" || o.tlsKey == "" || o.tlsClientCA == "" {
			return nil, "", nil, errors.New("refusing to serve on TCP without mutual TLS: give --tls-cert, --tls-key and --tls-client-ca (the key service protocol has no authentication, so anyone who can connect could decrypt with your keys), or use a Unix socket")
		}
		cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
		if err != nil {
			return nil, "", nil, fmt.Errorf("--tls-cert/--tls-key: %v", pathless(err))
		}
		pool, err := loadPool(o.tlsClientCA)
		if err != nil {
			return nil, "", nil, fmt.Errorf("--tls-client-ca: %v", err)
		}
		cfg := &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    pool,
			MinVersion:   tls.VersionTLS12,
		}
		addr := o.address
		if addr == "" {
			addr = "127.0.0.1:5000" // sops's default
		}
		lis, err := net.Listen(o.network, addr)
		if err != nil {
			return nil, "", nil, err
		}
		return lis, o.network + "://" + lis.Addr().String(), credentials.NewTLS(cfg), nil
	}
	return nil, "", nil, fmt.Errorf("--network %q: want unix or tcp", o.network)
}

// defaultSocketPath is $XDG_RUNTIME_DIR/kura-keyservice.sock, or else
// kura-keyservice.sock in a directory of the temporary directory that
// only the user may enter.
func defaultSocketPath() (string, error) {
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "kura-keyservice.sock"), nil
	}
	user := strconv.Itoa(os.Getuid())
	if os.Getuid() < 0 {
		user = os.Getenv("USERNAME")
	}
	dir := filepath.Join(os.TempDir(), "kura-keyservice-"+user)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() || st.Mode().Perm()&0o077 != 0 || !ownedByMe(st) {
		return "", fmt.Errorf("%s is not a private directory of this user: give --address", dir)
	}
	return filepath.Join(dir, "kura-keyservice.sock"), nil
}

// listenUnix listens on a Unix socket that only the user may connect to.
// A socket file left by a server that is gone is replaced; one that a
// server still answers on is not.
func listenUnix(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("a key service is already listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, err
		}
	}
	lis, err := listenPrivate(path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		lis.Close()
		return nil, err
	}
	return lis, nil
}

// serveKeyservice serves until SIGINT or SIGTERM.
func serveKeyservice(lis net.Listener, uri string, creds credentials.TransportCredentials, addressFile string, logger *log.Logger, stderr io.Writer) int {
	h := newKeyserviceHandler(logger)
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := keyservice.NewServer(opts...)
	keyservice.Register(srv, h)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	stopped := make(chan os.Signal, 1)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		stopped <- sig
		done := make(chan struct{})
		go func() { srv.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Stop()
		}
	}()

	if addressFile != "" {
		if err := writeAtomic(addressFile, uri); err != nil {
			fmt.Fprintf(stderr, "kura keyservice: error: --address-file: %v\n", pathless(err))
			lis.Close()
			return 1
		}
		defer os.Remove(addressFile)
	}
	auth := "no authentication: the socket's mode (0600) lets only this user connect"
	if creds != nil {
		auth = "mutual TLS: clients need a certificate from --tls-client-ca"
	}
	logger.Printf("listening on %s (%s)", uri, auth)
	err := srv.Serve(lis)
	select {
	case sig := <-stopped:
		logger.Printf("stopped by %v", sig)
		return 0
	default:
	}
	if err != nil {
		fmt.Fprintf(stderr, "kura keyservice: error: %v\n", err)
		return 1
	}
	return 0
}

func writeAtomic(path, text string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// keyserviceHandler does the work of each request with this machine's
// key sources.
type keyserviceHandler struct {
	log     *log.Logger
	age     *age.Identities
	pgp     *pgp.Source
	cloud   map[keys.Type]kmsproto.Provider
	timeout time.Duration

	mu      sync.Mutex
	pgpRecs map[string]keys.Recipient
}

func newKeyserviceHandler(l *log.Logger) *keyserviceHandler {
	timeout := kmsproto.DefaultTimeout
	if v := os.Getenv("KURA_KMS_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	return &keyserviceHandler{
		log:     l,
		age:     age.NewIdentities(age.DefaultEnv()),
		pgp:     pgp.NewSource(pgp.DefaultEnv()),
		cloud:   Providers(),
		timeout: timeout,
		pgpRecs: map[string]keys.Recipient{},
	}
}

// Encrypt wraps the plaintext with the key.
func (h *keyserviceHandler) Encrypt(ctx context.Context, req *keyservice.EncryptRequest) (resp *keyservice.EncryptResponse, err error) {
	defer h.logRequest(ctx, "encrypt", &req.Key, &err)
	defer recoverPanic(&err)
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	if len(req.Plaintext) == 0 {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "no data key to encrypt")
	}
	k := req.Key
	var s keys.Stanza
	switch k.Type {
	case "":
		return nil, kmsproto.Errorf(kmsproto.Invalid, "the request names no key, or a key type this key service does not know")
	case keys.Age:
		r, perr := age.ParseRecipient(k.Recipient)
		if perr != nil {
			return nil, kmsproto.Errorf(kmsproto.Invalid, "%v", perr)
		}
		s, err = r.Wrap(req.Plaintext)
	case keys.PGP:
		r, perr := h.pgpRecipient(k.Fingerprint)
		if perr != nil {
			return nil, kmsproto.Errorf(kmsproto.Invalid, "%v", perr)
		}
		s, err = r.Wrap(req.Plaintext)
	default:
		p, ok := h.cloud[k.Type]
		if !ok {
			return nil, kmsproto.Errorf(kmsproto.Unsupported, "this key service does not handle %s keys", k.Type)
		}
		s, err = p.Wrap(ctx, k, req.Plaintext)
	}
	if err != nil {
		return nil, err
	}
	return &keyservice.EncryptResponse{Ciphertext: []byte(s.Enc)}, nil
}

// Decrypt unwraps the ciphertext with the key.
func (h *keyserviceHandler) Decrypt(ctx context.Context, req *keyservice.DecryptRequest) (resp *keyservice.DecryptResponse, err error) {
	defer h.logRequest(ctx, "decrypt", &req.Key, &err)
	defer recoverPanic(&err)
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	if len(req.Ciphertext) == 0 {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "no ciphertext to decrypt")
	}
	k := req.Key
	k.Enc = string(req.Ciphertext)
	var p []byte
	switch k.Type {
	case "":
		return nil, kmsproto.Errorf(kmsproto.Invalid, "the request names no key, or a key type this key service does not know")
	case keys.Age:
		p, err = h.age.Unwrap(&k)
	case keys.PGP:
		p, err = h.pgp.Unwrap(&k)
	default:
		prov, ok := h.cloud[k.Type]
		if !ok {
			return nil, kmsproto.Errorf(kmsproto.Unsupported, "this key service does not handle %s keys", k.Type)
		}
		p, err = prov.Unwrap(ctx, k)
	}
	if err != nil {
		return nil, err
	}
	return &keyservice.DecryptResponse{Plaintext: p}, nil
}

// pgpRecipient parses a fingerprint once: its public key is looked up on
// first use, which the next requests should not pay again.
func (h *keyserviceHandler) pgpRecipient(fp string) (keys.Recipient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.pgpRecs[fp]; ok {
		return r, nil
	}
	r, err := h.pgp.ParseRecipient(fp)
	if err != nil {
		return nil, err
	}
	h.pgpRecs[fp] = r
	return r, nil
}

func recoverPanic(err *error) {
	if r := recover(); r != nil {
		*err = kmsproto.Errorf(kmsproto.Internal, "key source failed: %v", r)
	}
}

// logRequest logs one line per request and turns the error into a gRPC
// status for the client. Errors name keys, never key material.
func (h *keyserviceHandler) logRequest(ctx context.Context, op string, k *keys.Stanza, err *error) {
	from := "unknown peer"
	if p, ok := peer.FromContext(ctx); ok {
		from = p.Addr.Network()
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
			from = p.Addr.String() + " (" + info.State.PeerCertificates[0].Subject.String() + ")"
		} else if p.Addr.Network() != "unix" {
			from = p.Addr.String()
		}
	}
	outcome := "ok"
	if *err != nil {
		*err = keyservice.StatusError(*err)
		outcome = "failed: " + strings.Join(strings.Fields((*err).Error()), " ")
	}
	h.log.Printf("%s %s from %s: %s", op, keyservice.KeyName(k), from, outcome)
}
