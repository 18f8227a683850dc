package keyservice

import "fmt"

// Message is what the codec encodes: the four messages of this package.
type Message interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// Codec is the gRPC codec for this package's messages. Its name is
// gRPC's own "proto", so the content type is application/grpc+proto, as
// with generated code.
type Codec struct{}

// Name is "proto".
func (Codec) Name() string { return "proto" }

// Marshal encodes one of this package's messages.
func (Codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(Message)
	if !ok {
		return nil, fmt.Errorf("keyservice codec: cannot encode %T", v)
	}
	return m.Marshal()
}

// Unmarshal decodes one of this package's messages.
func (Codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(Message)
	if !ok {
		return fmt.Errorf("keyservice codec: cannot decode into %T", v)
	}
	return m.Unmarshal(data)
}
