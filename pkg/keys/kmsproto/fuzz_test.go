package kmsproto

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
)

// echoProvider answers at once (the test xorProvider can wait for its
// deadline, which a fuzzer would find): wrap stores the payload as it is,
// unwrap returns it, and an empty enc fails.
type echoProvider struct{}

func (echoProvider) Wrap(_ context.Context, k keys.Stanza, p []byte) (keys.Stanza, error) {
	k.Enc = EncodePayload(p)
	return k, nil
}

func (echoProvider) Unwrap(_ context.Context, k keys.Stanza) ([]byte, error) {
	p, err := DecodePayload(k.Enc)
	if err != nil || len(p) == 0 {
		return nil, Errorf(WrongKey, "bad ciphertext")
	}
	return p, nil
}

// FuzzServe feeds the companion side arbitrary request lines: it must
// not panic, and must answer each line it reads with exactly one line of
// valid JSON that is a Response.
func FuzzServe(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"op":"hello","version":1}`,
		`{"id":2,"op":"wrap","key":{"type":"kms","arn":"arn:aws:kms:eu-west-1:1:key/k"},"payload":"AAEC","timeout_ms":50}`,
		`{"id":3,"op":"unwrap","key":{"type":"kms","enc":"AAEC","context":{"a":"b"}}}`,
		`{"id":4,"op":"unwrap","key":{"type":"gcp_kms","enc":""}}`,
		`{"id":5,"op":"publish","target":"vault-kv://x/y","document":{"a":1}}`,
		`{"id":6,"op":"wrap","keyservice":"unix:///nonexistent","key":{"type":"age","recipient":"age1x"},"payload":"AA=="}`,
		`{"id":7,"op":"frobnicate"}`,
		`{"id":18446744073709551615,"op":"unwrap","key":null}`,
		`not json`,
		`{"id":-1}`,
		"",
	} {
		f.Add([]byte(s))
	}
	providers := map[keys.Type]Provider{keys.KMS: echoProvider{}, keys.GCPKMS: echoProvider{}}
	f.Fuzz(func(t *testing.T, line []byte) {
		if bytes.ContainsAny(line, "\r\n") {
			return // one line at a time
		}
		var out bytes.Buffer
		if err := Serve(bytes.NewReader(append(line, '\n')), &out, providers, nil); err != nil {
			return // a line above the size limit
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, maxLine+1024)
		n := 0
		for sc.Scan() {
			n++
			var resp Response
			if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
				t.Fatalf("the answer is not a Response: %v\n%s", err, sc.Bytes())
			}
		}
		if n != 1 {
			t.Fatalf("%d answers to one request, want 1: %q", n, out.String())
		}
	})
}

// FuzzClientRead feeds kura's side arbitrary companion output: it must
// not panic, must deliver a well-formed answer to the request waiting
// for its id, and must end every waiting call when the output ends.
func FuzzClientRead(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"version":1,"types":["kms"]}`,
		`{"id":1,"payload":"AAEC"}` + "\n" + `{"id":2,"error":{"kind":"timeout","message":"slow"}}`,
		`{"id":1,"key":{"type":"kms","enc":"x","created_at":"2024-01-01T00:00:00Z"}}`,
		`{"id":2,"error":null}` + "\nnot json\n" + `{"id":1}`,
		`{"id":1,"published":{}}`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		c := &Client{pending: map[uint64]chan Response{}, done: make(chan struct{})}
		ch1 := make(chan Response, 1)
		ch2 := make(chan Response, 1)
		c.pending[1], c.pending[2] = ch1, ch2
		c.read(bytes.NewReader(out))
		<-c.done
		if c.dead == nil {
			t.Fatal("the client is not marked dead after the output ended")
		}
		if len(c.pending) != 0 {
			t.Fatalf("%d calls still pending", len(c.pending))
		}
		for id, ch := range map[uint64]chan Response{1: ch1, 2: ch2} {
			if resp, ok := <-ch; ok && resp.ID != id {
				t.Fatalf("call %d got the answer to %d", id, resp.ID)
			}
		}
	})
}
