package kmsproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
)

// xorProvider "wraps" by xoring with a key-specific byte; it fails on
// demand to exercise error kinds, and sleeps to exercise timeouts.
type xorProvider struct{}

func (xorProvider) Wrap(ctx context.Context, k keys.Stanza, p []byte) (keys.Stanza, error) {
	switch k.ARN {
	case "arn:denied":
		return k, Errorf(AccessDenied, "%s: access denied", k.ARN)
	case "arn:slow":
		<-ctx.Done()
		return k, ctx.Err()
	case "arn:panic":
		panic("boom")
	}
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ 0x5a
	}
	k.Enc = EncodePayload(out)
	return k, nil
}

func (xorProvider) Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error) {
	p, err := DecodePayload(k.Enc)
	if err != nil {
		return nil, Errorf(WrongKey, "bad ciphertext")
	}
	for i := range p {
		p[i] ^= 0x5a
	}
	return p, nil
}

var providers = map[keys.Type]Provider{keys.KMS: xorProvider{}}

// TestMain turns the test binary into a companion when asked, so that the
// client is tested against a real process.
func TestMain(m *testing.M) {
	if os.Getenv("KMSPROTO_TEST_COMPANION") == "1" {
		Serve(os.Stdin, os.Stdout, providers, nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func roundTrip(t *testing.T, reqs ...Request) []Response {
	t.Helper()
	var in bytes.Buffer
	for _, r := range reqs {
		b, _ := json.Marshal(r)
		in.Write(append(b, '\n'))
	}
	var out bytes.Buffer
	fixed := func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC) }
	if err := Serve(&in, &out, providers, fixed); err != nil {
		t.Fatal(err)
	}
	var resps []Response
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		resps = append(resps, r)
	}
	return resps
}

func TestServe(t *testing.T) {
	key := &Key{Type: "kms", ARN: "arn:ok"}
	resps := roundTrip(t,
		Request{ID: 1, Op: OpHello, Version: Version},
		Request{ID: 2, Op: OpWrap, Key: key, Payload: EncodePayload([]byte("data key"))},
		Request{ID: 3, Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:denied"}, Payload: EncodePayload([]byte("x"))},
		Request{ID: 4, Op: OpWrap, Key: &Key{Type: "gcp_kms"}, Payload: EncodePayload([]byte("x"))},
		Request{ID: 5, Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:slow"}, Payload: EncodePayload([]byte("x")), TimeoutMillis: 50},
		Request{ID: 6, Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:panic"}, Payload: EncodePayload([]byte("x"))},
		Request{ID: 7, Op: "dance", Key: key},
		Request{ID: 8, Op: OpUnwrap, Key: &Key{Type: "kms", ARN: "arn:ok", Enc: "!!"}},
	)
	byID := map[uint64]Response{}
	for _, r := range resps {
		byID[r.ID] = r
	}
	if r := byID[1]; r.Version != Version || len(r.Types) != 1 || r.Types[0] != "kms" {
		t.Errorf("hello: %+v", r)
	}
	if r := byID[2]; r.Error != nil || r.Key == nil || r.Key.Enc == "" || r.Key.CreatedAt != "2024-01-02T03:04:05Z" {
		t.Errorf("wrap: %+v", r)
	}
	for id, kind := range map[uint64]Kind{3: AccessDenied, 4: Unsupported, 5: Timeout, 6: Internal, 7: Invalid, 8: WrongKey} {
		if r := byID[id]; r.Error == nil || r.Error.Kind != kind {
			t.Errorf("request %d: %+v, want %s", id, r, kind)
		}
	}
	// Unwrap of what was wrapped gives the payload back.
	resps = roundTrip(t, Request{ID: 9, Op: OpUnwrap, Key: byID[2].Key})
	if p, _ := DecodePayload(resps[0].Payload); string(p) != "data key" {
		t.Errorf("unwrap gave %q", p)
	}
}

func TestServeBadJSON(t *testing.T) {
	var out bytes.Buffer
	Serve(strings.NewReader("not json\n"), &out, providers, nil)
	if !strings.Contains(out.String(), `"invalid"`) {
		t.Errorf("got %q", out.String())
	}
}

func TestClient(t *testing.T) {
	t.Setenv("KMSPROTO_TEST_COMPANION", "1")
	c, err := Start(os.Args[0], io.Discard, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Handles("kms") || c.Handles("age") {
		t.Error("Handles")
	}
	ctx := context.Background()
	// Concurrent calls are matched to their answers by id.
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func(i int) {
			payload := []byte{byte(i), 1, 2, 3}
			resp, err := c.Call(ctx, Request{Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:ok"}, Payload: EncodePayload(payload)})
			if err != nil {
				errs <- err
				return
			}
			resp, err = c.Call(ctx, Request{Op: OpUnwrap, Key: resp.Key})
			if err != nil {
				errs <- err
				return
			}
			if p, _ := DecodePayload(resp.Payload); !bytes.Equal(p, payload) {
				errs <- errors.New("payload mixed up between requests")
				return
			}
			errs <- nil
		}(i)
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Call(ctx, Request{Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:denied"}, Payload: EncodePayload([]byte("x"))})
	if KindOf(err) != AccessDenied {
		t.Errorf("denied: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Call(short, Request{Op: OpWrap, Key: &Key{Type: "kms", ARN: "arn:slow"}, Payload: EncodePayload([]byte("x")), TimeoutMillis: 10000})
	if KindOf(err) != Timeout {
		t.Errorf("client-side timeout: %v", err)
	}
}

func TestStartNotACompanion(t *testing.T) {
	if _, err := Start("/bin/true", io.Discard, time.Second); err == nil {
		t.Error("a program that does not speak the protocol was accepted")
	}
}

func TestStanzaRoundTrip(t *testing.T) {
	s := keys.Stanza{Type: keys.AzureKV, Enc: "e", CreatedAt: "c", AzureVaultURL: "u", AzureName: "n", AzureVersion: "v"}
	if got := FromStanza(&s).Stanza(); got.AzureVaultURL != "u" || got.AzureName != "n" || got.AzureVersion != "v" || got.Type != keys.AzureKV {
		t.Errorf("%+v", got)
	}
}
