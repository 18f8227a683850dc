package gcpkms

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"google.golang.org/api/googleapi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

type op int

const (
	opEncrypt op = iota
	opDecrypt
)

// classify turns a failed call into a protocol error of the right kind,
// naming the key and never a secret.
func (s *service) classify(ctx context.Context, o op, id string, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return kmsproto.Errorf(kmsproto.Timeout, "GCP KMS key %s: no answer from %s in time", id, s.endpoint)
	}
	code, msg, ok := statusOf(err)
	if !ok {
		return s.classifyTransport(id, err)
	}
	detail := s.redact(msg)
	switch code {
	case codes.Unauthenticated:
		if cause, ok := strings.CutPrefix(msg, "transport: per-RPC creds failed due to error: "); ok {
			return s.noToken(id, cause)
		}
		return kmsproto.Errorf(kmsproto.NoCredentials, "GCP KMS key %s: the service did not accept %s (%s)", id, s.creds, detail)
	case codes.PermissionDenied:
		return kmsproto.Errorf(kmsproto.AccessDenied, "GCP KMS key %s: permission denied (%s)", id, detail)
	case codes.NotFound:
		return kmsproto.Errorf(kmsproto.NotFound, "GCP KMS key %s: not found (%s)", id, detail)
	case codes.FailedPrecondition:
		return kmsproto.Errorf(kmsproto.NotFound, "GCP KMS key %s: the key cannot be used, it is disabled or destroyed (%s)", id, detail)
	case codes.InvalidArgument, codes.OutOfRange:
		if o == opDecrypt {
			return kmsproto.Errorf(kmsproto.WrongKey, "GCP KMS key %s: the key does not decrypt this data key: it was encrypted with another key, or changed (%s)", id, detail)
		}
		return kmsproto.Errorf(kmsproto.Invalid, "GCP KMS key %s: the service refused the request (%s)", id, detail)
	case codes.Unavailable:
		return kmsproto.Errorf(kmsproto.Unreachable, "GCP KMS key %s: the service at %s is unavailable (%s)", id, s.endpoint, detail)
	case codes.DeadlineExceeded, codes.Canceled:
		return kmsproto.Errorf(kmsproto.Timeout, "GCP KMS key %s: no answer from %s in time (%s)", id, s.endpoint, detail)
	case codes.ResourceExhausted:
		return kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: the service is rationing requests (quota exceeded): %s", id, detail)
	}
	return kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: the service failed (%s: %s)", id, code, detail)
}

// classifyTransport classifies a failure that carries no status: the
// REST client's network and credential errors.
func (s *service) classifyTransport(id string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// The request to the service was not sent because the
		// credentials gave no token.
		if fromCredentials(ue.Err) {
			return s.noToken(id, ue.Err.Error())
		}
		if ue.Err != nil {
			err = ue.Err
		}
	}
	if isNetwork(err) {
		return kmsproto.Errorf(kmsproto.Unreachable, "GCP KMS key %s: cannot reach the service at %s (%s)", id, s.endpoint, s.redact(err.Error()))
	}
	return kmsproto.Errorf(kmsproto.Internal, "GCP KMS key %s: %s", id, s.redact(err.Error()))
}

// noToken is the error for credentials that gave no token.
func (s *service) noToken(id, cause string) error {
	hint := ""
	if s.creds == adc {
		hint = " (set " + EnvCredentials + " or " + EnvAccessToken + ", or run gcloud auth application-default login)"
	}
	// The URL of a failed token request carries the scopes: noise.
	cause = urlQuery.ReplaceAllString(cause, "")
	return kmsproto.Errorf(kmsproto.NoCredentials, "GCP KMS key %s: no token from %s%s: %s", id, s.creds, hint, s.redact(cause))
}

// fromCredentials reports whether the failure of a REST request came
// from its credentials: their own request (to a token endpoint, the
// metadata server) failed, or Google's auth library refused them (its
// errors start so).
func fromCredentials(err error) bool {
	if err == nil {
		return false
	}
	var nested *url.Error
	if errors.As(err, &nested) {
		return true
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "credentials:") || strings.HasPrefix(msg, "auth:") || strings.Contains(msg, "universe domain")
}

var urlQuery = regexp.MustCompile(`\?[^\s"]*`)

// isNetwork reports whether err comes from the connection itself: dial,
// DNS, TLS, a dropped connection.
func isNetwork(err error) bool {
	var (
		ne   net.Error
		ua   x509.UnknownAuthorityError
		he   x509.HostnameError
		ci   x509.CertificateInvalidError
		rh   tls.RecordHeaderError
		verr *tls.CertificateVerificationError
	)
	return errors.As(err, &ne) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		errors.As(err, &rh) || errors.As(err, &verr) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "server gave HTTP response")
}

// statusOf returns the gRPC code and message of a service error: a gRPC
// status, or a REST error (whose JSON body names the status, which the
// HTTP code alone does not tell: FailedPrecondition and InvalidArgument
// are both 400).
func statusOf(err error) (codes.Code, string, bool) {
	var he *googleapi.Error
	if errors.As(err, &he) {
		c := httpCode(he.Code)
		var body struct {
			Error struct {
				Status string `json:"status"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(he.Body), &body) == nil && body.Error.Status != "" {
			var sc codes.Code
			if sc.UnmarshalJSON([]byte(`"`+body.Error.Status+`"`)) == nil {
				c = sc
			}
		}
		msg := he.Message
		if msg == "" {
			msg = http.StatusText(he.Code)
		}
		return c, msg, true
	}
	if st, ok := status.FromError(err); ok && err != nil {
		return st.Code(), st.Message(), true
	}
	return codes.Unknown, "", false
}

func httpCode(c int) codes.Code {
	switch c {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	}
	return codes.Unknown
}

// transient reports whether a failed call is worth repeating: the service
// was briefly unavailable, but did not refuse the connection.
func transient(err error) bool {
	code, msg, ok := statusOf(err)
	if !ok || code != codes.Unavailable {
		return false
	}
	for _, s := range []string{"connection refused", "no such host", "certificate", "x509", "tls:", "handshake", "network is unreachable"} {
		if strings.Contains(msg, s) {
			return false
		}
	}
	return true
}

// redact makes a message of one line, without any secret the service
// knows of, and not too long.
func (s *service) redact(msg string) string {
	for _, secret := range s.secrets {
		if len(secret) >= 8 {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return oneLine(msg)
}

func oneLine(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	const max = 400
	if len(msg) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}
