package gcpfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ServeHTTP answers gRPC (HTTP/2 with a gRPC content type), the REST
// form of Encrypt and Decrypt (POST /v1/{name}:encrypt and :decrypt with
// JSON bodies) and the OAuth token endpoint of CredentialsJSON (/token).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		s.grpc.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/token" {
		s.serveToken(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	i := strings.LastIndexByte(path, ':')
	if !ok || i < 0 {
		writeError(w, status.Errorf(codes.NotFound, "The requested URL %s was not found on this server.", r.URL.Path))
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, status.Errorf(codes.Unimplemented, "method %s is not allowed", r.Method))
		return
	}
	name, method := path[:i], path[i+1:]
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, status.Errorf(codes.InvalidArgument, "reading the request: %v", err))
		return
	}
	unm := protojson.UnmarshalOptions{DiscardUnknown: true}
	authz := r.Header.Get("Authorization")
	var resp proto.Message
	switch method {
	case "encrypt":
		var req kmspb.EncryptRequest
		if err = unm.Unmarshal(body, &req); err == nil {
			req.Name = name
			resp, err = s.encrypt(authz, &req)
		}
	case "decrypt":
		var req kmspb.DecryptRequest
		if err = unm.Unmarshal(body, &req); err == nil {
			req.Name = name
			resp, err = s.decrypt(authz, &req)
		}
	default:
		err = status.Errorf(codes.Unimplemented, "gcpfake serves Encrypt and Decrypt only, not %s", method)
	}
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = status.Errorf(codes.InvalidArgument, "Invalid JSON payload received. %v", err)
		}
		writeError(w, err)
		return
	}
	out, err := protojson.Marshal(resp)
	if err != nil {
		writeError(w, status.Error(codes.Internal, err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(out)
}

// httpStatus is the HTTP status Google's REST APIs give each gRPC code.
var httpStatus = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.FailedPrecondition: http.StatusBadRequest,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
}

// writeError writes a status as Google's REST APIs do:
// {"error": {"code": 403, "message": "...", "status": "PERMISSION_DENIED"}}.
func writeError(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	hs, ok := httpStatus[st.Code()]
	if !ok {
		hs = http.StatusInternalServerError
	}
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code":    hs,
		"message": st.Message(),
		"status":  code.Code(st.Code()).String(),
	}})
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(hs)
	w.Write(body)
}
