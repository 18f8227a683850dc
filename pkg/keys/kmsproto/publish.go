package kmsproto

// The publish operation: kura decrypts a file and asks the companion to
// write the plaintext document to a secret store (HashiCorp Vault KV, AWS
// Secrets Manager), so that the stores' SDKs stay out of kura's binary as
// the key services' do. docs/key-source-protocol.md describes it under
// "publish".

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// MaxDocument bounds the document of a publish request, so that the
// request stays within the longest line a companion reads.
const MaxDocument = maxLine - 64<<10

// Published answers a publish request.
type Published struct {
	// Target is the target written, as the companion understood it.
	Target string `json:"target"`
	// Version is the store's name for what was written: the KV v2 version
	// number, the Secrets Manager version id; empty when the store has
	// none (KV v1).
	Version string `json:"version,omitempty"`
	// Created says the secret did not exist before.
	Created bool `json:"created,omitempty"`
}

// Publisher writes decrypted documents to secret stores. It is what a
// companion implements for the publish operation.
type Publisher interface {
	// Schemes lists the target schemes it handles, such as "vault-kv".
	Schemes() []string
	// Publish writes doc, a JSON object, to target, a URI of one of
	// those schemes. Errors are *Error values whose message names the
	// target and never holds the document or a credential.
	Publish(ctx context.Context, target string, doc json.RawMessage) (*Published, error)
}

// Scheme returns the scheme of a target URI: what comes before "://".
func Scheme(target string) string {
	s, _, ok := strings.Cut(target, "://")
	if !ok {
		return ""
	}
	return s
}

func publishSchemes(pub Publisher) []string {
	if pub == nil {
		return nil
	}
	s := append([]string(nil), pub.Schemes()...)
	sort.Strings(s)
	return s
}

func handlePublish(req Request, pub Publisher) (resp Response) {
	resp.ID = req.ID
	defer func() {
		if r := recover(); r != nil {
			resp = Response{ID: req.ID, Error: Errorf(Internal, "%s: publishing failed: %v", req.Target, r)}
		}
	}()
	scheme := Scheme(req.Target)
	if pub == nil || !slices.Contains(pub.Schemes(), scheme) {
		resp.Error = Errorf(Unsupported, "%s: this companion does not publish to %q targets", req.Target, scheme)
		return resp
	}
	if len(req.Document) == 0 || !json.Valid(req.Document) || !isObject(req.Document) {
		resp.Error = Errorf(Invalid, "%s: the document to publish is not a JSON object", req.Target)
		return resp
	}
	timeout := DefaultTimeout
	if req.TimeoutMillis > 0 {
		timeout = time.Duration(req.TimeoutMillis) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := pub.Publish(ctx, req.Target, req.Document)
	if err != nil {
		var e *Error
		switch {
		case errors.As(err, &e):
			resp.Error = e
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
			resp.Error = Errorf(Timeout, "%s: the secret store did not answer within %v", req.Target, timeout)
		default:
			resp.Error = Errorf(Internal, "%s: %v", req.Target, err)
		}
		return resp
	}
	if p == nil {
		p = &Published{}
	}
	if p.Target == "" {
		p.Target = req.Target
	}
	resp.Published = p
	return resp
}

func isObject(doc json.RawMessage) bool {
	for _, c := range doc {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// PublishRequest builds a publish request.
func PublishRequest(target string, doc json.RawMessage, timeout time.Duration) (Request, error) {
	if len(doc) > MaxDocument {
		return Request{}, fmt.Errorf("the document is %d bytes, more than the %d a publish request may carry", len(doc), MaxDocument)
	}
	return Request{Op: OpPublish, Target: target, Document: doc, TimeoutMillis: timeout.Milliseconds()}, nil
}
