package sopsfile

// Fixtures and helpers of the tamper matrix (tamper_test.go): small
// encrypted files of every format and key setup, made with kura's own
// library at test start from fixed plaintexts, with real age and OpenPGP
// keys from testdata/keys (PGP through key files, without gpg).

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/binary"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/format/ini"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/format/toml"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/age"
	"github.com/kura-secrets/kura/pkg/keys/pgp"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

// tamperSecrets are the encrypted plaintexts of the fixtures: no error
// message or warning may contain one.
var tamperSecrets = []string{"alice-NAME", "s3cr3t-PW", "host-one", "host-two", "host-three", "top-secret-1", "top-secret-2", "BINARY-SECRET", "comment-SECRET", "8080", "admin-USER"}

// The plaintexts. Each holds encrypted values of several types, a value in
// clear (by suffix, or outside encrypted_regex for mac_only_encrypted),
// two clear values in a row (for the MAC's missing separators), an empty
// string and a null (which the MAC does not cover), comments, and a list.
var tamperInputs = map[format.Format]string{
	format.YAML: `# comment-SECRET at the top
name: alice-NAME
port: 8080
code: "007"
ratio: 0.5
enabled: true
when: 2024-01-02T03:04:05Z
empty: ""
nothing: null
db:
    # comment-SECRET in db
    user: admin-USER
    password: s3cr3t-PW
hosts:
    - host-one
    - host-two
    - host-three
clear_unencrypted: visible
note_unencrypted: readable
`,
	format.JSON: `{"name": "alice-NAME", "port": 8080, "code": "007", "ratio": 0.5, "enabled": true, "empty": "", "nothing": null,
"db": {"user": "admin-USER", "password": "s3cr3t-PW"}, "hosts": ["host-one", "host-two", "host-three"],
"clear_unencrypted": "visible", "note_unencrypted": "readable"}
`,
	format.Dotenv: `# comment-SECRET
name=alice-NAME
password=s3cr3t-PW
port=8080
code=007
empty=
clear_unencrypted=visible
note_unencrypted=readable
`,
	format.INI: `; comment-SECRET
[db]
user = admin-USER
password = s3cr3t-PW
[app]
name = alice-NAME
port = 8080
code = 007
clear_unencrypted = visible
note_unencrypted = readable
`,
	format.TOML: `name = "alice-NAME"
port = 8080
code = "007"
ratio = 0.5
enabled = true
hosts = ["host-one", "host-two", "host-three"]
clear_unencrypted = "visible"
note_unencrypted = "readable"

[db]
user = "admin-USER"
password = "s3cr3t-PW"
`,
	format.Binary: "BINARY-SECRET\x00\x01\xfe\xff payload\n",
}

// tamperMultiDoc is a multi-document YAML file: the same keys in each
// document, so that values can move between documents with their key
// path unchanged.
const tamperMultiDoc = `a: top-secret-1
b: alice-NAME
---
a: top-secret-2
b: s3cr3t-PW
`

// macOnlyRegex selects the encrypted keys of the mac_only_encrypted
// variant; port, ratio, enabled and the _unencrypted keys stay in clear.
const macOnlyRegex = `^(name|password|code|hosts|user|db|a|b)$`

// tamperFixture is one encrypted file and what decrypting it gives.
type tamperFixture struct {
	name    string
	store   format.Store
	binary  bool
	macOnly bool
	// pgp says the file's keys include an OpenPGP key, whose unwrapping
	// is slow (RSA): its stanzas are mutated at sampled positions.
	pgp bool
	// sample is the step between the mutated positions of ENC fields and
	// age stanzas: 1 (every one) for the age and mac_only_encrypted
	// variants, more for the others, which repeat the same checks with
	// other keys.
	sample int
	enc    []byte
	// plain is the decrypted output (comments detached, as kura decrypt
	// prints it).
	plain   []byte
	sources map[keys.Type]keys.Unwrapper
	// dataKey is the recovered data key, for the test's own model.
	dataKey []byte
}

func tamperStore(f format.Format) format.Store {
	switch f {
	case format.YAML:
		return yaml.Store{}
	case format.JSON:
		return json.New(json.TabIndent)
	case format.Dotenv:
		return dotenv.Store{}
	case format.INI:
		return ini.Store{}
	case format.TOML:
		return toml.Store{}
	}
	return binary.New(json.TabIndent)
}

// cachingUnwrapper remembers each stanza's result, keyed by its whole
// content: a stanza that is not byte-identical to one seen before goes to
// the real key source. Value mutations then cost no public-key operation.
type cachingUnwrapper struct {
	u     keys.Unwrapper
	cache sync.Map // stanza text -> cachedUnwrap
}

type cachedUnwrap struct {
	payload []byte
	err     error
}

func (c *cachingUnwrapper) Unwrap(s *keys.Stanza) ([]byte, error) {
	k := fmt.Sprintf("%s\x00%s\x00%s\x00%s", s.Type, s.Recipient, s.Fingerprint, s.Enc)
	if r, ok := c.cache.Load(k); ok {
		r := r.(cachedUnwrap)
		return bytes.Clone(r.payload), r.err
	}
	p, err := c.u.Unwrap(s)
	c.cache.Store(k, cachedUnwrap{bytes.Clone(p), err})
	return p, err
}

// tamperKeys are the key sources and recipients of the fixtures.
type tamperKeys struct {
	sources          map[keys.Type]keys.Unwrapper
	age1, pgp1, pgp2 keys.Recipient
}

var loadTamperKeys = sync.OnceValues(func() (*tamperKeys, error) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "keys"))
	if err != nil {
		return nil, err
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b)), err
	}
	env := map[string]string{
		age.KeyFileEnv: filepath.Join(dir, "age1.txt"),
		pgp.KeyFileEnv: filepath.Join(dir, "pgp1.sec.asc") + string(os.PathListSeparator) + filepath.Join(dir, "pgp2.sec.asc"),
	}
	getenv := func(k string) string { return env[k] }
	ageIDs := age.NewIdentities(age.Env{Getenv: getenv})
	// No Run: gpg is never started; the key files do the work.
	pgpSrc := pgp.NewSource(pgp.Env{Getenv: getenv})
	k := &tamperKeys{sources: map[keys.Type]keys.Unwrapper{
		keys.Age: &cachingUnwrapper{u: ageIDs},
		keys.PGP: &cachingUnwrapper{u: pgpSrc},
	}}
	pub, err := read("age1.pub")
	if err != nil {
		return nil, err
	}
	if k.age1, err = age.ParseRecipient(pub); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		file string
		dst  *keys.Recipient
	}{{"pgp1.fingerprint", &k.pgp1}, {"pgp2.fingerprint", &k.pgp2}} {
		fp, err := read(p.file)
		if err != nil {
			return nil, err
		}
		if *p.dst, err = pgpSrc.ParseRecipient(fp); err != nil {
			return nil, err
		}
	}
	return k, nil
})

// tamperVariant is a key setup and selection of the matrix.
type tamperVariant struct {
	name      string
	groups    func(*tamperKeys) [][]keys.Recipient
	threshold int
	macOnly   bool
	pgp       bool
}

var tamperVariants = []tamperVariant{
	{name: "age", groups: func(k *tamperKeys) [][]keys.Recipient { return [][]keys.Recipient{{k.age1}} }},
	{name: "pgp", pgp: true, groups: func(k *tamperKeys) [][]keys.Recipient { return [][]keys.Recipient{{k.pgp1}} }},
	// Two key groups, both needed: an age key and an OpenPGP key.
	{name: "shamir", pgp: true, threshold: 2, groups: func(k *tamperKeys) [][]keys.Recipient { return [][]keys.Recipient{{k.age1}, {k.pgp2}} }},
	{name: "maconly", macOnly: true, groups: func(k *tamperKeys) [][]keys.Recipient { return [][]keys.Recipient{{k.age1}} }},
}

// tamperFixtures builds every fixture once per test binary.
var tamperFixtures = sync.OnceValues(func() ([]*tamperFixture, error) {
	k, err := loadTamperKeys()
	if err != nil {
		return nil, err
	}
	var out []*tamperFixture
	formats := []format.Format{format.YAML, format.JSON, format.Dotenv, format.INI, format.TOML, format.Binary}
	for _, v := range tamperVariants {
		for _, f := range formats {
			if v.macOnly && f == format.Binary {
				continue // the binary format has no selection
			}
			fx, err := makeTamperFixture(fmt.Sprintf("%s-%s", f, v.name), f, tamperInputs[f], v, k)
			if err != nil {
				return nil, err
			}
			out = append(out, fx)
		}
		if v.name == "age" || v.name == "maconly" {
			fx, err := makeTamperFixture("yaml-multidoc-"+v.name, format.YAML, tamperMultiDoc, v, k)
			if err != nil {
				return nil, err
			}
			out = append(out, fx)
		}
	}
	return out, nil
})

func makeTamperFixture(name string, f format.Format, input string, v tamperVariant, k *tamperKeys) (*tamperFixture, error) {
	store := tamperStore(f)
	docs, err := store.LoadPlain([]byte(input))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var r rules.Config
	if v.macOnly {
		r = rules.Config{EncryptedRegex: macOnlyRegex, MACOnlyEncrypted: true}
	}
	file, err := Encrypt(docs, EncryptOptions{
		Groups:          v.groups(k),
		ShamirThreshold: v.threshold,
		Rules:           r,
		Binary:          f == format.Binary,
		Now:             func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) },
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	enc, err := file.Emit(store)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fx := &tamperFixture{name: name, store: store, binary: f == format.Binary, macOnly: v.macOnly, pgp: v.pgp, sample: 1, enc: enc, sources: k.sources}
	if v.pgp {
		fx.sample = 5
	}
	res := fx.decrypt(enc, false, true)
	if res.err != nil {
		return nil, fmt.Errorf("%s: the fixture does not decrypt: %w", name, res.err)
	}
	if len(res.warnings) > 0 {
		return nil, fmt.Errorf("%s: the fixture decrypts with warnings: %v", name, res.warnings)
	}
	fx.plain, fx.dataKey = res.out, res.dataKey
	return fx, nil
}

// tamperResult is what decrypting a (mutated) file gave.
type tamperResult struct {
	out      []byte // nil on error
	warnings []Warning
	err      error
	dataKey  []byte
}

// decrypt runs what kura decrypt runs: load, recover the data key,
// decrypt and verify, write the plaintext. readOnly picks the parallel
// (decrypt) or the sequential (edit, set) path of the walker.
func (fx *tamperFixture) decrypt(data []byte, strict, readOnly bool) tamperResult {
	return fx.decryptWith(data, DecryptOptions{ReadOnly: readOnly, Strict: strict})
}

func (fx *tamperFixture) decryptWith(data []byte, opts DecryptOptions) tamperResult {
	f, err := Load(data, fx.store, fx.binary)
	if err != nil {
		return tamperResult{err: err}
	}
	opts.Sources = fx.sources
	if err := f.Decrypt(opts); err != nil {
		return tamperResult{err: err}
	}
	tree.DetachComments(f.Docs)
	out, err := fx.store.EmitPlain(f.Docs)
	if err != nil {
		return tamperResult{err: &Error{Code: CodeErrorDumpingTree, Err: err}}
	}
	return tamperResult{out: out, warnings: f.Warnings, dataKey: f.dataKey}
}

// cloneDocs deep-copies documents, so that a mutation leaves the loaded
// tree alone.
func cloneDocs(docs []tree.Document) []tree.Document {
	out := make([]tree.Document, len(docs))
	for i, d := range docs {
		out[i] = cloneItems(d)
	}
	return out
}

func cloneItems(items []tree.Item) []tree.Item {
	if items == nil {
		return nil
	}
	out := make([]tree.Item, len(items))
	for i, it := range items {
		out[i] = tree.Item{Key: cloneValue(it.Key), Value: cloneValue(it.Value)}
	}
	return out
}

func cloneValue(v tree.Value) tree.Value {
	switch v.Kind {
	case tree.Map:
		v.SetItems(cloneItems(v.Items()))
	case tree.List:
		if v.Elems() != nil {
			elems := make([]tree.Value, len(v.Elems()))
			for i, e := range v.Elems() {
				elems[i] = cloneValue(e)
			}
			v.SetElems(elems)
		}
	}
	return v
}
