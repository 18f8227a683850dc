package kmsproto

// Forwarding to a key service: a wrap or unwrap request may name, in
// Request.KeyService, a sops-compatible gRPC key service that must do the
// work instead of the companion's own key sources (kura --keyservice).
// kura itself links no gRPC, so the companion forwards for it.
//
// A companion that forwards registers a Provider under KeyServiceType;
// the pseudo-type then appears in its hello answer, which is how kura
// knows it may send such requests. The provider receives every request
// that names a key service, whatever its key type, and finds the URI with
// KeyServiceOf.

import (
	"context"

	"github.com/kura-secrets/kura/pkg/keys"
)

// KeyServiceType is the providers-map entry (and the hello type) of the
// Provider that forwards requests naming a key service. It is never the
// type of a key in a file.
const KeyServiceType keys.Type = "keyservice"

type keyServiceKey struct{}

func withKeyService(ctx context.Context, uri string) context.Context {
	if uri == "" {
		return ctx
	}
	return context.WithValue(ctx, keyServiceKey{}, uri)
}

// KeyServiceOf returns the key service URI of the request being served,
// or "" when it names none.
func KeyServiceOf(ctx context.Context) string {
	s, _ := ctx.Value(keyServiceKey{}).(string)
	return s
}
