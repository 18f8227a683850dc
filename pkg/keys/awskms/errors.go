package awskms

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// classify turns an SDK error into a protocol error: one line that names
// the key's ARN, with the kind kura acts on. Service messages are kept
// only for the codes whose messages never echo request data.
func classify(k *keys.Stanza, err error) *kmsproto.Error {
	var pe *kmsproto.Error
	if errors.As(err, &pe) {
		return pe
	}
	kind, msg := describe(k, err)
	return kmsproto.Errorf(kind, "%s: %s", k.ARN, oneLine(msg, 400))
}

func describe(k *keys.Stanza, err error) (kmsproto.Kind, string) {
	var noProfile config.SharedConfigProfileNotExistError
	if errors.As(err, &noProfile) {
		return kmsproto.NoCredentials, "the AWS profile " + strconv.Quote(noProfile.Profile) + " does not exist in the shared config or credentials files"
	}

	// A failure to get credentials: the SDK found none, or STS did not let
	// us assume the role. The base credentials' failure is the innermost.
	var ce *credentialsError
	if errors.As(err, &ce) {
		if ce.role {
			var inner *credentialsError
			if !errors.As(ce.err, &inner) {
				kind, msg := describeSTS(ce.err)
				return kind, "assuming role " + k.Role + ": " + msg
			}
			ce = inner
		}
		if errors.Is(ce.err, context.DeadlineExceeded) {
			return kmsproto.Timeout, "getting AWS credentials did not finish in time"
		}
		return kmsproto.NoCredentials, noCredentials(k, ce.err)
	}

	if errors.Is(err, context.DeadlineExceeded) {
		return kmsproto.Timeout, "AWS KMS did not answer in time"
	}
	if errors.Is(err, context.Canceled) {
		return kmsproto.Timeout, "the request was cancelled"
	}
	if kind, msg, ok := describeAPI(err); ok {
		return kind, msg
	}
	if kind, msg, ok := describeNetwork(err, "AWS KMS"); ok {
		return kind, msg
	}
	var opErr *smithy.OperationError
	if errors.As(err, &opErr) {
		return kmsproto.Internal, "AWS KMS " + opErr.OperationName + " failed: " + innermost(err)
	}
	// Configuration errors (malformed shared config, bad environment
	// values) come from config.LoadDefaultConfig.
	return kmsproto.Invalid, "loading the AWS configuration: " + err.Error()
}

// noCredentials describes a failure to find the base credentials. The
// cause is kept, except a credential_process's, which may quote the
// process's output.
func noCredentials(k *keys.Stanza, err error) string {
	msg := "no AWS credentials"
	if k.AWSProfile != "" {
		msg += " for profile " + strconv.Quote(k.AWSProfile)
	}
	var proc *processcreds.ProviderError
	var sso *ssocreds.InvalidTokenError
	switch {
	case errors.As(err, &proc):
		return msg + " (the profile's credential_process failed)"
	case errors.As(err, &sso):
		return msg + " (the SSO session has expired or is missing: run aws sso login)"
	}
	if kind, netMsg, ok := describeNetwork(err, "the credentials provider"); ok && kind != kmsproto.Internal {
		return msg + " (" + netMsg + ")"
	}
	cause := strings.TrimPrefix(err.Error(), "failed to refresh cached credentials, ")
	if strings.Contains(cause, "ec2imds") {
		// The chain fell through to the instance metadata, its last
		// source.
		return msg + " in the environment, the shared config and credentials files, or the EC2 instance metadata (" + cause + ")"
	}
	return msg + " (" + cause + ")"
}

// classifyCredentials describes a failure to get the credentials a key
// needs, before any KMS call.
func classifyCredentials(k *keys.Stanza, err error) *kmsproto.Error {
	var ce *credentialsError
	if !errors.As(err, &ce) && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
		// The credentials cache gives up waiting with the context's
		// error alone.
		msg := "getting AWS credentials did not finish in time"
		if k.Role != "" {
			msg = "assuming role " + k.Role + " did not finish in time"
		}
		return kmsproto.Errorf(kmsproto.Timeout, "%s: %s", k.ARN, msg)
	}
	return classify(k, err)
}

// describeAPI describes an error answer from KMS.
func describeAPI(err error) (kmsproto.Kind, string, bool) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", "", false
	}
	code, text := ae.ErrorCode(), ae.ErrorMessage()
	with := func(s string) string {
		if text == "" {
			return s + " (" + code + ")"
		}
		return s + " (" + code + ": " + text + ")"
	}
	switch code {
	case "AccessDeniedException":
		return kmsproto.AccessDenied, with("access denied"), true
	case "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignatureException",
		"MissingAuthenticationTokenException", "InvalidClientTokenId", "SignatureDoesNotMatch":
		return kmsproto.AccessDenied, with("AWS KMS refused the credentials"), true
	case "ExpiredTokenException", "ExpiredToken", "RequestExpired":
		return kmsproto.AccessDenied, with("the AWS credentials have expired"), true
	case "NotFoundException":
		return kmsproto.NotFound, with("the key does not exist in this account and region"), true
	case "DisabledException":
		return kmsproto.NotFound, with("the key is disabled"), true
	case "KMSInvalidStateException":
		return kmsproto.NotFound, with("the key cannot be used in its current state"), true
	case "KeyUnavailableException":
		return kmsproto.NotFound, with("the key is unavailable"), true
	case "InvalidCiphertextException":
		return kmsproto.WrongKey, "AWS KMS refused the ciphertext: it was not made with this key and encryption context, or it was changed (InvalidCiphertextException)", true
	case "IncorrectKeyException":
		return kmsproto.WrongKey, "the ciphertext was made with another KMS key (IncorrectKeyException)", true
	case "InvalidKeyUsageException":
		return kmsproto.Invalid, with("the key cannot encrypt and decrypt"), true
	case "ValidationException", "InvalidArnException", "SerializationException":
		// Validation messages may quote request fields, the payload
		// among them: keep the code only.
		return kmsproto.Invalid, "AWS KMS refused the request (" + code + ")", true
	case "KMSInternalException", "DependencyTimeoutException", "InternalFailure", "ServiceUnavailable",
		"ThrottlingException", "Throttling", "LimitExceededException", "RequestLimitExceeded":
		return kmsproto.Unreachable, "AWS KMS is not available now (" + code + ")", true
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return kmsproto.Unreachable, "AWS KMS is not available now (" + code + ", HTTP " + strconv.Itoa(re.HTTPStatusCode()) + ")", true
	}
	return kmsproto.Internal, with("AWS KMS refused the request"), true
}

// describeSTS describes a failure to assume the role.
func describeSTS(err error) (kmsproto.Kind, string) {
	if errors.Is(err, context.DeadlineExceeded) {
		return kmsproto.Timeout, "AWS STS did not answer in time"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, text := ae.ErrorCode(), ae.ErrorMessage()
		with := func(s string) string { return s + " (" + code + ": " + text + ")" }
		switch code {
		case "AccessDenied", "AccessDeniedException":
			return kmsproto.AccessDenied, with("not authorized to assume the role")
		case "InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken":
			return kmsproto.AccessDenied, with("AWS STS refused the credentials")
		case "ExpiredToken", "ExpiredTokenException":
			return kmsproto.AccessDenied, with("the AWS credentials have expired")
		case "RegionDisabledException":
			return kmsproto.AccessDenied, with("STS is not activated in this region")
		case "ValidationError", "MalformedPolicyDocument", "PackedPolicyTooLarge":
			return kmsproto.Invalid, with("AWS STS refused the request")
		}
		return kmsproto.Internal, with("AWS STS refused the request")
	}
	if kind, msg, ok := describeNetwork(err, "AWS STS"); ok {
		return kind, msg
	}
	return kmsproto.Internal, innermost(err)
}

// describeNetwork describes a failure to reach a service.
func describeNetwork(err error, service string) (kmsproto.Kind, string, bool) {
	host := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
	}
	at := service
	if host != "" {
		at += " at " + host
	}
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return kmsproto.Unreachable, "cannot reach " + at + ": cannot resolve " + dns.Name, true
	case errors.Is(err, syscall.ECONNREFUSED):
		return kmsproto.Unreachable, "cannot reach " + at + ": connection refused", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return kmsproto.Unreachable, "cannot reach " + at + ": no route to host", true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return kmsproto.Timeout, at + " did not answer in time", true
	}
	var se *smithyhttp.RequestSendError
	var oe *net.OpError
	if errors.As(err, &se) || errors.As(err, &oe) || ue != nil {
		return kmsproto.Unreachable, "cannot reach " + at + ": " + innermost(err), true
	}
	return "", "", false
}

// innermost is the text of the deepest error in a chain: the cause
// without the SDK's layers of context.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// oneLine squeezes a message onto one line of at most n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
