package kmsproto

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// memPublisher records what it is asked to publish; some targets fail or
// hang on purpose.
type memPublisher struct{ got map[string]string }

func (p *memPublisher) Schemes() []string { return []string{"vault-kv", "mem"} }

func (p *memPublisher) Publish(ctx context.Context, target string, doc json.RawMessage) (*Published, error) {
	switch target {
	case "mem://denied":
		return nil, Errorf(AccessDenied, "%s: denied", target)
	case "mem://slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "mem://panic":
		panic("boom")
	}
	p.got[target] = string(doc)
	return &Published{Version: "7"}, nil
}

// servePublish runs ServePublisher over the request lines and returns the
// responses by id.
func servePublish(t *testing.T, pub Publisher, reqs ...Request) map[uint64]Response {
	t.Helper()
	var in strings.Builder
	for _, r := range reqs {
		line, err := marshalLine(r)
		if err != nil {
			t.Fatal(err)
		}
		in.Write(line)
	}
	var out strings.Builder
	if err := ServePublisher(strings.NewReader(in.String()), &out, providers, pub, nil); err != nil {
		t.Fatal(err)
	}
	got := map[uint64]Response{}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var r Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad response line %q: %v", sc.Text(), err)
		}
		got[r.ID] = r
	}
	return got
}

func TestPublishOp(t *testing.T) {
	pub := &memPublisher{got: map[string]string{}}
	doc := json.RawMessage(`{"a":1,"b":{"c":"d"}}`)
	resp := servePublish(t, pub,
		Request{ID: 1, Op: OpHello, Version: Version},
		Request{ID: 2, Op: OpPublish, Target: "mem://ok", Document: doc},
		Request{ID: 3, Op: OpPublish, Target: "s3://bucket/x", Document: doc},
		Request{ID: 4, Op: OpPublish, Target: "mem://list", Document: json.RawMessage(`[1]`)},
		Request{ID: 5, Op: OpPublish, Target: "mem://none"},
		Request{ID: 6, Op: OpPublish, Target: "mem://denied", Document: doc},
		Request{ID: 7, Op: OpPublish, Target: "mem://slow", Document: doc, TimeoutMillis: 50},
		Request{ID: 8, Op: OpPublish, Target: "mem://panic", Document: doc},
	)
	if r := resp[1]; strings.Join(r.Publish, ",") != "mem,vault-kv" || r.Version != Version {
		t.Errorf("hello = %+v, want publish [mem vault-kv]", r)
	}
	if r := resp[2]; r.Error != nil || r.Published == nil || *r.Published != (Published{Target: "mem://ok", Version: "7"}) {
		t.Errorf("publish = %+v %+v", r.Published, r.Error)
	}
	if pub.got["mem://ok"] != string(doc) {
		t.Errorf("the publisher got %q", pub.got["mem://ok"])
	}
	for id, kind := range map[uint64]Kind{3: Unsupported, 4: Invalid, 5: Invalid, 6: AccessDenied, 7: Timeout, 8: Internal} {
		r := resp[id]
		if r.Error == nil || r.Error.Kind != kind {
			t.Errorf("request %d: error %+v, want kind %s", id, r.Error, kind)
			continue
		}
		if !strings.HasPrefix(r.Error.Message, "mem://") && !strings.HasPrefix(r.Error.Message, "s3://") {
			t.Errorf("request %d: the message %q does not name the target", id, r.Error.Message)
		}
		if strings.Contains(r.Error.Message, `"c":"d"`) {
			t.Errorf("request %d: the message holds the document: %q", id, r.Error.Message)
		}
	}
}

func TestPublishWithoutPublisher(t *testing.T) {
	resp := servePublish(t, nil,
		Request{ID: 1, Op: OpHello, Version: Version},
		Request{ID: 2, Op: OpPublish, Target: "vault-kv://secret/x", Document: json.RawMessage(`{}`)},
	)
	if len(resp[1].Publish) != 0 {
		t.Errorf("hello of a companion without publisher lists %v", resp[1].Publish)
	}
	if r := resp[2]; r.Error == nil || r.Error.Kind != Unsupported {
		t.Errorf("publish without publisher = %+v", r)
	}
}

func TestPublishRequest(t *testing.T) {
	req, err := PublishRequest("vault-kv://secret/x", json.RawMessage(`{"a":1}`), 3*time.Second)
	if err != nil || req.Op != OpPublish || req.TimeoutMillis != 3000 || string(req.Document) != `{"a":1}` {
		t.Errorf("PublishRequest = %+v, %v", req, err)
	}
	big := json.RawMessage(`{"a":"` + strings.Repeat("x", MaxDocument) + `"}`)
	if _, err := PublishRequest("vault-kv://secret/x", big, time.Second); err == nil {
		t.Error("PublishRequest accepted a document longer than a request line")
	}
	if Scheme("aws-secretsmanager://a/b") != "aws-secretsmanager" || Scheme("nothing") != "" {
		t.Error("Scheme")
	}
}
