package companion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// Name is the companion that holds kura's own cloud key sources.
const Name = "kura-kms"

// DefaultTimeout bounds each wrap or unwrap, network calls included.
const DefaultTimeout = 15 * time.Second

// Source wraps and unwraps cloud keys through companion processes. It
// starts kura-kms on first use; key types kura-kms does not handle go to
// a companion named kura-keysource-TYPE on PATH, if there is one. It is
// safe for concurrent use. Close ends the processes.
type Source struct {
	// Lookup finds a companion executable by name; nil means next to
	// kura's own executable, then on PATH.
	Lookup func(name string) (string, error)
	// Stderr receives the companions' standard error.
	Stderr io.Writer
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration

	mu      sync.Mutex
	clients map[string]*kmsproto.Client // by executable name
	errs    map[string]error
}

func (s *Source) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// LookPath finds a companion program (kura-kms, kura-keysource-T) next to
// the running kura, then on PATH: a release archive puts them side by
// side, and so does go install.
func LookPath(name string) (string, error) {
	exe := name
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), exe)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// ErrNoCompanion means the companion for a key type is not installed.
var ErrNoCompanion = errors.New("companion not installed")

// client returns the running companion for a key type, starting it if
// needed.
func (s *Source) client(t keys.Type) (*kmsproto.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		s.clients, s.errs = map[string]*kmsproto.Client{}, map[string]error{}
	}
	c, err := s.start(Name)
	if err == nil && c.Handles(string(t)) {
		return c, nil
	}
	own := "kura-keysource-" + string(t)
	if c2, err2 := s.start(own); err2 == nil {
		if c2.Handles(string(t)) {
			return c2, nil
		}
		return nil, fmt.Errorf("%s does not handle %s keys", own, t)
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %s does not handle %s keys and no %s is installed", ErrNoCompanion, Name, t, own)
}

// start runs a companion once per Source; failures are remembered.
func (s *Source) start(name string) (*kmsproto.Client, error) {
	if c, ok := s.clients[name]; ok {
		return c, nil
	}
	if err, ok := s.errs[name]; ok {
		return nil, err
	}
	lookup := s.Lookup
	if lookup == nil {
		lookup = LookPath
	}
	path, err := lookup(name)
	if err != nil {
		err = fmt.Errorf("%w: %s is not installed next to kura or on PATH (it holds the cloud key sources: go install github.com/kura-secrets/kura/cmd/kura-kms@latest, or take it from the release archive)", ErrNoCompanion, name)
		s.errs[name] = err
		return nil, err
	}
	stderr := s.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	c, err := kmsproto.Start(path, stderr, s.timeout())
	if err != nil {
		s.errs[name] = err
		return nil, err
	}
	s.clients[name] = c
	return c, nil
}

// Close stops every companion started.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.clients {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	s.clients = nil
	return errors.Join(errs...)
}

// Unwrap asks the companion for the payload of a cloud key stanza.
func (s *Source) Unwrap(st *keys.Stanza) ([]byte, error) {
	c, err := s.client(st.Type)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout()+2*time.Second)
	defer cancel()
	resp, err := c.Call(ctx, kmsproto.Request{Op: kmsproto.OpUnwrap, Key: kmsproto.FromStanza(st), TimeoutMillis: s.timeout().Milliseconds()})
	if err != nil {
		return nil, keyError(st, err)
	}
	p, err := kmsproto.DecodePayload(resp.Payload)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the companion sent an invalid payload", st.Type, st.Identity())
	}
	return p, nil
}

// keyError names the key in a companion's error. A missing credential
// counts as "no identity": the user holds no secret for this key.
func keyError(st *keys.Stanza, err error) error {
	if kmsproto.KindOf(err) == kmsproto.NoCredentials {
		return fmt.Errorf("%w: %s", keys.ErrNoIdentity, err.Error())
	}
	return err
}

// Recipient returns a recipient that wraps for a cloud key through the
// companion.
func (s *Source) Recipient(st keys.Stanza) keys.Recipient { return &recipient{s, st} }

type recipient struct {
	s  *Source
	st keys.Stanza
}

func (r *recipient) Identity() string { return r.st.Identity() }

func (r *recipient) Type() keys.Type { return r.st.Type }

func (r *recipient) Wrap(payload []byte) (keys.Stanza, error) {
	c, err := r.s.client(r.st.Type)
	if err != nil {
		return keys.Stanza{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.s.timeout()+2*time.Second)
	defer cancel()
	resp, err := c.Call(ctx, kmsproto.Request{Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&r.st), Payload: kmsproto.EncodePayload(payload), TimeoutMillis: r.s.timeout().Milliseconds()})
	if err != nil {
		return keys.Stanza{}, err
	}
	if resp.Key == nil || resp.Key.Enc == "" {
		return keys.Stanza{}, fmt.Errorf("the companion returned no wrapped key for %s", r.st.Identity())
	}
	return resp.Key.Stanza(), nil
}
