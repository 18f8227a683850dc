package forward

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
)

func TestParseURI(t *testing.T) {
	for in, want := range map[string]URI{
		"unix:///run/user/1000/ks.sock": {"unix", "/run/user/1000/ks.sock"},
		" unix:///tmp/a b.sock ":        {"unix", "/tmp/a b.sock"},
		"tcp://127.0.0.1:5000":          {"tcp", "127.0.0.1:5000"},
		"tcp://[::1]:5000":              {"tcp", "[::1]:5000"},
		"tcp4://keys.example.com:5000/": {"tcp4", "keys.example.com:5000"},
	} {
		got, err := ParseURI(in)
		if err != nil || got != want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if u := (URI{"unix", "/x.sock"}); u.String() != "unix:///x.sock" {
		t.Errorf("String: %s", u)
	}
	for _, bad := range []string{"", "/tmp/x.sock", "unix://host/x.sock", "unix://", "tcp://host", "tcp://:", "http://h:1", "tcp://h:1/path"} {
		if u, err := ParseURI(bad); err == nil {
			t.Errorf("ParseURI(%q) = %+v, want an error", bad, u)
		}
	}
}

type fakeUnwrapper struct {
	calls int
	p     []byte
	err   error
}

func (f *fakeUnwrapper) Unwrap(*keys.Stanza) ([]byte, error) { f.calls++; return f.p, f.err }

type fakeRecipient struct {
	calls int
	err   error
}

func (f *fakeRecipient) Wrap([]byte) (keys.Stanza, error) {
	f.calls++
	return keys.Stanza{Type: keys.Age, Recipient: "age1x", Enc: "local"}, f.err
}
func (f *fakeRecipient) Identity() string { return "age1x" }
func (f *fakeRecipient) Type() keys.Type  { return keys.Age }

// The local key sources come first, as in sops: when they succeed, no key
// service is asked (the lookup of kura-kms would fail the test).
func TestLocalFirst(t *testing.T) {
	noCompanion := func(string) (string, error) { t.Error("kura-kms was looked for"); return "", errors.New("no") }
	r := &Router{Services: []URI{{"unix", "/nonexistent.sock"}}, Local: true, Lookup: noCompanion}
	st := &keys.Stanza{Type: keys.Age, Recipient: "age1x", Enc: "x"}
	local := &fakeUnwrapper{p: []byte("key")}
	if p, err := r.Unwrapper(local).Unwrap(st); err != nil || string(p) != "key" {
		t.Errorf("Unwrap = %q, %v", p, err)
	}
	lr := &fakeRecipient{}
	if s, err := r.Recipient(lr, keys.Stanza{Type: keys.Age, Recipient: "age1x"}).Wrap([]byte("k")); err != nil || s.Enc != "local" {
		t.Errorf("Wrap = %+v, %v", s, err)
	}
}

// A local failure goes on to the key services, and the error names both.
// Without local sources, only the services are asked; with neither, the
// error says so.
func TestFallThrough(t *testing.T) {
	missing := func(string) (string, error) { return "", errors.New("not found") }
	st := &keys.Stanza{Type: keys.Age, Recipient: "age1x", Enc: "x"}
	r := &Router{Services: []URI{{"unix", "/nonexistent.sock"}}, Local: true, Lookup: missing}
	local := &fakeUnwrapper{err: keys.ErrNoIdentity}
	_, err := r.Unwrapper(local).Unwrap(st)
	if local.calls != 1 || err == nil || !strings.Contains(err.Error(), "no identity matched") || !strings.Contains(err.Error(), "kura-kms is not installed") {
		t.Errorf("calls %d, err %v", local.calls, err)
	}

	r = &Router{Services: []URI{{"unix", "/nonexistent.sock"}}, Local: false, Lookup: missing}
	local = &fakeUnwrapper{p: []byte("key")}
	if _, err := r.Unwrapper(local).Unwrap(st); local.calls != 0 || err == nil {
		t.Errorf("local disabled: calls %d, err %v", local.calls, err)
	}
	lr := &fakeRecipient{}
	if _, err := r.Recipient(lr, keys.Stanza{Type: keys.Age, Recipient: "age1x"}).Wrap([]byte("k")); lr.calls != 0 || err == nil {
		t.Errorf("local disabled: wrap calls %d, err %v", lr.calls, err)
	}

	r = &Router{}
	if _, err := r.Unwrapper(local).Unwrap(st); !errors.Is(err, ErrNoService) {
		t.Errorf("nothing to use: %v", err)
	}
}

// Every failure being a missing identity is a missing identity.
func TestNoIdentityKept(t *testing.T) {
	err := failure(&keys.Stanza{Type: keys.Age, Recipient: "age1x"}, []error{keys.ErrNoIdentity, keys.ErrNoIdentity})
	if !errors.Is(err, keys.ErrNoIdentity) {
		t.Errorf("%v does not wrap ErrNoIdentity", err)
	}
	err = failure(&keys.Stanza{Type: keys.Age}, []error{keys.ErrNoIdentity, errors.New("refused")})
	if errors.Is(err, keys.ErrNoIdentity) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("mixed failures: %v", err)
	}
}

// kura's binary must link neither gRPC nor protobuf: that is why the
// key service client lives in kura-kms (docs/key-source-protocol.md).
func TestKuraLinksNoGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/kura-secrets/kura/cmd/kura").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "google.golang.org/grpc") || strings.HasPrefix(p, "google.golang.org/protobuf") {
			t.Errorf("cmd/kura depends on %s", p)
		}
	}
}
