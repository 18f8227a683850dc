package toml

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// TestGolden writes realistic files: testdata/NAME.toml gives
// testdata/NAME.golden.toml, which must load back to the same tree.
func TestGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.toml")
	n := 0
	for _, in := range inputs {
		if strings.Contains(in, ".golden.") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".toml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			doc := mustLoad(t, string(data))
			out := checkReload(t, doc)
			checkGolden(t, name+".golden.toml", out)
		})
	}
	if n < 3 {
		t.Fatalf("only %d inputs in testdata", n)
	}
}

// TestGoldenEncrypted writes testdata/secrets.toml as an encrypted file
// would look (values replaced by ENC strings made up from their paths,
// comments too), with single-group and key-group metadata, and checks that
// it loads back to the same documents and metadata.
func TestGoldenEncrypted(t *testing.T) {
	data, err := os.ReadFile("testdata/comments.toml")
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := os.ReadFile("testdata/secrets.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		doc  tree.Document
		meta []tree.Item
	}{
		{"secrets.enc.golden.toml", fakeEncrypt(mustLoad(t, string(secrets)), "", "_unencrypted"), singleGroupMeta()},
		{"comments.enc.golden.toml", fakeEncrypt(mustLoad(t, string(data)), "", "_unencrypted"), keyGroupsMeta()},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Store{}.EmitEncrypted([]tree.Document{c.doc}, c.meta)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name, out)
			docs, meta, err := Store{}.LoadEncrypted(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || !sameItems(docs[0], c.doc) {
				t.Errorf("documents differ:\n%s\nwant:\n%s", dump(docs[0]), dump(c.doc))
			}
			if !sameItems(meta, c.meta) {
				t.Errorf("metadata differs:\n%s\nwant:\n%s", dump(meta), dump(c.meta))
			}
			if _, err := metadata.FromTree(meta); err != nil {
				t.Errorf("metadata.FromTree: %v", err)
			}
		})
	}
}

// TestEncryptedFiles runs the shared store checks on the encrypted golden
// files: the metadata is found, and the file is written back byte for
// byte.
func TestEncryptedFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.enc.golden.toml")
	if len(files) < 2 {
		t.Fatalf("only %d encrypted files in testdata", len(files))
	}
	storetest.CheckEncrypted(t, Store{}, files)
}

// fakeEncrypt replaces every scalar and comment by an ENC string made up
// from its path and text, as encryption would (keys ending in suffix are
// left alone), keeping inline flags as encryption does.
func fakeEncrypt(items []tree.Item, path, suffix string) []tree.Item {
	out := make([]tree.Item, len(items))
	for i, it := range items {
		if it.IsComment() {
			it.Key = tree.CommentV(fakeENC(path, it.Key), it.Key.Inline)
		} else if !strings.HasSuffix(it.Key.Str, suffix) {
			it.Value = fakeEncryptValue(it.Value, path+it.Key.Str+":", suffix)
		}
		out[i] = it
	}
	return out
}

func fakeEncryptValue(v tree.Value, path, suffix string) tree.Value {
	switch v.Kind {
	case tree.Map:
		return tree.MapV(fakeEncrypt(v.Items(), path, suffix))
	case tree.List:
		elems := make([]tree.Value, len(v.Elems()))
		for i, el := range v.Elems() {
			if el.Kind == tree.Comment {
				elems[i] = tree.CommentV(fakeENC(path, el), el.Inline)
			} else {
				elems[i] = fakeEncryptValue(el, path, suffix)
			}
		}
		return tree.ListV(elems)
	}
	return tree.Str(fakeENC(path, v))
}

func fakeENC(path string, v tree.Value) string {
	text, _ := v.Canonical()
	typ, err := cipher.TypeOf(v)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256([]byte(path + "\x00" + text))
	enc := base64.StdEncoding.EncodeToString
	return "ENC[AES256_GCM,data:" + enc(sum[:len(text)%32+1]) + ",iv:" + enc(sum[:32]) + ",tag:" + enc(sum[16:32]) + ",type:" + typ + "]"
}

const (
	ageArmor = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBNSnpxMndjQnVXRFptanB2\nJNI+cOW98gS4ZTRzHi2OnvoAyKGCErm4+ofodgomAAMuapOEXp8t68s=\n-----END AGE ENCRYPTED FILE-----\n"
	pgpArmor = "-----BEGIN PGP MESSAGE-----\n\nhQGMA/QcjD+54rWzAQv+I09HBBL//ErckUWXqG0NQVHMkfSHcjNMzzuXTY50gX4x\n=+mBS\n-----END PGP MESSAGE-----"
	fakeMAC  = "ENC[AES256_GCM,data:DqAKG21Qko/BzkTFZ5BTeyBFqR6MG8wF81dE3XrK0vSZivS3nKfLM4Qj7678RHo2CX0GniUz4ueFQZh8j1Bw47QXPLERk03AP5K0L5XszFkU/S+ct1VLLuXXmiO03QcOgS62ffp9fWthrPJmGIkYCLGyKqjoxS4ykvtolgtQzpY=,iv:KuBfl+603+ILwJ8agNd5K+Y67NFGnI3e38swgLSQc18=,tag:eruZugAY13yt/Av28O2CJA==,type:str]"
)

func singleGroupMeta() []tree.Item {
	m := metadata.Metadata{
		KeyGroups: []keys.Group{{
			{Type: keys.Age, Recipient: "age1splfhycppu4ypv4h588h0eh7zg437h5k5jk0zl8xggh7ghgh3uts22txf3", Enc: ageArmor},
			{Type: keys.PGP, Fingerprint: "49B6670A3F6E61BEE80BAA2431D22A9AB7FDAFBD", CreatedAt: "2024-01-02T03:04:05Z", Enc: pgpArmor},
			{Type: keys.KMS, ARN: "arn:aws:kms:us-east-1:123:key/abc", AWSProfile: "prof", Context: map[string]string{"foo": "bar", "a": "baz"}, CreatedAt: "2024-01-02T03:04:05Z", Enc: "KMSENC", Role: "arn:aws:iam::123:role/r"},
			{Type: keys.KMS, ARN: "arn:aws:kms:us-east-1:123:key/def", CreatedAt: "2024-01-02T03:04:05Z", Enc: "KMSENC2"},
			{Type: keys.Vault, VaultAddress: "https://vault:8200", VaultEnginePath: "transit", VaultKeyName: "k", CreatedAt: "2024-01-02T03:04:05Z", Enc: "vault:v1:xxx"},
		}},
		LastModified: time.Date(2026, 11, 28, 20, 31, 50, 0, time.UTC),
		MAC:          fakeMAC,
		Rules:        rules.Config{UnencryptedSuffix: "_unencrypted", MACOnlyEncrypted: true},
		Version:      metadata.Version,
	}
	return m.ToTree()
}

func keyGroupsMeta() []tree.Item {
	m := metadata.Metadata{
		KeyGroups: []keys.Group{
			{{Type: keys.Age, Recipient: "age1splfhycppu4ypv4h588h0eh7zg437h5k5jk0zl8xggh7ghgh3uts22txf3", Enc: ageArmor}},
			{{Type: keys.PGP, Fingerprint: "49B6670A3F6E61BEE80BAA2431D22A9AB7FDAFBD", CreatedAt: "2024-01-02T03:04:05Z", Enc: pgpArmor}},
			{{Type: keys.GCPKMS, ResourceID: "projects/p/locations/global/keyRings/r/cryptoKeys/k", CreatedAt: "2024-01-02T03:04:05Z", Enc: "GCPENC"}},
		},
		ShamirThreshold: 2,
		LastModified:    time.Date(2026, 11, 28, 20, 31, 50, 0, time.UTC),
		MAC:             fakeMAC,
		Rules:           rules.Config{UnencryptedSuffix: "_unencrypted"},
		Version:         metadata.Version,
	}
	return m.ToTree()
}
