// Package sigv4 checks AWS Signature Version 4 on requests to the
// loopback fakes of AWS services (awslocal's KMS and STS fronts, the
// Secrets Manager fake), as the AWS SDKs sign them.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Failure says why a request's signature was refused.
type Failure int

// The failures.
const (
	OK           Failure = iota
	Missing              // no Authorization header, or not SigV4
	UnknownKey           // the access key id is not known
	BadToken             // the session token does not go with the key
	BadScope             // the scope names another service or day
	BadSignature         // the signature does not match
)

// Credential is a known access key's secret and session token.
type Credential struct {
	SecretAccessKey, SessionToken string
}

// Signed is what a verified request says about its signer.
type Signed struct {
	AccessKeyID string
	Region      string
	Service     string
}

// Verify checks a request signed with AWS Signature Version 4 in the
// Authorization header against the known credentials. body is the
// request body, already read.
func Verify(r *http.Request, body []byte, service string, lookup func(id string) (Credential, bool)) (Signed, Failure) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return Signed{}, Missing
	}
	var credScope, signedHeaders, signature string
	for _, f := range strings.Split(auth[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			credScope = v
		case "SignedHeaders":
			signedHeaders = v
		case "Signature":
			signature = v
		}
	}
	parts := strings.Split(credScope, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || signedHeaders == "" || signature == "" {
		return Signed{}, Missing
	}
	s := Signed{AccessKeyID: parts[0], Region: parts[2], Service: parts[3]}
	cred, ok := lookup(s.AccessKeyID)
	if !ok {
		return s, UnknownKey
	}
	if r.Header.Get("X-Amz-Security-Token") != cred.SessionToken {
		return s, BadToken
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if s.Service != service || !strings.HasPrefix(amzDate, parts[1]) {
		return s, BadScope
	}

	var canon strings.Builder
	canon.WriteString(r.Method + "\n")
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canon.WriteString(path + "\n")
	canon.WriteString(canonicalQuery(r.URL.RawQuery) + "\n")
	for _, name := range strings.Split(signedHeaders, ";") {
		canon.WriteString(name + ":" + headerValue(r, name) + "\n")
	}
	canon.WriteString("\n" + signedHeaders + "\n")
	payload := sha256.Sum256(body)
	canon.WriteString(hex.EncodeToString(payload[:]))

	canonHash := sha256.Sum256([]byte(canon.String()))
	scope := strings.Join(parts[1:], "/")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(canonHash[:])

	key := []byte("AWS4" + cred.SecretAccessKey)
	for _, p := range parts[1:] {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return s, BadSignature
	}
	return s, OK
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	for _, vs := range q {
		sort.Strings(vs)
	}
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}

// headerValue is a signed header's canonical value: its values trimmed,
// runs of spaces collapsed, joined by commas.
func headerValue(r *http.Request, name string) string {
	var values []string
	switch name {
	case "host":
		values = []string{r.Host}
	case "content-length":
		if v := r.Header.Get("Content-Length"); v != "" {
			values = []string{v}
		} else {
			values = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	default:
		values = r.Header.Values(name)
	}
	for i, v := range values {
		values[i] = strings.Join(strings.Fields(v), " ")
	}
	return strings.Join(values, ",")
}
