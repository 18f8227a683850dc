package keyservice

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// The service and method names of keyservice.proto, which declares no
// package.
const (
	ServiceName   = "KeyService"
	EncryptMethod = "/KeyService/Encrypt"
	DecryptMethod = "/KeyService/Decrypt"
)

// Handler serves the key service.
type Handler interface {
	Encrypt(ctx context.Context, req *EncryptRequest) (*EncryptResponse, error)
	Decrypt(ctx context.Context, req *DecryptRequest) (*DecryptResponse, error)
}

// NewServer returns a gRPC server that uses this package's codec, with
// the given options.
func NewServer(opts ...grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts, grpc.ForceServerCodec(Codec{}))...)
}

// Register registers h as the KeyService of s, a server made with
// NewServer.
func Register(s *grpc.Server, h Handler) {
	s.RegisterService(&serviceDesc, h)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Handler)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Encrypt", Handler: encryptHandler},
		{MethodName: "Decrypt", Handler: decryptHandler},
	},
	Metadata: "keyservice.proto",
}

func encryptHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(EncryptRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	call := func(ctx context.Context, req any) (any, error) {
		return srv.(Handler).Encrypt(ctx, req.(*EncryptRequest))
	}
	if interceptor == nil {
		return call(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: EncryptMethod}, call)
}

func decryptHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(DecryptRequest)
	if err := dec(in); err != nil {
		return nil, err
	}
	call := func(ctx context.Context, req any) (any, error) {
		return srv.(Handler).Decrypt(ctx, req.(*DecryptRequest))
	}
	if interceptor == nil {
		return call(ctx, in)
	}
	return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: DecryptMethod}, call)
}

// Client calls a key service.
type Client struct {
	cc grpc.ClientConnInterface
}

// NewClient returns a client that calls the service over cc.
func NewClient(cc grpc.ClientConnInterface) *Client { return &Client{cc: cc} }

// Encrypt wraps req.Plaintext with req.Key.
func (c *Client) Encrypt(ctx context.Context, req *EncryptRequest) (*EncryptResponse, error) {
	out := new(EncryptResponse)
	if err := c.cc.Invoke(ctx, EncryptMethod, req, out, grpc.ForceCodec(Codec{})); err != nil {
		return nil, err
	}
	return out, nil
}

// Decrypt unwraps req.Ciphertext with req.Key.
func (c *Client) Decrypt(ctx context.Context, req *DecryptRequest) (*DecryptResponse, error) {
	out := new(DecryptResponse)
	if err := c.cc.Invoke(ctx, DecryptMethod, req, out, grpc.ForceCodec(Codec{})); err != nil {
		return nil, err
	}
	return out, nil
}

// kinds maps kura's failure kinds to gRPC codes and back. sops's own
// server answers most failures with codes.Unknown, which maps to
// kmsproto.Internal.
var kinds = []struct {
	kind kmsproto.Kind
	code codes.Code
}{
	{kmsproto.NoCredentials, codes.FailedPrecondition},
	{kmsproto.AccessDenied, codes.PermissionDenied},
	{kmsproto.NotFound, codes.NotFound},
	{kmsproto.Unreachable, codes.Unavailable},
	{kmsproto.Timeout, codes.DeadlineExceeded},
	{kmsproto.WrongKey, codes.InvalidArgument},
	{kmsproto.Invalid, codes.InvalidArgument},
	{kmsproto.Unsupported, codes.Unimplemented},
	{kmsproto.Internal, codes.Internal},
}

// StatusError turns a key source's error into a gRPC status error for
// the client: a missing identity or credential becomes
// FailedPrecondition, and a kmsproto error the code of its kind. The
// message is the error's, on one line.
func StatusError(err error) error {
	if err == nil {
		return nil
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if errors.Is(err, keys.ErrNoIdentity) {
		return status.Error(codes.FailedPrecondition, msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return status.Error(codes.DeadlineExceeded, msg)
	}
	var e *kmsproto.Error
	if errors.As(err, &e) {
		for _, k := range kinds {
			if k.kind == e.Kind {
				return status.Error(k.code, msg)
			}
		}
	}
	return status.Error(codes.Internal, msg)
}

// WireError turns an error from a key service call into a kmsproto error
// whose message names the service, for the companion protocol.
func WireError(service string, err error) *kmsproto.Error {
	st, ok := status.FromError(err)
	if !ok {
		return kmsproto.Errorf(kmsproto.Internal, "key service %s: %v", service, err)
	}
	kind := kmsproto.Internal
	for _, k := range kinds {
		if k.code == st.Code() {
			kind = k.kind
			break
		}
	}
	msg := strings.Join(strings.Fields(st.Message()), " ")
	if st.Code() == codes.Unavailable {
		// gRPC's own words for a refused connection are long; keep the
		// gist.
		msg = "cannot connect: " + msg
	}
	return kmsproto.Errorf(kind, "key service %s: %s", service, msg)
}

// KeyName names a key in messages and logs: its type and identity, never
// key material.
func KeyName(k *keys.Stanza) string {
	if k.Type == "" {
		return "(no key)"
	}
	return fmt.Sprintf("%s %s", k.Type, k.Identity())
}
