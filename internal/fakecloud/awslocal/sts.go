package awslocal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kura-secrets/kura/internal/fakecloud/sigv4"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

var (
	roleARNRE     = regexp.MustCompile(`^arn:aws[\w-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

// serveSTS answers AssumeRole (query protocol, as the SDKs send it) with
// temporary credentials that the KMS front then accepts. It checks the
// caller's signature, the role ARN and the session name as STS does, and
// refuses DeniedRole.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		stsError(w, http.StatusBadRequest, "InvalidRequest", "expected a POST with a form body")
		return
	}
	sig, fail := sigv4.Verify(r, body, "sts", s.lookup)
	switch fail {
	case sigv4.Missing:
		stsError(w, http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token")
		return
	case sigv4.UnknownKey, sigv4.BadToken:
		stsError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	case sigv4.BadSignature, sigv4.BadScope:
		stsError(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		stsError(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	if a := form.Get("Action"); a != "AssumeRole" {
		stsError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", a, form.Get("Version")))
		return
	}
	role, session := form.Get("RoleArn"), form.Get("RoleSessionName")
	if !roleARNRE.MatchString(role) {
		stsError(w, http.StatusBadRequest, "ValidationError", fmt.Sprintf("%s is invalid", role))
		return
	}
	if !sessionNameRE.MatchString(session) {
		stsError(w, http.StatusBadRequest, "ValidationError",
			fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", session))
		return
	}
	duration := 3600
	if d := form.Get("DurationSeconds"); d != "" {
		if duration, err = strconv.Atoi(d); err != nil || duration < 900 || duration > 43200 {
			stsError(w, http.StatusBadRequest, "ValidationError", "DurationSeconds must be between 900 and 43200")
			return
		}
	}
	call := AssumeRoleCall{RoleArn: role, RoleSessionName: session, AccessKeyID: sig.AccessKeyID, Region: sig.Region}
	if role == DeniedRole {
		s.mu.Lock()
		s.roleCalls = append(s.roleCalls, call)
		s.mu.Unlock()
		stsError(w, http.StatusForbidden, "AccessDenied", fmt.Sprintf(
			"User: arn:aws:iam::%s:user/kura-test is not authorized to perform: sts:AssumeRole on resource: %s", Account, role))
		return
	}

	id := "ASIA" + strings.ToUpper(randomHex(8))
	cred := credential{SecretAccessKey: randomHex(20), SessionToken: "kura-test-session-" + randomHex(32)}
	call.Granted, call.IssuedAccessKeyID = true, id
	s.mu.Lock()
	s.creds[id] = cred
	s.roleCalls = append(s.roleCalls, call)
	s.mu.Unlock()

	roleName := role[strings.LastIndex(role, "/")+1:]
	var resp struct {
		XMLName xml.Name `xml:"AssumeRoleResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  struct {
			Credentials struct {
				AccessKeyId     string
				SecretAccessKey string
				SessionToken    string
				Expiration      string
			}
			AssumedRoleUser struct {
				AssumedRoleId string
				Arn           string
			}
		} `xml:"AssumeRoleResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	resp.Xmlns = stsNamespace
	c := &resp.Result.Credentials
	c.AccessKeyId, c.SecretAccessKey, c.SessionToken = id, cred.SecretAccessKey, cred.SessionToken
	c.Expiration = time.Now().Add(time.Duration(duration) * time.Second).UTC().Format(time.RFC3339)
	resp.Result.AssumedRoleUser.AssumedRoleId = "AROAKURATEST00000001:" + session
	resp.Result.AssumedRoleUser.Arn = "arn:aws:sts::" + Account + ":assumed-role/" + roleName + "/" + session
	resp.RequestID = randomHex(16)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	xml.NewEncoder(w).Encode(resp)
}

func stsError(w http.ResponseWriter, status int, code, msg string) {
	var resp struct {
		XMLName xml.Name `xml:"ErrorResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Error   struct {
			Type    string
			Code    string
			Message string
		}
		RequestId string
	}
	resp.Xmlns = stsNamespace
	resp.Error.Type, resp.Error.Code, resp.Error.Message = "Sender", code, msg
	resp.RequestId = randomHex(16)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	xml.NewEncoder(w).Encode(resp)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
