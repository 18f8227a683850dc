package toml

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestEncryptedRoundTrip writes documents holding ENC strings with the
// metadata of every encrypted YAML file of the interop corpus, and checks
// that LoadEncrypted gives back the same documents and metadata.
func TestEncryptedRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "encrypted.yaml"))
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	doc := fakeEncrypt(mustLoad(t, mustRead(t, "testdata/comments.toml")), "", "_unencrypted")
	for _, path := range files {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			_, meta, err := yaml.Store{}.LoadEncrypted([]byte(mustRead(t, path)))
			if err != nil {
				t.Skip(err) // the tampered copies that do not parse
			}
			m, err := metadata.FromTree(meta)
			if err != nil {
				t.Skip(err)
			}
			want := m.ToTree()
			out, err := Store{}.EmitEncrypted([]tree.Document{doc}, want)
			if err != nil {
				t.Fatal(err)
			}
			docs, got, err := Store{}.LoadEncrypted(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if len(docs) != 1 || !sameItems(docs[0], doc) {
				t.Errorf("documents differ:\n%s", out)
			}
			if !sameItems(got, want) {
				t.Errorf("metadata differs:\n%s\nwant:\n%s", dump(got), dump(want))
			}
		})
	}
}

func mustRead(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncryptedErrors(t *testing.T) {
	s := Store{}
	if _, _, err := s.LoadEncrypted([]byte("a = 1\n")); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("no metadata: %v", err)
	}
	if _, _, err := s.LoadEncrypted([]byte("sops = 1\n")); err == nil {
		t.Error("a sops value that is not a table was accepted")
	}
	if _, err := s.EmitEncrypted([]tree.Document{{kv("sops", num(1))}}, nil); err == nil {
		t.Error("EmitEncrypted wrote a second sops entry")
	}
	if _, err := s.EmitEncrypted(nil, nil); err == nil {
		t.Error("EmitEncrypted wrote no document")
	}
	// The metadata table is found wherever it is, and its comments are
	// dropped; the comment after its header stays, on a line of its own
	// (the header it trailed is not in the tree).
	docs, meta, err := s.LoadEncrypted([]byte("[sops] # m\n# v\nversion = \"3.13.2\"\nmac = \"x\"\n[x]\ny = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameItems(docs[0], tree.Document{cm(" m"), kv("x", mp(kv("y", num(1))))}) {
		t.Errorf("documents:\n%s", dump(docs[0]))
	}
	if !sameItems(meta, []tree.Item{kv("mac", str("x")), kv("version", str("3.13.2"))}) {
		t.Errorf("metadata:\n%s", dump(meta))
	}
}

// fixedKey is a test master key: it "wraps" the data key by prefixing a
// marker, so that the test runs the real encryption without an identity.
type fixedKey struct{}

func (fixedKey) Wrap(p []byte) (keys.Stanza, error) {
	return keys.Stanza{Type: keys.Age, Recipient: "test", Enc: "test:" + hex.EncodeToString(p)}, nil
}
func (fixedKey) Identity() string { return "test" }
func (fixedKey) Type() keys.Type  { return keys.Age }

type fixedUnwrapper struct{}

func (fixedUnwrapper) Unwrap(s *keys.Stanza) ([]byte, error) {
	return hex.DecodeString(strings.TrimPrefix(s.Enc, "test:"))
}

// TestEncryptDecrypt runs TOML files through real encryption and
// decryption: the MAC, computed over the tree in file order, verifies on
// the file read back, every value decrypts under its key path, and the
// decrypted tree is the plaintext's, inline comments included, but for
// local date and time kinds (encrypted values come back as offset
// date-times).
func TestEncryptDecrypt(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.toml")
	extra := map[string]string{
		"times.toml":   "ld = 1979-05-27\nlt = 07:32:00\nldt = 1979-05-27T07:32:00\nkeep_unencrypted = 1979-05-27\nodt = 1979-05-27T07:32:00-08:00\n",
		"order.toml":   "[b]\nx = 1\n[a.z]\ny = 2\n[a]\nw = 3\n",
		"numbers.toml": "i = 0x10\nf = -0.0\nn = nan\ninf = -inf\narr = [1, 2.5, true, \"s\", [], {}]\n",
	}
	for _, c := range []rules.Config{{}, {MACOnlyEncrypted: true}, {EncryptedCommentRegex: "primary"}, {UnencryptedRegex: "^(name|token)$"}} {
		for _, path := range append(files, "times.toml", "order.toml", "numbers.toml") {
			if strings.Contains(path, ".golden.") {
				continue
			}
			text, ok := extra[path]
			if !ok {
				text = mustRead(t, path)
			}
			plain := mustLoad(t, text)
			doc := mustLoad(t, text)
			f, err := sopsfile.Encrypt([]tree.Document{doc}, sopsfile.EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{}}}, Rules: c})
			if err != nil {
				t.Fatal(err)
			}
			out, err := f.Emit(Store{})
			if err != nil {
				t.Fatal(err)
			}
			g, err := sopsfile.Load(out, Store{}, false)
			if err != nil {
				t.Fatalf("%s: %v\n%s", path, err, out)
			}
			if err := g.Decrypt(sopsfile.DecryptOptions{Sources: map[keys.Type]keys.Unwrapper{keys.Age: fixedUnwrapper{}}}); err != nil {
				t.Fatalf("%s (%+v): %v\n%s", path, c, err, out)
			}
			if len(g.Warnings) > 0 {
				t.Errorf("%s: comments did not decrypt: %v", path, g.Warnings)
			}
			want := encryptedTimesToUTC(plain, g.Docs[0])
			if !sameItems(g.Docs[0], want) {
				t.Errorf("%s (%+v): decrypted tree:\n%s\nwant:\n%s", path, c, dump(g.Docs[0]), dump(want))
			}
			checkReload(t, g.Docs[0])
		}
	}
}

// encryptedTimesToUTC returns want with the local dates and times that got
// holds as plain UTC times (those that were encrypted) turned into UTC, as
// decryption gives them.
func encryptedTimesToUTC(want, got []tree.Item) []tree.Item {
	out := make([]tree.Item, len(want))
	for i, it := range want {
		if i < len(got) {
			it.Value = timesToUTC(it.Value, got[i].Value)
		}
		out[i] = it
	}
	return out
}

func timesToUTC(w, g tree.Value) tree.Value {
	switch w.Kind {
	case tree.Time:
		if g.Kind == tree.Time && g.Time().Location() == time.UTC {
			w = tree.TimeV(w.Time().UTC())
		}
	case tree.Map:
		if g.Kind == tree.Map {
			w.SetItems(encryptedTimesToUTC(w.Items(), g.Items()))
		}
	case tree.List:
		if g.Kind == tree.List {
			elems := make([]tree.Value, len(w.Elems()))
			for i, el := range w.Elems() {
				if i < len(g.Elems()) {
					el = timesToUTC(el, g.Elems()[i])
				}
				elems[i] = el
			}
			w.SetElems(elems)
		}
	}
	return w
}

// TestOtherFormats writes the trees of the corpus's YAML and JSON
// plaintexts as TOML and reads them back: their comments and key orders
// are not shaped by TOML. Files with nulls must fail with a path.
func TestOtherFormats(t *testing.T) {
	var n int
	for _, pat := range []string{"*/input.yaml", "*/input.json", "*/expected.yaml", "*/expected.json"} {
		files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", pat))
		for _, path := range files {
			var s format.Store = yaml.Store{}
			if strings.HasSuffix(path, ".json") {
				s = json.New(json.TabIndent)
			}
			docs, err := s.LoadPlain([]byte(mustRead(t, path)))
			if err != nil || len(docs) == 0 {
				continue
			}
			for _, doc := range docs {
				if _, err := (Store{}).EmitPlain([]tree.Document{doc}); err != nil {
					t.Logf("%s: %v", path, err)
					if !strings.Contains(err.Error(), "cannot write TOML: ") {
						t.Errorf("%s: %v", path, err)
					}
					continue
				}
				n++
				checkReload(t, doc)
				checkReload(t, forgetInline(doc))
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d documents converted", n)
	}
}

// TestEditedTreeEncrypts encrypts a tree as an edit leaves it, with values
// added after tables: the order survives writing, so the MAC verifies.
func TestEditedTreeEncrypts(t *testing.T) {
	doc := mustLoad(t, mustRead(t, "testdata/secrets.toml"))
	doc = append(doc, kv("added", num(1)), cm(" added comment"))
	for i := range doc {
		if doc[i].Key.Str == "api_clients" {
			doc[i].Value.Elems()[0].SetItems(append(doc[i].Value.Elems()[0].Items(), kv("rate_limit", mp(kv("per_minute", num(5)))), kv("after", tree.BoolV(true))))
		}
	}
	want := doc.Clone()
	f, err := sopsfile.Encrypt([]tree.Document{doc}, sopsfile.EncryptOptions{Groups: [][]keys.Recipient{{fixedKey{}}}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.Emit(Store{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := sopsfile.Load(out, Store{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Decrypt(sopsfile.DecryptOptions{Sources: map[keys.Type]keys.Unwrapper{keys.Age: fixedUnwrapper{}}}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !sameItems(g.Docs[0], encryptedTimesToUTC(want, g.Docs[0])) {
		t.Errorf("decrypted tree:\n%s", dump(g.Docs[0]))
	}
}
