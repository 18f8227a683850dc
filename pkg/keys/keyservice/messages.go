package keyservice

import (
	"errors"
	"fmt"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kura-secrets/kura/pkg/keys"
)

// EncryptRequest asks the service to wrap Plaintext (a data key or a
// Shamir share) with Key.
type EncryptRequest struct {
	Key       keys.Stanza // Enc and CreatedAt are not sent
	Plaintext []byte
}

// EncryptResponse is the wrapped payload: the key entry's "enc".
type EncryptResponse struct {
	Ciphertext []byte
}

// DecryptRequest asks the service to unwrap Ciphertext (a key entry's
// "enc") with Key.
type DecryptRequest struct {
	Key        keys.Stanza // Enc and CreatedAt are not sent
	Ciphertext []byte
}

// DecryptResponse is the unwrapped payload.
type DecryptResponse struct {
	Plaintext []byte
}

// Field numbers of keyservice.proto.
const (
	fieldRequestKey  protowire.Number = 1 // EncryptRequest.key, DecryptRequest.key
	fieldRequestData protowire.Number = 2 // EncryptRequest.plaintext, DecryptRequest.ciphertext
	fieldResponse    protowire.Number = 1 // EncryptResponse.ciphertext, DecryptResponse.plaintext
)

// keyFields are the members of the Key oneof, by field number.
var keyFields = map[protowire.Number]keys.Type{
	1: keys.KMS,
	2: keys.PGP,
	3: keys.GCPKMS,
	4: keys.AzureKV,
	5: keys.Vault,
	6: keys.Age,
	7: keys.HCKMS,
}

func keyField(t keys.Type) (protowire.Number, bool) {
	for n, kt := range keyFields {
		if kt == t {
			return n, true
		}
	}
	return 0, false
}

// ErrUnknownKeyType means a Key of a type keyservice.proto does not have.
var ErrUnknownKeyType = errors.New("key type unknown to the key service protocol")

// Marshal encodes the request.
func (m *EncryptRequest) Marshal() ([]byte, error) { return marshalRequest(&m.Key, m.Plaintext) }

// Unmarshal decodes a request, replacing m.
func (m *EncryptRequest) Unmarshal(b []byte) error {
	*m = EncryptRequest{}
	return unmarshalRequest(b, &m.Key, &m.Plaintext)
}

// Marshal encodes the request.
func (m *DecryptRequest) Marshal() ([]byte, error) { return marshalRequest(&m.Key, m.Ciphertext) }

// Unmarshal decodes a request, replacing m.
func (m *DecryptRequest) Unmarshal(b []byte) error {
	*m = DecryptRequest{}
	return unmarshalRequest(b, &m.Key, &m.Ciphertext)
}

// Marshal encodes the response.
func (m *EncryptResponse) Marshal() ([]byte, error) {
	return appendBytes(nil, fieldResponse, m.Ciphertext), nil
}

// Unmarshal decodes a response, replacing m.
func (m *EncryptResponse) Unmarshal(b []byte) error {
	*m = EncryptResponse{}
	return unmarshalBytesField(b, fieldResponse, &m.Ciphertext)
}

// Marshal encodes the response.
func (m *DecryptResponse) Marshal() ([]byte, error) {
	return appendBytes(nil, fieldResponse, m.Plaintext), nil
}

// Unmarshal decodes a response, replacing m.
func (m *DecryptResponse) Unmarshal(b []byte) error {
	*m = DecryptResponse{}
	return unmarshalBytesField(b, fieldResponse, &m.Plaintext)
}

func marshalRequest(k *keys.Stanza, data []byte) ([]byte, error) {
	key, err := MarshalKey(k)
	if err != nil {
		return nil, err
	}
	b := appendMessage(nil, fieldRequestKey, key)
	return appendBytes(b, fieldRequestData, data), nil
}

func unmarshalRequest(b []byte, k *keys.Stanza, data *[]byte) error {
	return walk(b, func(num protowire.Number) bool { return num == fieldRequestKey || num == fieldRequestData },
		func(num protowire.Number, v []byte) error {
			if num == fieldRequestKey {
				// A message field seen twice is merged, as protobuf does.
				return unmarshalKeyInto(v, k)
			}
			*data = clone(v)
			return nil
		})
}

func unmarshalBytesField(b []byte, want protowire.Number, dst *[]byte) error {
	return walk(b, func(num protowire.Number) bool { return num == want },
		func(_ protowire.Number, v []byte) error {
			*dst = clone(v)
			return nil
		})
}

// MarshalKey encodes a Key message: the oneof member of k.Type with the
// fields of that type.
func MarshalKey(k *keys.Stanza) ([]byte, error) {
	num, ok := keyField(k.Type)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKeyType, k.Type)
	}
	var in []byte
	switch k.Type {
	case keys.KMS:
		in = appendString(in, 1, k.ARN)
		in = appendString(in, 2, k.Role)
		names := make([]string, 0, len(k.Context))
		for name := range k.Context {
			names = append(names, name)
		}
		sort.Strings(names) // deterministic, as protobuf's deterministic mode
		for _, name := range names {
			// A map entry always holds both its key and its value.
			var e []byte
			e = protowire.AppendTag(e, 1, protowire.BytesType)
			e = protowire.AppendString(e, name)
			e = protowire.AppendTag(e, 2, protowire.BytesType)
			e = protowire.AppendString(e, k.Context[name])
			in = appendMessage(in, 3, e)
		}
		in = appendString(in, 4, k.AWSProfile)
	case keys.PGP:
		in = appendString(in, 1, k.Fingerprint)
	case keys.GCPKMS:
		in = appendString(in, 1, k.ResourceID)
	case keys.AzureKV:
		in = appendString(in, 1, k.AzureVaultURL)
		in = appendString(in, 2, k.AzureName)
		in = appendString(in, 3, k.AzureVersion)
	case keys.Vault:
		in = appendString(in, 1, k.VaultAddress)
		in = appendString(in, 2, k.VaultEnginePath)
		in = appendString(in, 3, k.VaultKeyName)
	case keys.Age:
		in = appendString(in, 1, k.Recipient)
	case keys.HCKMS:
		in = appendString(in, 1, k.KeyID)
	}
	// The member is written even when all its fields are empty: a oneof
	// member is present or not.
	return appendMessage(nil, num, in), nil
}

// UnmarshalKey decodes a Key message. A Key with no member, or only
// members this package does not know, gives a Stanza with an empty Type.
func UnmarshalKey(b []byte) (keys.Stanza, error) {
	var k keys.Stanza
	err := unmarshalKeyInto(b, &k)
	return k, err
}

func unmarshalKeyInto(b []byte, k *keys.Stanza) error {
	return walk(b, func(num protowire.Number) bool { _, ok := keyFields[num]; return ok },
		func(num protowire.Number, v []byte) error {
			t := keyFields[num]
			if k.Type != t {
				// Another member replaces the previous one.
				*k = keys.Stanza{Type: t}
			}
			return unmarshalKeyMember(v, k)
		})
}

// unmarshalKeyMember decodes the message of one oneof member into k,
// whose Type is set.
func unmarshalKeyMember(b []byte, k *keys.Stanza) error {
	var fields map[protowire.Number]*string
	switch k.Type {
	case keys.KMS:
		fields = map[protowire.Number]*string{1: &k.ARN, 2: &k.Role, 4: &k.AWSProfile}
	case keys.PGP:
		fields = map[protowire.Number]*string{1: &k.Fingerprint}
	case keys.GCPKMS:
		fields = map[protowire.Number]*string{1: &k.ResourceID}
	case keys.AzureKV:
		fields = map[protowire.Number]*string{1: &k.AzureVaultURL, 2: &k.AzureName, 3: &k.AzureVersion}
	case keys.Vault:
		fields = map[protowire.Number]*string{1: &k.VaultAddress, 2: &k.VaultEnginePath, 3: &k.VaultKeyName}
	case keys.Age:
		fields = map[protowire.Number]*string{1: &k.Recipient}
	case keys.HCKMS:
		fields = map[protowire.Number]*string{1: &k.KeyID}
	}
	isMap := func(num protowire.Number) bool { return k.Type == keys.KMS && num == 3 }
	return walk(b, func(num protowire.Number) bool { return fields[num] != nil || isMap(num) },
		func(num protowire.Number, v []byte) error {
			if isMap(num) {
				name, value, err := unmarshalMapEntry(v)
				if err != nil {
					return fmt.Errorf("kms_key.context: %w", err)
				}
				if k.Context == nil {
					k.Context = map[string]string{}
				}
				k.Context[name] = value
				return nil
			}
			*fields[num] = string(v)
			return nil
		})
}

func unmarshalMapEntry(b []byte) (name, value string, err error) {
	err = walk(b, func(num protowire.Number) bool { return num == 1 || num == 2 },
		func(num protowire.Number, v []byte) error {
			if num == 1 {
				name = string(v)
			} else {
				value = string(v)
			}
			return nil
		})
	return name, value, err
}

// walk calls fn for each field of b whose number known accepts; those
// must be length-delimited (every field of keyservice.proto is a string,
// bytes, a message or a map). Other fields are skipped.
func walk(b []byte, known func(protowire.Number) bool, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if !known(num) {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("field %d has wire type %d, want %d (length-delimited)", num, typ, protowire.BytesType)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, v); err != nil {
			return err
		}
	}
	return nil
}

// appendString writes a proto3 string field; the empty string is the
// default and is not written.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendBytes writes a proto3 bytes field, left out when empty.
func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendMessage writes a message field, always.
func appendMessage(b []byte, num protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func clone(v []byte) []byte {
	if len(v) == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}
