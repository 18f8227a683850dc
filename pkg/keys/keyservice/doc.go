// Package keyservice is sops's gRPC key service, spoken by hand: the
// messages of sops's keyservice.proto, a gRPC codec for them, the service
// description a gRPC server registers, and a client.
//
// sops (`sops keyservice`, `sops --keyservice URI`) defines a service
// KeyService (no proto package, so its methods are /KeyService/Encrypt and
// /KeyService/Decrypt) with two calls:
//
//	Encrypt(EncryptRequest{key=1: Key, plaintext=2: bytes}) returns (EncryptResponse{ciphertext=1: bytes})
//	Decrypt(DecryptRequest{key=1: Key, ciphertext=2: bytes}) returns (DecryptResponse{plaintext=1: bytes})
//
// where Key is a oneof of one message per key type: kms_key=1 (arn=1,
// role=2, context=3 map<string,string>, aws_profile=4), pgp_key=2
// (fingerprint=1), gcp_kms_key=3 (resource_id=1), azure_keyvault_key=4
// (vault_url=1, name=2, version=3), vault_key=5 (vault_address=1,
// engine_path=2, key_name=3), age_key=6 (recipient=1) and hckms_key=7
// (key_id=1). The ciphertext is the key entry's "enc" text as the
// metadata stores it.
//
// # Why no generated code
//
// protoc is not part of the build, and the messages are few and flat. So
// they are encoded and decoded with google.golang.org/protobuf/encoding/
// protowire, field by field, and handed to gRPC through a Codec that
// gRPC is told to use on both sides (grpc.ForceServerCodec,
// grpc.ForceCodec). The codec keeps gRPC's "proto" name, so the content
// type on the wire is the one generated code uses and sops's own client
// and server accept it. Decoding follows protobuf's rules: unknown fields
// are skipped, a repeated field keeps the last value, a oneof the last
// member, and a field of the wrong wire type is an error.
//
// A key is carried as a keys.Stanza, with only the fields of its Type.
//
// # Not for kura itself
//
// This package links gRPC and protobuf, which cost start-up time, so only
// the companion kura-kms imports it: `kura keyservice` runs
// `kura-kms keyservice`, and kura's --keyservice requests go through
// kura-kms (see pkg/keys/kmsproto, Request.KeyService). Package
// github.com/kura-secrets/kura/pkg/keys/keyservice/forward is kura's gRPC-free side.
package keyservice
