package keyservice

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/kura-secrets/kura/pkg/keys"
)

// testKeys has one key of every type, with every field set.
var testKeys = []keys.Stanza{
	{Type: keys.KMS, ARN: "arn:aws:kms:eu-west-1:111122223333:key/1234", Role: "arn:aws:iam::111122223333:role/sops",
		Context: map[string]string{"app": "web", "env": "prod", "empty": ""}, AWSProfile: "ops"},
	{Type: keys.PGP, Fingerprint: "85D77543B3D624B63CEA9E6DBC17301B491B3F21"},
	{Type: keys.GCPKMS, ResourceID: "projects/p/locations/global/keyRings/r/cryptoKeys/k"},
	{Type: keys.AzureKV, AzureVaultURL: "https://v.vault.azure.net", AzureName: "sops", AzureVersion: "0123abcd"},
	{Type: keys.Vault, VaultAddress: "https://vault:8200", VaultEnginePath: "secret/team/transit", VaultKeyName: "app"},
	{Type: keys.Age, Recipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"},
	{Type: keys.HCKMS, KeyID: "cn-north-4:0a1b2c3d-0000-1111-2222-333344445555"},
}

func TestRoundTripEveryMessage(t *testing.T) {
	payload := []byte("\x00\x01 a 32-byte data key, or share\xff")
	for _, k := range testKeys {
		t.Run(string(k.Type), func(t *testing.T) {
			er := &EncryptRequest{Key: k, Plaintext: payload}
			var er2 EncryptRequest
			roundTrip(t, er, &er2)
			if !reflect.DeepEqual(er, &er2) {
				t.Errorf("EncryptRequest: got %+v, want %+v", er2, *er)
			}
			dr := &DecryptRequest{Key: k, Ciphertext: []byte("-----BEGIN AGE ENCRYPTED FILE-----\n...")}
			var dr2 DecryptRequest
			roundTrip(t, dr, &dr2)
			if !reflect.DeepEqual(dr, &dr2) {
				t.Errorf("DecryptRequest: got %+v, want %+v", dr2, *dr)
			}
		})
	}
	var eresp EncryptResponse
	roundTrip(t, &EncryptResponse{Ciphertext: []byte("enc")}, &eresp)
	if string(eresp.Ciphertext) != "enc" {
		t.Errorf("EncryptResponse: %q", eresp.Ciphertext)
	}
	var dresp DecryptResponse
	roundTrip(t, &DecryptResponse{Plaintext: payload}, &dresp)
	if !bytes.Equal(dresp.Plaintext, payload) {
		t.Errorf("DecryptResponse: %q", dresp.Plaintext)
	}
	// Empty messages are empty on the wire.
	for _, m := range []Message{&EncryptResponse{}, &DecryptResponse{}} {
		b, _ := m.Marshal()
		if len(b) != 0 {
			t.Errorf("%T{} encodes to %x", m, b)
		}
	}
}

func roundTrip(t *testing.T, in, out Message) {
	t.Helper()
	b, err := Codec{}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := (Codec{}).Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// TestHandBuiltBytes checks encodings built by hand from the field numbers
// of keyservice.proto.
func TestHandBuiltBytes(t *testing.T) {
	// DecryptRequest{key: Key{age_key(6): AgeKey{recipient(1): "age1x"}}, ciphertext(2): "CT"}
	want := "0a" + "09" + // field 1 (key), length 9
		"32" + "07" + // field 6 (age_key), length 7
		"0a" + "05" + hex.EncodeToString([]byte("age1x")) + // field 1 (recipient)
		"12" + "02" + hex.EncodeToString([]byte("CT")) // field 2 (ciphertext)
	got, err := (&DecryptRequest{Key: keys.Stanza{Type: keys.Age, Recipient: "age1x"}, Ciphertext: []byte("CT")}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("DecryptRequest:\n got %x\nwant %s", got, want)
	}

	// EncryptRequest{key: Key{kms_key(1): KmsKey{arn(1): "a", context(3): {"k": "v"}}}, plaintext(2): 0x01}
	entry := "0a01" + "6b" + "1201" + "76"       // key(1)="k", value(2)="v"
	kms := "0a01" + "61" + "1a06" + entry        // arn(1)="a", context(3)=entry: 11 bytes
	want = "0a0d" + "0a0b" + kms + "1201" + "01" // key(1): kms_key(1), 13 bytes; plaintext(2)
	got, err = (&EncryptRequest{Key: keys.Stanza{Type: keys.KMS, ARN: "a", Context: map[string]string{"k": "v"}}, Plaintext: []byte{1}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("EncryptRequest:\n got %x\nwant %s", got, want)
	}
	var back EncryptRequest
	if err := back.Unmarshal(got); err != nil || back.Key.Context["k"] != "v" || back.Key.ARN != "a" {
		t.Errorf("decoding %x: %+v, %v", got, back, err)
	}

	// A oneof member with no field set is still present: pgp_key(2), empty.
	got, _ = MarshalKey(&keys.Stanza{Type: keys.PGP})
	if hex.EncodeToString(got) != "1200" {
		t.Errorf("empty pgp_key: got %x, want 1200", got)
	}
	k, err := UnmarshalKey(got)
	if err != nil || k.Type != keys.PGP {
		t.Errorf("empty pgp_key decodes to %+v, %v", k, err)
	}

	// EncryptResponse{ciphertext(1): "xy"}, DecryptResponse{plaintext(1): "xy"}
	for _, m := range []Message{&EncryptResponse{Ciphertext: []byte("xy")}, &DecryptResponse{Plaintext: []byte("xy")}} {
		got, _ := m.Marshal()
		if hex.EncodeToString(got) != "0a027879" {
			t.Errorf("%T: got %x", m, got)
		}
	}
}

func TestDecodingRules(t *testing.T) {
	var b []byte
	// An unknown varint field, an unknown fixed64 field and an unknown
	// group-free bytes field before the key: all skipped.
	b = protowire.AppendTag(b, 9, protowire.VarintType)
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, 10, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 11, protowire.BytesType)
	b = protowire.AppendString(b, "future")
	// A key with an unknown member (8), then pgp, then age: the last
	// member wins.
	var key []byte
	key = protowire.AppendTag(key, 8, protowire.BytesType)
	key = protowire.AppendString(key, "\x0a\x01z")
	pgp, _ := MarshalKey(&keys.Stanza{Type: keys.PGP, Fingerprint: "FP"})
	age, _ := MarshalKey(&keys.Stanza{Type: keys.Age, Recipient: "age1y"})
	key = append(append(key, pgp...), age...)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, key)
	// The data field twice: the last wins.
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "first")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, "last")
	var req DecryptRequest
	if err := req.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	if req.Key.Type != keys.Age || req.Key.Recipient != "age1y" || req.Key.Fingerprint != "" || string(req.Ciphertext) != "last" {
		t.Errorf("got %+v", req)
	}

	// A key with only an unknown member has no type.
	k, err := UnmarshalKey(protowire.AppendString(protowire.AppendTag(nil, 8, protowire.BytesType), ""))
	if err != nil || k.Type != "" {
		t.Errorf("unknown member: %+v, %v", k, err)
	}

	// Malformed input is an error, never a panic.
	for name, bad := range map[string][]byte{
		"truncated tag":     {0x0a},
		"truncated length":  {0x0a, 0x05, 0x01},
		"wrong wire type":   {0x08, 0x01},
		"bad varint":        {0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"field number zero": {0x02, 0x00},
	} {
		if err := new(DecryptRequest).Unmarshal(bad); err == nil {
			t.Errorf("%s: %x decoded without error", name, bad)
		}
	}
	if _, err := MarshalKey(&keys.Stanza{Type: "nope"}); err == nil {
		t.Error("a key of an unknown type was encoded")
	}
}

// TestAgainstProtobuf checks the encoding against the protobuf runtime
// itself: keyservice.proto is described to it as a descriptor, and
// dynamic messages built from each key encode to the same bytes
// (deterministic marshaling sorts map entries, as MarshalKey does), and
// decode what this package encodes.
func TestAgainstProtobuf(t *testing.T) {
	fd := keyserviceDescriptor(t)
	encReq := fd.Messages().ByName("EncryptRequest")
	for _, k := range testKeys {
		t.Run(string(k.Type), func(t *testing.T) {
			m := dynamicpb.NewMessage(encReq)
			key := dynamicpb.NewMessage(encReq.Fields().ByName("key").Message())
			setKey(t, key, &k)
			m.Set(encReq.Fields().ByName("key"), protoreflect.ValueOfMessage(key))
			m.Set(encReq.Fields().ByName("plaintext"), protoreflect.ValueOfBytes([]byte("pt")))
			want, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := (&EncryptRequest{Key: k, Plaintext: []byte("pt")}).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from protobuf's:\n got %x\nwant %x", got, want)
			}
			back := dynamicpb.NewMessage(encReq)
			if err := proto.Unmarshal(got, back); err != nil {
				t.Fatalf("protobuf cannot decode it: %v", err)
			}
			if !proto.Equal(back, m) {
				t.Errorf("protobuf decodes %v, want %v", back, m)
			}
		})
	}
}

// setKey fills a dynamic Key message from a stanza.
func setKey(t *testing.T, key *dynamicpb.Message, k *keys.Stanza) {
	fields := key.Descriptor().Fields()
	names := map[keys.Type]string{keys.KMS: "kms_key", keys.PGP: "pgp_key", keys.GCPKMS: "gcp_kms_key",
		keys.AzureKV: "azure_keyvault_key", keys.Vault: "vault_key", keys.Age: "age_key", keys.HCKMS: "hckms_key"}
	f := fields.ByName(protoreflect.Name(names[k.Type]))
	sub := dynamicpb.NewMessage(f.Message())
	set := func(name, v string) {
		if v != "" {
			sub.Set(f.Message().Fields().ByName(protoreflect.Name(name)), protoreflect.ValueOfString(v))
		}
	}
	switch k.Type {
	case keys.KMS:
		set("arn", k.ARN)
		set("role", k.Role)
		set("aws_profile", k.AWSProfile)
		mf := f.Message().Fields().ByName("context")
		mp := sub.Mutable(mf).Map()
		for n, v := range k.Context {
			mp.Set(protoreflect.ValueOfString(n).MapKey(), protoreflect.ValueOfString(v))
		}
	case keys.PGP:
		set("fingerprint", k.Fingerprint)
	case keys.GCPKMS:
		set("resource_id", k.ResourceID)
	case keys.AzureKV:
		set("vault_url", k.AzureVaultURL)
		set("name", k.AzureName)
		set("version", k.AzureVersion)
	case keys.Vault:
		set("vault_address", k.VaultAddress)
		set("engine_path", k.VaultEnginePath)
		set("key_name", k.VaultKeyName)
	case keys.Age:
		set("recipient", k.Recipient)
	case keys.HCKMS:
		set("key_id", k.KeyID)
	default:
		t.Fatalf("no key type %q", k.Type)
	}
	key.Set(f, protoreflect.ValueOfMessage(sub))
}

// keyserviceDescriptor describes keyservice.proto (package-less, proto3)
// from the field numbers and types this package documents.
func keyserviceDescriptor(t *testing.T) protoreflect.FileDescriptor {
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	byt := descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	field := func(name string, num int32, typ *descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ, Label: opt, JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	simple := func(name string, fields ...string) *descriptorpb.DescriptorProto {
		d := &descriptorpb.DescriptorProto{Name: proto.String(name)}
		for i, f := range fields {
			d.Field = append(d.Field, field(f, int32(i+1), str, ""))
		}
		return d
	}
	ctx := field("context", 3, msg, ".KmsKey.ContextEntry")
	ctx.Label = rep
	kms := &descriptorpb.DescriptorProto{
		Name: proto.String("KmsKey"),
		Field: []*descriptorpb.FieldDescriptorProto{
			field("arn", 1, str, ""), field("role", 2, str, ""), ctx, field("aws_profile", 4, str, ""),
		},
		NestedType: []*descriptorpb.DescriptorProto{{
			Name:    proto.String("ContextEntry"),
			Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, str, ""), field("value", 2, str, "")},
			Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
		}},
	}
	key := &descriptorpb.DescriptorProto{Name: proto.String("Key"), OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("key_type")}}}
	for i, m := range []struct{ field, typ string }{
		{"kms_key", "KmsKey"}, {"pgp_key", "PgpKey"}, {"gcp_kms_key", "GcpKmsKey"}, {"azure_keyvault_key", "AzureKeyVaultKey"},
		{"vault_key", "VaultKey"}, {"age_key", "AgeKey"}, {"hckms_key", "HckmsKey"},
	} {
		f := field(m.field, int32(i+1), msg, "."+m.typ)
		f.OneofIndex = proto.Int32(0)
		key.Field = append(key.Field, f)
	}
	file := &descriptorpb.FileDescriptorProto{
		Name:   proto.String("keyservice.proto"),
		Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			key, simple("PgpKey", "fingerprint"), kms, simple("GcpKmsKey", "resource_id"),
			simple("VaultKey", "vault_address", "engine_path", "key_name"),
			simple("AzureKeyVaultKey", "vault_url", "name", "version"),
			simple("AgeKey", "recipient"), simple("HckmsKey", "key_id"),
			{Name: proto.String("EncryptRequest"), Field: []*descriptorpb.FieldDescriptorProto{field("key", 1, msg, ".Key"), field("plaintext", 2, byt, "")}},
			{Name: proto.String("EncryptResponse"), Field: []*descriptorpb.FieldDescriptorProto{field("ciphertext", 1, byt, "")}},
			{Name: proto.String("DecryptRequest"), Field: []*descriptorpb.FieldDescriptorProto{field("key", 1, msg, ".Key"), field("ciphertext", 2, byt, "")}},
			{Name: proto.String("DecryptResponse"), Field: []*descriptorpb.FieldDescriptorProto{field("plaintext", 1, byt, "")}},
		},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

func TestCodecRefusesOtherTypes(t *testing.T) {
	if _, err := (Codec{}).Marshal("x"); err == nil || !strings.Contains(err.Error(), "cannot encode") {
		t.Errorf("Marshal(string): %v", err)
	}
	if err := (Codec{}).Unmarshal(nil, new(int)); err == nil {
		t.Error("Unmarshal into *int succeeded")
	}
	if (Codec{}).Name() != "proto" {
		t.Error("the codec must keep gRPC's proto content subtype")
	}
}
