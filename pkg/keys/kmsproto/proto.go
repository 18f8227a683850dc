// Package kmsproto is the protocol between kura and a key-source companion
// process such as kura-kms: newline-delimited JSON messages on the
// companion's standard input and output.
//
// kura keeps the cloud SDKs out of its own binary, because Go runs the
// initialisers of every linked package at every start, and most runs need
// no cloud key. When a file or a flag names a cloud key, kura starts one
// companion for the whole run and sends it wrap and unwrap requests.
// docs/key-source-protocol.md describes the protocol for people who want
// to write a companion of their own.
package kmsproto

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
)

// Version is the protocol version this package speaks.
const Version = 1

// Operations.
const (
	OpHello  = "hello"
	OpWrap   = "wrap"
	OpUnwrap = "unwrap"
	// OpPublish writes a decrypted document to a secret store (see
	// publish.go).
	OpPublish = "publish"
)

// Request is one message from kura to the companion.
type Request struct {
	// ID is chosen by kura and echoed in the response; responses may come
	// in any order.
	ID uint64 `json:"id"`
	Op string `json:"op"`
	// Version is the protocol version kura speaks (hello only).
	Version int `json:"version,omitempty"`
	// Key is the master key: the stanza as stored in the metadata, with
	// "enc" holding the wrapped payload for unwrap and empty for wrap.
	Key *Key `json:"key,omitempty"`
	// Payload is the data key or Shamir share to wrap, in standard
	// base64 (wrap only).
	Payload string `json:"payload,omitempty"`
	// TimeoutMillis bounds the work on this request, including every
	// network call; the companion gives up and answers "timeout" after it.
	TimeoutMillis int64 `json:"timeout_ms,omitempty"`
	// KeyService (wrap and unwrap, see keyservice.go): the URI of a
	// sops-compatible key service that must do the work instead of the
	// companion's own key sources.
	KeyService string `json:"keyservice,omitempty"`

	// publish only (see publish.go): the target URI and the decrypted
	// document, a JSON object.
	Target   string          `json:"target,omitempty"`
	Document json.RawMessage `json:"document,omitempty"`
}

// Response is one message from the companion to kura.
type Response struct {
	ID uint64 `json:"id"`
	// Version and Types answer hello: the protocol version and the key
	// types the companion handles.
	Version int      `json:"version,omitempty"`
	Types   []string `json:"types,omitempty"`
	// Key answers wrap: the stanza to store, with "enc" and "created_at"
	// set and any field the service filled in (such as an Azure key
	// version).
	Key *Key `json:"key,omitempty"`
	// Payload answers unwrap, in standard base64.
	Payload string `json:"payload,omitempty"`
	Error   *Error `json:"error,omitempty"`

	// Publish answers hello: the target schemes the companion can publish
	// to, such as "vault-kv"; none for a companion without the publish op.
	Publish []string `json:"publish,omitempty"`
	// Published answers publish (see publish.go).
	Published *Published `json:"published,omitempty"`
}

// Key is a stanza on the wire. Field names are those of the metadata.
type Key struct {
	Type         string            `json:"type"`
	Enc          string            `json:"enc,omitempty"`
	CreatedAt    string            `json:"created_at,omitempty"`
	ARN          string            `json:"arn,omitempty"`
	Role         string            `json:"role,omitempty"`
	Context      map[string]string `json:"context,omitempty"`
	AWSProfile   string            `json:"aws_profile,omitempty"`
	ResourceID   string            `json:"resource_id,omitempty"`
	VaultURL     string            `json:"vault_url,omitempty"`
	Name         string            `json:"name,omitempty"`
	Version      string            `json:"version,omitempty"`
	VaultAddress string            `json:"vault_address,omitempty"`
	EnginePath   string            `json:"engine_path,omitempty"`
	KeyName      string            `json:"key_name,omitempty"`
	KeyID        string            `json:"key_id,omitempty"`
	// Recipient (age) and Fingerprint (pgp) appear only in requests
	// forwarded to a key service: the companion has no age or PGP source
	// of its own.
	Recipient   string `json:"recipient,omitempty"`
	Fingerprint string `json:"fp,omitempty"`
}

// FromStanza converts a stanza for the wire.
func FromStanza(s *keys.Stanza) *Key {
	return &Key{
		Type: string(s.Type), Enc: s.Enc, CreatedAt: s.CreatedAt,
		ARN: s.ARN, Role: s.Role, Context: s.Context, AWSProfile: s.AWSProfile,
		ResourceID: s.ResourceID,
		VaultURL:   s.AzureVaultURL, Name: s.AzureName, Version: s.AzureVersion,
		VaultAddress: s.VaultAddress, EnginePath: s.VaultEnginePath, KeyName: s.VaultKeyName,
		KeyID:     s.KeyID,
		Recipient: s.Recipient, Fingerprint: s.Fingerprint,
	}
}

// Stanza converts a wire key back.
func (k *Key) Stanza() keys.Stanza {
	return keys.Stanza{
		Type: keys.Type(k.Type), Enc: k.Enc, CreatedAt: k.CreatedAt,
		ARN: k.ARN, Role: k.Role, Context: k.Context, AWSProfile: k.AWSProfile,
		ResourceID:    k.ResourceID,
		AzureVaultURL: k.VaultURL, AzureName: k.Name, AzureVersion: k.Version,
		VaultAddress: k.VaultAddress, VaultEnginePath: k.EnginePath, VaultKeyName: k.KeyName,
		KeyID:     k.KeyID,
		Recipient: k.Recipient, Fingerprint: k.Fingerprint,
	}
}

// Kind classifies a failure so that kura can explain it and decide what
// to try next. Every kind means "this key did not work"; kura goes on to
// the next key either way.
type Kind string

// Failure kinds.
const (
	// NoCredentials: the companion found no credentials for the service.
	NoCredentials Kind = "no-credentials"
	// AccessDenied: the credentials are not allowed to use the key.
	AccessDenied Kind = "access-denied"
	// NotFound: the key does not exist (or is disabled).
	NotFound Kind = "not-found"
	// Unreachable: the service could not be reached.
	Unreachable Kind = "unreachable"
	// Timeout: the request did not finish in time.
	Timeout Kind = "timeout"
	// WrongKey: the service refused the ciphertext: it was not made with
	// this key, or it was changed.
	WrongKey Kind = "wrong-key"
	// Invalid: the key description itself is wrong (a malformed ARN).
	Invalid Kind = "invalid"
	// Unsupported: the companion does not handle this key type.
	Unsupported Kind = "unsupported"
	// Internal: anything else.
	Internal Kind = "internal"
)

// Error is a failure on the wire. Message is one line for a person; it
// names the key and never holds key material.
type Error struct {
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err: its own for an *Error, Internal
// otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// EncodePayload and DecodePayload convert payloads for the wire.
func EncodePayload(p []byte) string { return base64.StdEncoding.EncodeToString(p) }

// DecodePayload decodes a payload field.
func DecodePayload(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// CreatedAt formats a creation time as the metadata stores it.
func CreatedAt(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// marshalLine encodes one message as a line.
func marshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
