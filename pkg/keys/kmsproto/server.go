package kmsproto

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
)

// Provider wraps and unwraps payloads with one kind of cloud key. It is
// what a companion implements per key type.
type Provider interface {
	// Wrap encrypts payload with the key k describes (k.Enc is empty) and
	// returns the stanza to store: k with Enc set, and any field the
	// service fills in. The server sets CreatedAt.
	Wrap(ctx context.Context, k keys.Stanza, payload []byte) (keys.Stanza, error)
	// Unwrap decrypts k.Enc.
	Unwrap(ctx context.Context, k keys.Stanza) ([]byte, error)
}

// DefaultTimeout bounds a request that names no timeout.
const DefaultTimeout = 30 * time.Second

// maxLine bounds one request line: a wrapped key is a few kilobytes.
const maxLine = 1 << 20

// Serve answers requests read from r on w until r ends, using the provider
// of each key type. Requests run concurrently; each answer is one line.
// now gives creation times; nil means time.Now.
func Serve(r io.Reader, w io.Writer, providers map[keys.Type]Provider, now func() time.Time) error {
	return ServePublisher(r, w, providers, nil, now)
}

// ServePublisher is Serve for a companion that also answers the publish
// operation with pub (see publish.go); nil means none.
func ServePublisher(r io.Reader, w io.Writer, providers map[keys.Type]Provider, pub Publisher, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	send := func(resp Response) {
		line, err := marshalLine(resp)
		if err != nil {
			line, _ = marshalLine(Response{ID: resp.ID, Error: Errorf(Internal, "encoding the response: %v", err)})
		}
		mu.Lock()
		defer mu.Unlock()
		w.Write(line)
	}
	types := make([]string, 0, len(providers))
	for t := range providers {
		types = append(types, string(t))
	}
	sort.Strings(types)

	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			send(Response{Error: Errorf(Invalid, "the request is not valid JSON: %v", err)})
			continue
		}
		if req.Op == OpHello {
			send(Response{ID: req.ID, Version: Version, Types: types, Publish: publishSchemes(pub)})
			continue
		}
		if req.Op == OpPublish {
			wg.Add(1)
			go func() {
				defer wg.Done()
				send(handlePublish(req, pub))
			}()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(handle(req, providers, now))
		}()
	}
	wg.Wait()
	return sc.Err()
}

func handle(req Request, providers map[keys.Type]Provider, now func() time.Time) (resp Response) {
	resp.ID = req.ID
	defer func() {
		// A provider bug must not take the other requests down.
		if r := recover(); r != nil {
			resp = Response{ID: req.ID, Error: Errorf(Internal, "key source failed: %v", r)}
		}
	}()
	if req.Key == nil {
		resp.Error = Errorf(Invalid, "the request names no key")
		return resp
	}
	p, ok := providers[keys.Type(req.Key.Type)]
	if req.KeyService != "" { // forwarded to a key service (keyservice.go)
		p, ok = providers[KeyServiceType]
	}
	if !ok {
		resp.Error = Errorf(Unsupported, "this companion does not handle %s keys", req.Key.Type)
		return resp
	}
	timeout := DefaultTimeout
	if req.TimeoutMillis > 0 {
		timeout = time.Duration(req.TimeoutMillis) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(withKeyService(context.Background(), req.KeyService), timeout)
	defer cancel()
	k := req.Key.Stanza()
	switch req.Op {
	case OpWrap:
		payload, err := DecodePayload(req.Payload)
		if err != nil || len(payload) == 0 {
			resp.Error = Errorf(Invalid, "the payload is not valid base64")
			return resp
		}
		s, err := p.Wrap(ctx, k, payload)
		if err != nil {
			resp.Error = wireError(ctx, err)
			return resp
		}
		if s.Type != keys.Age { // age entries have no created_at
			s.CreatedAt = CreatedAt(now())
		}
		resp.Key = FromStanza(&s)
	case OpUnwrap:
		payload, err := p.Unwrap(ctx, k)
		if err != nil {
			resp.Error = wireError(ctx, err)
			return resp
		}
		resp.Payload = EncodePayload(payload)
	default:
		resp.Error = Errorf(Invalid, "unknown operation %q", req.Op)
	}
	return resp
}

// wireError turns a provider error into a wire error, classifying an
// expired deadline as a timeout whatever the provider said.
func wireError(ctx context.Context, err error) *Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return Errorf(Timeout, "%s", timeoutMessage(err))
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Errorf(Internal, "%v", err)
}

func timeoutMessage(err error) string {
	return fmt.Sprintf("the key service did not answer in time (%v)", err)
}
