package awskms

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// blackHole is a loopback address that accepts connections and never
// answers.
func blackHole(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); l.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c)
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	return "http://" + l.Addr().String()
}

func TestErrors(t *testing.T) {
	s := start(t)
	good, err := New().Wrap(timeout(t, 5*time.Second), stanza(s.KeyARN), dataKey)
	if err != nil {
		t.Fatal(err)
	}

	type op func(p *Provider, k keys.Stanza) error
	wrap := func(p *Provider, k keys.Stanza) error {
		_, err := p.Wrap(timeout(t, 5*time.Second), k, dataKey)
		return err
	}
	unwrap := func(p *Provider, k keys.Stanza) error {
		_, err := p.Unwrap(timeout(t, 5*time.Second), k)
		return err
	}
	withEnc := func(arn, enc string) keys.Stanza {
		k := stanza(arn)
		k.Enc = enc
		return k
	}
	blob := []byte(good.Enc)
	damaged := func() string {
		b, _ := decodeStd(good.Enc)
		b[len(b)-1] ^= 1 // inside the GCM tag
		return encodeStd(b)
	}()

	cases := []struct {
		name string
		env  map[string]string
		k    keys.Stanza
		op   op
		kind kmsproto.Kind
	}{
		{"no credentials", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, stanza(s.KeyARN), wrap, kmsproto.NoCredentials},
		{"no credentials unwrap", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, good, unwrap, kmsproto.NoCredentials},
		{"AWS_PROFILE missing", map[string]string{"AWS_PROFILE": "nope"}, stanza(s.KeyARN), wrap, kmsproto.NoCredentials},
		{"no credentials for the role", map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}, withRole(stanza(s.KeyARN), awslocal.Role), wrap, kmsproto.NoCredentials},
		{"unknown access key", map[string]string{"AWS_ACCESS_KEY_ID": "AKIAKURATESTUNKNOWN1"}, stanza(s.KeyARN), wrap, kmsproto.AccessDenied},
		{"wrong secret", map[string]string{"AWS_SECRET_ACCESS_KEY": "not-the-secret"}, good, unwrap, kmsproto.AccessDenied},
		{"refused role", nil, withRole(stanza(s.KeyARN), awslocal.DeniedRole), wrap, kmsproto.AccessDenied},
		{"unknown key", nil, stanza(s.MissingKeyARN), wrap, kmsproto.NotFound},
		{"unknown key unwrap", nil, withEnc(s.MissingKeyARN, good.Enc), unwrap, kmsproto.NotFound},
		{"unknown alias", nil, stanza(awslocal.ARN("alias/nope")), wrap, kmsproto.NotFound},
		{"disabled key", nil, stanza(s.DisabledKeyARN), wrap, kmsproto.NotFound},
		{"key pending deletion", nil, stanza(s.PendingDeletionKeyARN), wrap, kmsproto.NotFound},
		{"damaged ciphertext", nil, withEnc(s.KeyARN, damaged), unwrap, kmsproto.WrongKey},
		{"not base64", nil, withEnc(s.KeyARN, string(blob[:len(blob)-3])+"!!!"), unwrap, kmsproto.WrongKey},
		{"no enc", nil, stanza(s.KeyARN), unwrap, kmsproto.Invalid},
		{"malformed ARN", nil, stanza("arn:aws:kms:eu-west-1:key/abc"), wrap, kmsproto.Invalid},
		{"not an ARN", nil, withEnc("alias/kura-test", good.Enc), unwrap, kmsproto.Invalid},
		{"STS unreachable", map[string]string{"AWS_ENDPOINT_URL_STS": closedPort(t)}, withRole(stanza(s.KeyARN), awslocal.Role), wrap, kmsproto.Unreachable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			before := len(s.KMSCalls())
			err := c.op(New(), c.k)
			wantError(t, err, c.kind, c.k.ARN, good.Enc, "not-the-secret")
			if c.kind == kmsproto.Invalid || c.kind == kmsproto.NoCredentials {
				if n := len(s.KMSCalls()) - before; n != 0 {
					t.Errorf("%d requests reached KMS", n)
				}
			}
		})
	}

	t.Run("connection refused", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_KMS", closedPort(t))
		began := time.Now()
		err := unwrap(New(), good)
		wantError(t, err, kmsproto.Unreachable, s.KeyARN)
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("took %v, want a quick failure", d)
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		// .invalid never resolves (RFC 6761); the resolver answers at once
		// or the deadline ends it.
		t.Setenv("AWS_ENDPOINT_URL_KMS", "http://kura-test.invalid")
		_, err := New().Wrap(timeout(t, 3*time.Second), stanza(s.KeyARN), dataKey)
		if k := kmsproto.KindOf(err); k != kmsproto.Unreachable && k != kmsproto.Timeout {
			t.Errorf("kind %s: %v", k, err)
		}
		wantError(t, err, kmsproto.KindOf(err), s.KeyARN)
	})

	t.Run("no answer", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_KMS", blackHole(t))
		began := time.Now()
		_, err := New().Unwrap(timeout(t, time.Second), good)
		wantError(t, err, kmsproto.Timeout, s.KeyARN)
		if d := time.Since(began); d < 900*time.Millisecond || d > 2500*time.Millisecond {
			t.Errorf("took %v, want about the 1s deadline", d)
		}
	})

	t.Run("STS no answer", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_STS", blackHole(t))
		began := time.Now()
		_, err := New().Wrap(timeout(t, time.Second), withRole(stanza(s.KeyARN), awslocal.Role), dataKey)
		wantError(t, err, kmsproto.Timeout, s.KeyARN)
		if err != nil && !strings.Contains(err.Error(), awslocal.Role) {
			t.Errorf("message does not name the role: %v", err)
		}
		if d := time.Since(began); d > 2500*time.Millisecond {
			t.Errorf("took %v", d)
		}
	})
}

func withRole(k keys.Stanza, role string) keys.Stanza {
	k.Role = role
	return k
}

// TestServe runs the provider behind the protocol server, as kura-kms
// does: the request's timeout_ms bounds the network calls.
func TestServe(t *testing.T) {
	s := start(t)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() {
		kmsproto.Serve(inR, outW, map[keys.Type]kmsproto.Provider{keys.KMS: New()}, nil)
		outW.Close()
	}()
	t.Cleanup(func() { inW.Close() })
	dec := bufio.NewScanner(outR)
	call := func(req kmsproto.Request) kmsproto.Response {
		t.Helper()
		b, _ := json.Marshal(req)
		if _, err := inW.Write(append(b, '\n')); err != nil {
			t.Fatal(err)
		}
		if !dec.Scan() {
			t.Fatal("no response")
		}
		var resp kmsproto.Response
		if err := json.Unmarshal(dec.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}

	k := stanza(s.KeyARN)
	k.Context = map[string]string{"app": "kura"}
	resp := call(kmsproto.Request{ID: 1, Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&k), Payload: kmsproto.EncodePayload(dataKey), TimeoutMillis: 5000})
	if resp.Error != nil || resp.Key == nil || resp.Key.Enc == "" || resp.Key.CreatedAt == "" || resp.Key.Context["app"] != "kura" {
		t.Fatalf("wrap: %+v %v", resp, resp.Error)
	}
	resp = call(kmsproto.Request{ID: 2, Op: kmsproto.OpUnwrap, Key: resp.Key, TimeoutMillis: 5000})
	if p, err := kmsproto.DecodePayload(resp.Payload); resp.Error != nil || err != nil || string(p) != string(dataKey) {
		t.Fatalf("unwrap: %+v %v", resp, resp.Error)
	}

	t.Setenv("AWS_ENDPOINT_URL_KMS", blackHole(t)) // read by a new configuration: use another region
	k2 := stanza(strings.Replace(s.KeyARN, awslocal.Region, "eu-west-2", 1))
	began := time.Now()
	resp = call(kmsproto.Request{ID: 3, Op: kmsproto.OpWrap, Key: kmsproto.FromStanza(&k2), Payload: kmsproto.EncodePayload(dataKey), TimeoutMillis: 500})
	if resp.Error == nil || resp.Error.Kind != kmsproto.Timeout || !strings.Contains(resp.Error.Message, k2.ARN) {
		t.Errorf("wrap against a silent endpoint: %+v", resp.Error)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("took %v for a 500ms timeout", d)
	}
}

func decodeStd(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
func encodeStd(b []byte) string          { return base64.StdEncoding.EncodeToString(b) }
