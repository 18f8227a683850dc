// Package forward is kura's side of --keyservice: it routes the wrapping
// and unwrapping of data keys to sops-compatible key services, as sops
// does, without linking gRPC into kura. The requests go to the companion
// kura-kms over the key-source protocol (pkg/keys/kmsproto) with the key
// service's URI in Request.KeyService, and kura-kms makes the gRPC call.
//
// The order is sops's: the local key sources first, when enabled
// (--enable-local-keyservice, true by default), then each key service in
// the order given; the first that succeeds wins, for wrapping and for
// unwrapping alike.
package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// URI is a key service address as sops takes it: unix:///path/to.sock or
// tcp://host:port (tcp4 and tcp6 work too).
type URI struct {
	Network string // unix, tcp, tcp4 or tcp6
	Address string // the socket's path, or host:port
}

// ParseURI parses a key service URI.
func ParseURI(s string) (URI, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return URI{}, fmt.Errorf("key service %q: %w", s, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Host != "" || u.Path == "" {
			return URI{}, fmt.Errorf("key service %q: a Unix socket is unix:///absolute/path", s)
		}
		return URI{Network: "unix", Address: u.Path}, nil
	case "tcp", "tcp4", "tcp6":
		if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" || u.Path != "" && u.Path != "/" {
			return URI{}, fmt.Errorf("key service %q: a TCP address is tcp://host:port", s)
		}
		return URI{Network: u.Scheme, Address: u.Host}, nil
	}
	return URI{}, fmt.Errorf("key service %q: the scheme must be unix:// or tcp://", s)
}

// String returns the URI.
func (u URI) String() string {
	if u.Network == "unix" {
		return "unix://" + u.Address
	}
	return u.Network + "://" + u.Address
}

// Companion is the program that makes the gRPC calls.
const Companion = "kura-kms"

// LookPath finds kura-kms as kura finds its companions.
var LookPath = companion.LookPath

// DefaultTimeout bounds each request to a key service.
const DefaultTimeout = 15 * time.Second

// Router sends key operations to the local key sources and to key
// services, in sops's order. It starts kura-kms on first use; the process
// ends when Close is called or, at the latest, when kura exits and its
// standard input closes. A Router is safe for concurrent use.
type Router struct {
	// Services are the key services, in order.
	Services []URI
	// Local says whether the local key sources are tried (first).
	Local bool
	// Stderr receives kura-kms's standard error.
	Stderr io.Writer
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// Lookup finds kura-kms; nil means LookPath.
	Lookup func(name string) (string, error)

	mu     sync.Mutex
	client *kmsproto.Client
	err    error
}

func (r *Router) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

func (r *Router) companion() (*kmsproto.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil || r.err != nil {
		return r.client, r.err
	}
	lookup := r.Lookup
	if lookup == nil {
		lookup = LookPath
	}
	path, err := lookup(Companion)
	if err != nil {
		r.err = fmt.Errorf("%s is not installed next to kura or on PATH: it makes the calls to key services (go install github.com/kura-secrets/kura/cmd/kura-kms@latest)", Companion)
		return nil, r.err
	}
	stderr := r.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	c, err := kmsproto.Start(path, stderr, r.timeout())
	if err != nil {
		r.err = err
		return nil, err
	}
	if !c.Handles(string(kmsproto.KeyServiceType)) {
		c.Close()
		r.err = fmt.Errorf("%s is too old to call key services: install the version that matches kura", path)
		return nil, r.err
	}
	r.client = c
	return c, nil
}

// Close stops kura-kms, if it was started.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client == nil {
		return nil
	}
	err := r.client.Close()
	r.client = nil
	return err
}

// call sends one request to a key service through kura-kms.
func (r *Router) call(svc URI, req kmsproto.Request) (kmsproto.Response, error) {
	c, err := r.companion()
	if err != nil {
		return kmsproto.Response{}, err
	}
	req.KeyService = svc.String()
	req.TimeoutMillis = r.timeout().Milliseconds()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout()+2*time.Second)
	defer cancel()
	return c.Call(ctx, req)
}

// ErrNoService means that nothing may wrap or unwrap: the local key
// sources are disabled and no key service is given.
var ErrNoService = errors.New("no key service to use: --enable-local-keyservice=false and no --keyservice given")

// Unwrapper returns an Unwrapper that tries local (when the router's Local
// is set) and then each key service. local may be nil.
func (r *Router) Unwrapper(local keys.Unwrapper) keys.Unwrapper {
	return &unwrapper{r: r, local: local}
}

type unwrapper struct {
	r     *Router
	local keys.Unwrapper
}

func (u *unwrapper) Unwrap(st *keys.Stanza) ([]byte, error) {
	var errs []error
	if u.r.Local && u.local != nil {
		p, err := u.local.Unwrap(st)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	for _, svc := range u.r.Services {
		resp, err := u.r.call(svc, kmsproto.Request{Op: kmsproto.OpUnwrap, Key: kmsproto.FromStanza(st)})
		if err == nil {
			p, derr := kmsproto.DecodePayload(resp.Payload)
			if derr == nil && len(p) > 0 {
				return p, nil
			}
			err = fmt.Errorf("key service %s sent an invalid payload", svc)
		}
		errs = append(errs, err)
	}
	return nil, failure(st, errs)
}

// failure combines the errors of every service tried for a key. It wraps
// keys.ErrNoIdentity when every one of them lacked the key's secret, so
// kura reports it as it reports a missing identity.
func failure(st *keys.Stanza, errs []error) error {
	if len(errs) == 0 {
		return fmt.Errorf("%s %s: %w", st.Type, st.Identity(), ErrNoService)
	}
	all := true
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
		if !errors.Is(err, keys.ErrNoIdentity) && kmsproto.KindOf(err) != kmsproto.NoCredentials {
			all = false
		}
	}
	msg := strings.Join(msgs, "; ")
	if all {
		return &noIdentity{msg}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.New(msg)
}

type noIdentity struct{ msg string }

func (e *noIdentity) Error() string { return e.msg }
func (e *noIdentity) Unwrap() error { return keys.ErrNoIdentity }

// Recipient returns a Recipient that wraps with local (when the router's
// Local is set) or else with the first key service that succeeds. st
// describes the key (its type and identity fields) for the key services.
func (r *Router) Recipient(local keys.Recipient, st keys.Stanza) keys.Recipient {
	st.Enc, st.CreatedAt = "", ""
	return &recipient{r: r, local: local, st: st}
}

type recipient struct {
	r     *Router
	local keys.Recipient
	st    keys.Stanza
}

func (rc *recipient) Identity() string { return rc.st.Identity() }
func (rc *recipient) Type() keys.Type  { return rc.st.Type }

func (rc *recipient) Wrap(payload []byte) (keys.Stanza, error) {
	var errs []error
	if rc.r.Local && rc.local != nil {
		s, err := rc.local.Wrap(payload)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	for _, svc := range rc.r.Services {
		resp, err := rc.r.call(svc, kmsproto.Request{Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&rc.st), Payload: kmsproto.EncodePayload(payload)})
		if err == nil {
			if resp.Key != nil && resp.Key.Enc != "" {
				return resp.Key.Stanza(), nil
			}
			err = fmt.Errorf("key service %s returned no wrapped key for %s", svc, rc.st.Identity())
		}
		errs = append(errs, err)
	}
	return keys.Stanza{}, failure(&rc.st, errs)
}
