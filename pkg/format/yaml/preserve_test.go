package yaml

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/tree"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/preserve")

// A reversible stand-in for encryption: every scalar becomes
// ENC[AES256_GCM,data:<base64 of its canonical text>,iv:<hash of its
// path>,tag:<hash>,type:<type>], every comment the same with type:comment.
// Values under a key ending in _unencrypted stay as they are, as with
// sops's default rule, so that unchanged values are exercised too.

func fakeENC(path, plain, typ string) string {
	sum := sha256.Sum256([]byte(path + "\x00" + plain + "\x00" + typ))
	return "ENC[AES256_GCM,data:" + base64.StdEncoding.EncodeToString([]byte(plain)) +
		",iv:" + base64.StdEncoding.EncodeToString(sum[:6]) +
		",tag:" + base64.StdEncoding.EncodeToString(sum[6:10]) + ",type:" + typ + "]"
}

var typeNames = map[tree.Kind]string{tree.String: "str", tree.Int: "int", tree.Float: "float", tree.Bool: "bool", tree.Time: "time"}

// fakeEncrypt returns an encrypted copy of docs.
func fakeEncrypt(docs []tree.Document) []tree.Document {
	out := make([]tree.Document, len(docs))
	for i, d := range docs {
		out[i] = tree.Document(encItems(d, ""))
	}
	return out
}

func encItems(items []tree.Item, path string) []tree.Item {
	out := make([]tree.Item, len(items))
	for i, it := range items {
		if it.IsComment() {
			out[i] = tree.Item{Key: tree.CommentV(fakeENC(path, it.Key.Str, "comment"), it.Key.Inline)}
			continue
		}
		p := path + it.Key.Str + ":"
		if strings.HasSuffix(it.Key.Str, "_unencrypted") {
			out[i] = it
			continue
		}
		out[i] = tree.Item{Key: it.Key, Value: encValue(it.Value, p)}
	}
	return out
}

func encValue(v tree.Value, path string) tree.Value {
	switch v.Kind {
	case tree.Map:
		return tree.MapV(encItems(v.Items(), path))
	case tree.List:
		elems := make([]tree.Value, len(v.Elems()))
		for i, e := range v.Elems() {
			if e.Kind == tree.Comment {
				elems[i] = tree.CommentV(fakeENC(path, e.Str, "comment"), e.Inline)
			} else {
				elems[i] = encValue(e, path)
			}
		}
		return tree.ListV(elems)
	case tree.Null:
		return v
	}
	text, _ := v.Canonical()
	return tree.Str(fakeENC(path, text, typeNames[v.Kind]))
}

// fakeDecrypt inverts fakeEncrypt. Like real decryption, it forgets which
// comments were inline.
func fakeDecrypt(t testing.TB, docs []tree.Document) []tree.Document {
	t.Helper()
	out, err := fakeDecryptErr(docs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func fakeDecryptErr(docs []tree.Document) (out []tree.Document, err error) {
	var d decrypter
	out = make([]tree.Document, len(docs))
	for i, doc := range docs {
		out[i] = tree.Document(d.items(doc))
	}
	return out, d.err
}

type decrypter struct{ err error }

func (d *decrypter) items(items []tree.Item) []tree.Item {
	out := make([]tree.Item, len(items))
	for i, it := range items {
		if it.IsComment() {
			out[i] = tree.Item{Key: d.comment(it.Key)}
			continue
		}
		out[i] = tree.Item{Key: it.Key, Value: d.value(it.Value)}
	}
	return out
}

func (d *decrypter) comment(c tree.Value) tree.Value {
	if !strings.HasPrefix(c.Str, "ENC[") {
		return c
	}
	return tree.CommentV(d.scalar(c.Str).Str, false)
}

func (d *decrypter) value(v tree.Value) tree.Value {
	switch v.Kind {
	case tree.Map:
		return tree.MapV(d.items(v.Items()))
	case tree.List:
		elems := make([]tree.Value, len(v.Elems()))
		for i, e := range v.Elems() {
			if e.Kind == tree.Comment {
				elems[i] = d.comment(e)
			} else {
				elems[i] = d.value(e)
			}
		}
		return tree.ListV(elems)
	case tree.String:
		if strings.HasPrefix(v.Str, "ENC[AES256_GCM,data:") {
			return d.scalar(v.Str)
		}
	}
	return v
}

func (d *decrypter) scalar(s string) tree.Value {
	fields := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "ENC[AES256_GCM,"), "]"), ",")
	data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(fields[0], "data:"))
	if err != nil {
		d.err = fmt.Errorf("%s: %w", s, err)
		return tree.Value{}
	}
	text := string(data)
	switch typ := strings.TrimPrefix(fields[len(fields)-1], "type:"); typ {
	case "str":
		return tree.Str(text)
	case "comment":
		return tree.CommentV(text, false)
	case "int":
		i, err := strconv.ParseInt(text, 10, 64)
		d.err = cmp.Or(d.err, err)
		return tree.IntV(i)
	case "float":
		f, err := strconv.ParseFloat(text, 64)
		d.err = cmp.Or(d.err, err)
		return tree.FloatV(f)
	case "bool":
		return tree.BoolV(text == "True")
	case "time":
		tm, err := time.Parse(time.RFC3339Nano, text)
		d.err = cmp.Or(d.err, err)
		return tree.TimeV(tm)
	default:
		d.err = cmp.Or(d.err, fmt.Errorf("type %q", typ))
	}
	return tree.Value{}
}

// fakeMeta is a metadata tree shaped like sops's.
var fakeMeta = []tree.Item{
	tree.KeyItem("age", tree.ListV([]tree.Value{tree.MapV([]tree.Item{
		tree.KeyItem("recipient", tree.Str("age1splfhycppu4ypv4h588h0eh7zg437h5k5jk0zl8xggh7ghgh3uts22txf3")),
		tree.KeyItem("enc", tree.Str("-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBoQVdVRGF2alhmeEo4QmpH\n-----END AGE ENCRYPTED FILE-----\n")),
	})})),
	tree.KeyItem("lastmodified", tree.Str("2026-01-02T03:04:05Z")),
	tree.KeyItem("mac", tree.Str(fakeENC("", "mac", "str"))),
	tree.KeyItem("unencrypted_suffix", tree.Str("_unencrypted")),
	tree.KeyItem("version", tree.Str("3.13.2")),
}

// encryptPreserving loads a plaintext, fake-encrypts it and writes it
// preserving its layout.
func encryptPreserving(t testing.TB, plain []byte) (enc []tree.Document, out []byte, err error) {
	docs, err := Store{}.LoadPlain(plain)
	if err != nil {
		return nil, nil, err
	}
	enc = fakeEncrypt(docs)
	out, err = emitEncryptedPreserving(plain, enc, fakeMeta)
	return enc, out, err
}

// roundTrip encrypts a plaintext preserving its layout, checks that the
// result loads to the encrypted tree, decrypts it back preserving the
// layout, checks that this loads to the plaintext tree, and checks that a
// second round gives the same text.
func roundTrip(t *testing.T, in []byte) (out, back []byte) {
	t.Helper()
	docs, err := Store{}.LoadPlain(in)
	if err != nil {
		t.Fatal(err)
	}
	enc, out, err := encryptPreserving(t, in)
	if err != nil {
		t.Fatalf("encrypting: %v", err)
	}
	gotDocs, gotMeta, err := Store{}.LoadEncrypted(out)
	if err != nil {
		t.Fatalf("loading the encrypted text: %v\n%s", err, out)
	}
	if !equalDocs(gotDocs, enc, false) || !equalItems(gotMeta, fakeMeta, false) {
		t.Fatalf("the encrypted text does not load to the encrypted tree:\n%s", out)
	}
	back, err = emitPlainPreserving(out, fakeDecrypt(t, gotDocs))
	if err != nil {
		t.Fatalf("decrypting: %v\n%s", err, out)
	}
	again, err := Store{}.LoadPlain(back)
	if err != nil || !equalDocs(again, docs, true) {
		t.Fatalf("the decrypted text does not load to the plaintext tree (%v):\n%s", err, back)
	}
	_, out2, err := encryptPreserving(t, back)
	if err != nil {
		t.Fatalf("encrypting the decrypted text: %v\n%s", err, back)
	}
	docs2, _, err := Store{}.LoadEncrypted(out2)
	if err != nil {
		t.Fatal(err)
	}
	back2, err := emitPlainPreserving(out2, fakeDecrypt(t, docs2))
	if err != nil {
		t.Fatalf("decrypting again: %v\n%s", err, out2)
	}
	if !bytes.Equal(back2, back) {
		t.Errorf("a second round changed the text:\n%s\nthen:\n%s", back, back2)
	}
	return out, back
}

func toCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

func withBOM(b []byte) []byte { return append([]byte("\ufeff"), b...) }

// TestPreserveGolden encrypts every testdata/preserve/NAME.yaml with the
// fake cipher: the result must be NAME.enc.yaml byte for byte, and
// decrypting it back must give the input again, or NAME.back.yaml when
// decryption cannot know how the input spelled its encrypted values. The
// same holds with CRLF line breaks and with a byte order mark.
func TestPreserveGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/preserve/*.yaml")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".enc.yaml") || strings.HasSuffix(f, ".back.yaml") {
			continue
		}
		n++
		name := strings.TrimSuffix(f, ".yaml")
		t.Run(filepath.Base(name), func(t *testing.T) {
			in := readFile(t, f)
			out, back := roundTrip(t, in)
			if *update {
				writeFile(t, name+".enc.yaml", out)
				if bytes.Equal(back, in) {
					os.Remove(name + ".back.yaml")
				} else {
					writeFile(t, name+".back.yaml", back)
				}
			}
			wantOut := readFile(t, name+".enc.yaml")
			wantBack := in
			if b, err := os.ReadFile(name + ".back.yaml"); err == nil {
				wantBack = b
				if bytes.Equal(b, in) {
					t.Errorf("%s.back.yaml is the input: remove it", name)
				}
			}
			for _, v := range []struct {
				name string
				conv func([]byte) []byte
			}{{"lf", func(b []byte) []byte { return b }}, {"crlf", toCRLF}, {"bom", withBOM}} {
				t.Run(v.name, func(t *testing.T) {
					out, back := out, back
					if v.name != "lf" {
						out, back = roundTrip(t, v.conv(in))
					}
					if v.name == "crlf" && crlfPlacementDiffers[filepath.Base(name)] {
						return
					}
					if want := v.conv(wantOut); !bytes.Equal(out, want) {
						t.Errorf("encrypted:\n%s\nwant:\n%s", out, want)
					}
					if want := v.conv(wantBack); !bytes.Equal(back, want) {
						t.Errorf("decrypted back:\n%s\nwant:\n%s", back, want)
					}
				})
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d golden inputs", n)
	}
}

// crlfPlacementDiffers lists the golden inputs where the metadata goes
// elsewhere with CRLF line breaks: yaml.v3 attaches a comment at another
// indentation at the end of a document differently after "\r\n".
var crlfPlacementDiffers = map[string]bool{"trailing": true}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// corpusFiles returns the corpus files cases/*/NAME by case.
func corpusFiles(t *testing.T, name string) map[string][]byte {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", name))
	files := make(map[string][]byte, len(paths))
	for _, p := range paths {
		files[filepath.Base(filepath.Dir(p))] = readFile(t, p)
	}
	if len(files) < 10 {
		t.Fatalf("only %d corpus files %s", len(files), name)
	}
	return files
}

// corpusFallbacks lists the corpus plaintexts the preserving writer
// leaves to EmitEncrypted, and why.
var corpusFallbacks = map[string]string{
	// sops expands anchors and aliases into copies, each encrypted with
	// its own path: the text cannot keep one anchored value.
	"yaml-anchors": "anchors are not preserved",
}

// TestPreserveCorpusInputs encrypts every plaintext YAML input of the
// interop corpus that loads: each must round-trip, or fall back for the
// reason listed in corpusFallbacks.
func TestPreserveCorpusInputs(t *testing.T) {
	files := corpusFiles(t, "input.yaml")
	for _, name := range slices.Sorted(maps.Keys(files)) {
		in := files[name]
		t.Run(name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain(in)
			switch {
			case err != nil:
				t.Skipf("kura and sops refuse it: %v", err)
			case len(docs) == 0:
				t.Skip("kura and sops refuse an empty file")
			case (Store{}).HasMetadataKey(docs[0]):
				t.Skip("kura and sops refuse a file with a sops entry")
			}
			_, _, err = encryptPreserving(t, in)
			want, fallback := corpusFallbacks[name]
			switch {
			case err != nil && !fallback:
				t.Fatalf("falls back: %v", err)
			case err != nil && !strings.Contains(err.Error(), want):
				t.Fatalf("falls back for another reason: %v", err)
			case err == nil && fallback:
				t.Fatalf("no longer falls back (%s): update corpusFallbacks", want)
			case err == nil:
				roundTrip(t, in)
			}
		})
	}
}

// TestPreserveCorpusExpected starts from what sops decrypt printed:
// decrypting, encrypting with the preserving writer and decrypting the
// sops way gives it again, and decrypting the preserving way too.
func TestPreserveCorpusExpected(t *testing.T) {
	files := corpusFiles(t, "expected.yaml")
	for _, name := range slices.Sorted(maps.Keys(files)) {
		want := files[name]
		t.Run(name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain(want)
			if err != nil {
				t.Fatal(err)
			}
			enc := fakeEncrypt(docs)
			out, err := emitEncryptedPreserving(want, enc, fakeMeta)
			if err != nil {
				t.Fatalf("falls back: %v", err)
			}
			encDocs, _, err := Store{}.LoadEncrypted(out)
			if err != nil {
				t.Fatal(err)
			}
			dec := fakeDecrypt(t, encDocs)
			got, err := Store{}.EmitPlain(dec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("sops-style decryption:\n%s\nwant:\n%s", got, want)
			}
			back, err := emitPlainPreserving(out, dec)
			if err != nil {
				t.Fatalf("preserving decryption falls back: %v", err)
			}
			if !bytes.Equal(back, want) {
				t.Errorf("preserving decryption:\n%s\nwant:\n%s", back, want)
			}
		})
	}
}

// sopsDecryptFallbacks lists the files written by sops that
// EmitPlainPreserving leaves to EmitPlain, and why.
var sopsDecryptFallbacks = map[string]string{
	// sops 3.13.2 writes a comment in a sequence as an encrypted element,
	// which decrypts to a comment: the text has a value where the tree
	// has a comment.
	"yaml-comments-in-list": "a sequence does not match its elements",
}

// TestPreservePlainFromSops decrypts the files sops wrote, with the
// decrypted tree taken from what sops decrypt printed: the text keeps
// sops's layout with the values in clear, and it must equal what sops
// printed but for comments, which stay where they were (sops moves a
// decrypted inline comment above its entry).
func TestPreservePlainFromSops(t *testing.T) {
	expected := corpusFiles(t, "expected.yaml")
	encrypted := corpusFiles(t, "encrypted.yaml")
	for _, name := range slices.Sorted(maps.Keys(expected)) {
		enc, ok := encrypted[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain(expected[name])
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				stripInline(d)
			}
			out, err := emitPlainPreserving(enc, docs)
			want, fallback := sopsDecryptFallbacks[name]
			switch {
			case err != nil && !fallback:
				t.Fatalf("falls back: %v", err)
			case err != nil && !strings.Contains(err.Error(), want):
				t.Fatalf("falls back for another reason: %v", err)
			case err == nil && fallback:
				t.Fatalf("no longer falls back (%s): update sopsDecryptFallbacks", want)
			case err != nil:
				return
			}
			if !bytes.Equal(out, expected[name]) && !hasComments(docs) && !sopsLayoutDiffers[name] {
				t.Errorf("got:\n%s\nwant:\n%s", out, expected[name])
			}
		})
	}
}

// sopsLayoutDiffers lists the files whose layout is not the one sops
// decrypt prints: opt-indent was encrypted with --indent 2, and sops
// decrypt prints it with 4.
var sopsLayoutDiffers = map[string]bool{"opt-indent": true}

func hasComments(docs []tree.Document) bool {
	var all []string
	for _, d := range docs {
		all = appendComments(all, d, false)
	}
	return len(all) > 0
}

// FuzzPreserve feeds random YAML through the preserving writers: a text
// that loads is fake-encrypted; the preserving writer either falls back or
// writes a text that loads to exactly the encrypted tree, and decrypting
// that text the preserving way gives a text that loads to the plaintext
// tree.
func FuzzPreserve(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/preserve/*.yaml")
	for _, name := range []string{"input.yaml", "expected.yaml", "encrypted.yaml"} {
		more, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", name))
		seeds = append(seeds, more...)
	}
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
			f.Add(toCRLF(data))
		}
	}
	for _, s := range []string{
		"a: 1\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "%YAML 1.2\n---\na: 1\n",
		"a: |2-\n   x\n  y\nb: 1\n", "a: >+\n  x\n\n\n", "- a\n", "a:\n- b\n- c: d\n  e: |\n    f\n",
		"a: [b, {c: d}] # e\n", "? a\n: b\n", "a: 'b\n\n  c'\n", "a: b\n  c\n  # d\n",
		"a: 1\n...\n---\nb: 2\n", "--- {a: 1}\n", "a: 1\n# c\n---\n# d\nb: 2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Store{}.LoadPlain(data)
		if err != nil || len(docs) == 0 || hasUint(docs) {
			return
		}
		for _, d := range docs {
			if (Store{}).HasMetadataKey(d) {
				return
			}
		}
		enc := fakeEncrypt(docs)
		if dec, err := fakeDecryptErr(enc); err != nil || !equalDocs(dec, docs, true) {
			return // a value the stand-in cipher cannot carry (a time out of range...)
		}
		out, err := emitEncryptedPreserving(data, enc, fakeMeta)
		if err != nil {
			return
		}
		gotDocs, gotMeta, err := Store{}.LoadEncrypted(out)
		if err != nil {
			t.Fatalf("the encrypted text does not load: %v\ninput %q\noutput %q", err, data, out)
		}
		if !equalDocs(gotDocs, enc, false) || !equalItems(gotMeta, fakeMeta, false) {
			t.Fatalf("the encrypted text loads differently\ninput %q\noutput %q", data, out)
		}
		dec := fakeDecrypt(t, gotDocs)
		back, err := emitPlainPreserving(out, dec)
		if err != nil {
			t.Fatalf("decrypting falls back: %v\ninput %q\nencrypted %q", err, data, out)
		}
		again, err := Store{}.LoadPlain(back)
		if err != nil || !equalDocs(again, docs, true) {
			t.Fatalf("the decrypted text loads differently (%v)\ninput %q\ndecrypted %q", err, data, back)
		}
	})
}

func hasUint(docs []tree.Document) bool {
	var value func(v tree.Value) bool
	items := func(its []tree.Item) bool {
		for _, it := range its {
			if value(it.Key) || value(it.Value) {
				return true
			}
		}
		return false
	}
	value = func(v tree.Value) bool {
		switch v.Kind {
		case tree.Uint:
			return true
		case tree.Map:
			return items(v.Items())
		case tree.List:
			return slices.ContainsFunc(v.Elems(), value)
		}
		return false
	}
	for _, d := range docs {
		if items(d) {
			return true
		}
	}
	return false
}

// TestPreserveReemitEncrypted writes every encrypted YAML file of the
// corpus (sops's own, tampered copies included) again from its own text
// and tree: the "sops" entries are replaced in place, so the bytes must
// not change. Then a changed metadata block replaces only that block.
func TestPreserveReemitEncrypted(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "encrypted.yaml"))
	local, _ := filepath.Glob("testdata/preserve/*.enc.yaml")
	files = append(files, local...)
	n := 0
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			text := readFile(t, f)
			docs, meta, err := Store{}.LoadEncrypted(text)
			if err != nil {
				t.Skipf("does not load: %v", err)
			}
			out, err := emitEncryptedPreserving(text, docs, meta)
			if err != nil {
				t.Fatalf("falls back: %v", err)
			}
			if !bytes.Equal(out, text) {
				t.Fatalf("got:\n%s\nwant:\n%s", out, text)
			}
			n++
			meta2 := slices.Clone(meta)
			for i, it := range meta2 {
				if it.Key.Str == "lastmodified" {
					meta2[i].Value = tree.Str("2030-01-01T00:00:00Z")
				}
			}
			out, err = emitEncryptedPreserving(text, docs, meta2)
			if err != nil {
				t.Fatalf("falls back: %v", err)
			}
			want := bytes.ReplaceAll(text, []byte(`lastmodified: "`+lastModified(meta)+`"`), []byte(`lastmodified: "2030-01-01T00:00:00Z"`))
			if !bytes.Equal(out, want) {
				t.Fatalf("got:\n%s\nwant:\n%s", out, want)
			}
		})
	}
	if n < 40 {
		t.Errorf("only %d files re-emitted", n)
	}
}

func lastModified(meta []tree.Item) string {
	v, _ := tree.Get(meta, "lastmodified")
	return v.Str
}

func BenchmarkPreserve(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		docs := []tree.Document{benchdata.Document(n)}
		text, err := Store{}.EmitPlain(docs)
		if err != nil {
			b.Fatal(err)
		}
		enc := fakeEncrypt(docs)
		out, err := emitEncryptedPreserving(text, enc, fakeMeta)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("EmitEncrypted/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, err := (Store{}).EmitEncrypted(enc, fakeMeta); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("EmitEncryptedPreserving/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if _, ok := EmitEncryptedPreserving(text, enc, fakeMeta); !ok {
					b.Fatal("fell back")
				}
			}
		})
		b.Run(fmt.Sprintf("EmitPlainPreserving/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(out)))
			for b.Loop() {
				if _, ok := EmitPlainPreserving(out, docs); !ok {
					b.Fatal("fell back")
				}
			}
		})
	}
}

// TestFastPlainMatchesEncoder checks that the shortcuts of fastPlain
// give what the encoder gives.
func TestFastPlainMatchesEncoder(t *testing.T) {
	values := []tree.Value{tree.IntV(0), tree.IntV(-17), tree.IntV(1 << 62), tree.BoolV(true), tree.BoolV(false)}
	for _, s := range append(tricky, "abc", "a b c", "a  b", "N", "No", "Off", "y", "user@example.com", "a/b/c", "x=1+2",
		"Inf", "NaN", "nan", "a.b", "ENC[AES256_GCM,data:YQ==,iv:abc,tag:def,type:str]", "e1", "E5", "a-", "b_") {
		values = append(values, tree.Str(s))
	}
	n := 0
	for _, v := range values {
		for _, flow := range []bool{false, true} {
			fast, ok := fastPlain(v, flow)
			if !ok {
				continue
			}
			n++
			slow, body, _, err := render(scalarNode(v), flow, 4)
			if err != nil || body != nil || slow != fast {
				t.Errorf("%#v (flow %v): fast %q, encoder %q %q %v", v.Str, flow, fast, slow, body, err)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d values took the fast path", n)
	}
}

func FuzzFastPlain(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, flow := range []bool{false, true} {
			fast, ok := fastPlain(tree.Str(s), flow)
			if !ok {
				continue
			}
			slow, body, _, err := render(scalarNode(tree.Str(s)), flow, 4)
			if err != nil || body != nil || slow != fast {
				t.Errorf("%q (flow %v): fast %q, encoder %q %q %v", s, flow, fast, slow, body, err)
			}
		}
	})
}

// TestPreserveFallbacks lists what the preserving writer leaves to
// EmitEncrypted, and why.
func TestPreserveFallbacks(t *testing.T) {
	for _, c := range []struct{ in, reason string }{
		{"a: &x 1\nb: *x\n", "anchors are not preserved"},
		{"a: &x {b: 1}\n", "anchors are not preserved"},
		{"a: !!map\n  b: 1\n", "tags on collections"},
		{"a: ! {b: 1}\n", "flow collection does not start where expected"},
		{"a: !!str\n  b\n", "a tag on a line of its own"},
		{"%YAML 1.1\n---\na: 1\n", `'%' is not preserved`},
		{"{a: 1}\n", "not a block mapping"},
		{"--- {a: 1}\n", "not a block mapping"},
		{"a: 1\rb: 2\n", "carriage return"},
		{"a: \"x\u0085y\"\n", "NEL"},
		// yaml.v3 drops this comment: it must not stay in clear.
		{"a: [ # c\n  1]\n", "yaml.v3 reads 0 comments where the text has 1"},
	} {
		docs, err := Store{}.LoadPlain([]byte(c.in))
		if err != nil {
			t.Errorf("%q does not load: %v", c.in, err)
			continue
		}
		enc := fakeEncrypt(docs)
		out, ok := EmitEncryptedPreserving([]byte(c.in), enc, fakeMeta)
		if ok || out != nil {
			t.Errorf("%q: did not fall back:\n%s", c.in, out)
			continue
		}
		if _, err := emitEncryptedPreserving([]byte(c.in), enc, fakeMeta); err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%q: fell back with %v, want %q", c.in, err, c.reason)
		}
	}
}

func TestDetectIndent(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"a: 1\n", 0},
		{"a:\n  b: 1\n", 2},
		{"a:\n    b: 1\n", 4},
		{"a:\n  b:\n      c: 1\n  d:\n    e: 1\nf:\n  g: 1\n", 2},
		{"a:\n    b:\n      c: 1\n", 4},
		{"a:\n- 1\nb:\n    c: 1\n", 4},
		{"a:\n   - 1\n", 3},
		{"a: |\n     text\n", 5},
		{"a: {b: {c: 1}}\n", 0},
		{"- a: 1\n  b:\n    c: 2\n", 2},
		{"a:\n  b: 1\n---\nc:\n    d: 1\n---\ne:\n    f: 1\n", 4},
		{"not: [valid\n", 0},
		{"a:\n b: 1\n", 2},
		{"a:\n          b: 1\n", 9},
	} {
		if got := DetectIndent([]byte(c.in)); got != c.want {
			t.Errorf("DetectIndent(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestPreserveChangeOneValue re-encrypts an encrypted file with one value
// changed, as "kura set" would: only that value's text changes.
func TestPreserveChangeOneValue(t *testing.T) {
	text := readFile(t, "testdata/preserve/indent2.enc.yaml")
	docs, meta, err := Store{}.LoadEncrypted(text)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := tree.Get(docs[0], "service")
	db, _ := tree.Get(svc.Items(), "database")
	old, _ := tree.Get(db.Items(), "host")
	repl := fakeENC("service:database:host:", "db2.internal", "str")
	for i, it := range db.Items() {
		if it.Key.Str == "host" {
			db.Items()[i].Value = tree.Str(repl)
		}
	}
	out, ok := EmitEncryptedPreserving(text, docs, meta)
	if !ok {
		t.Fatal("fell back")
	}
	if want := bytes.Replace(text, []byte(old.Str), []byte(repl), 1); !bytes.Equal(out, want) {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// TestPreserveAddRemove changes the keys of an encrypted file as set and
// unset do: a removed entry's lines go, a new entry is written after the
// last entry of its mapping (and the comments that end it), and every
// other byte stays.
func TestPreserveAddRemove(t *testing.T) {
	text := string(readFile(t, "testdata/preserve/indent2.enc.yaml"))
	enc := func(s string) string { return fakeENC("", s, "str") }
	line := func(prefix string) string {
		i := strings.Index(text, "\n"+prefix)
		if i < 0 {
			t.Fatalf("no line %q", prefix)
		}
		return text[i+1 : i+1+strings.IndexByte(text[i+1:], '\n')+1]
	}
	after := func(prefix, add string) string {
		l := line(prefix)
		return strings.Replace(text, l, l+add, 1)
	}
	without := func(prefixes ...string) string {
		out := text
		for _, p := range prefixes {
			out = strings.Replace(out, line(p), "", 1)
		}
		return out
	}
	for _, c := range []struct {
		name   string
		change func(tree.Document) (tree.Document, error)
		want   string
	}{
		{"add nested", set(t, `["service"]["database"]["timeout"]`, tree.Str(enc("30"))),
			after("      password:", "    timeout: "+enc("30")+"\n")},
		{"add top level after the closing comment", set(t, `["extra"]`, tree.Str(enc("x"))),
			after("#ENC[AES256_GCM,data:IHRoZSBlbmQ=", "extra: "+enc("x")+"\n")},
		{"add a map", set(t, `["extra"]["a"]`, tree.Str(enc("1"))),
			after("#ENC[AES256_GCM,data:IHRoZSBlbmQ=", "extra:\n  a: "+enc("1")+"\n")},
		{"remove a value", unset(t, `["service"]["replicas"]`), without("  replicas:")},
		{"remove a map", unset(t, `["service"]["database"]["credentials"]`),
			without("    credentials:", "      user:", "      password:")},
	} {
		t.Run(c.name, func(t *testing.T) { checkChange(t, text, c.change, c.want) })
	}
}

func set(t *testing.T, path string, v tree.Value) func(tree.Document) (tree.Document, error) {
	p, err := tree.ParsePath(path)
	if err != nil {
		t.Fatal(err)
	}
	return func(d tree.Document) (tree.Document, error) { return tree.Set(d, p, v) }
}

func unset(t *testing.T, path string) func(tree.Document) (tree.Document, error) {
	p, err := tree.ParsePath(path)
	if err != nil {
		t.Fatal(err)
	}
	return func(d tree.Document) (tree.Document, error) { return tree.Unset(d, p) }
}

func TestPreserveSequenceAddRemove(t *testing.T) {
	text := string(readFile(t, "testdata/preserve/indent2.enc.yaml"))
	enc := fakeENC("", "new", "str")
	second := "    - ENC[AES256_GCM,data:aW52b2ljZXM=,iv:f5TshZp6,tag:UZAEqw==,type:str]\n"
	last := "    - ENC[AES256_GCM,data:cmVwb3J0cw==,iv:MCSGV8UW,tag:Qn4TMg==,type:str]\n"
	for _, c := range []struct {
		name   string
		change func(tree.Document) (tree.Document, error)
		want   string
	}{
		{"remove the second element", unset(t, `["service"]["features"][1]`), strings.Replace(text, second, "", 1)},
		{"append", set(t, `["service"]["features"][3]`, tree.Str(enc)), strings.Replace(text, last, last+"    - "+enc+"\n", 1)},
	} {
		t.Run(c.name, func(t *testing.T) { checkChange(t, text, c.change, c.want) })
	}
}

// checkChange applies change to the encrypted text's tree and checks that
// the preserving writer gives want.
func checkChange(t *testing.T, text string, change func(tree.Document) (tree.Document, error), want string) {
	t.Helper()
	docs, meta, err := Store{}.LoadEncrypted([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if docs[0], err = change(docs[0]); err != nil {
		t.Fatal(err)
	}
	out, ok := EmitEncryptedPreserving([]byte(text), docs, meta)
	if !ok {
		t.Fatal("fell back")
	}
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

// FuzzPlainWord: wherever plainWord takes a plain scalar, plainLines,
// the translation of yaml.v3's scanner, finds the same end and value.
func FuzzPlainWord(f *testing.F) {
	for _, s := range []string{
		"key: value\n", "key:\n", "key:", "key:value: x\n", "a b: c\n", "a\tb: c\n", "#a: b\n",
		"a#b: c\n", ":a: b\n", "k\u00e9y: v\n", "[a]: b\n", "a,b: c\n", "key :\n", "key: # c\n",
		"secret_key: \"x\"\n", "url: http://x\n", "a\rb: c\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, flow bool) {
		src, err := newSource([]byte(text))
		if err != nil || len(text) == 0 {
			return
		}
		end, ok := src.plainWord(0, flow)
		if !ok {
			return
		}
		for _, indent := range []int{-1, 0, 2} {
			wantEnd, want := src.plainLines(0, indent, flow)
			if end != wantEnd || text[:end] != want {
				t.Errorf("%q (flow %v, indent %d): plainWord %d %q, plainLines %d %q", text, flow, indent, end, text[:end], wantEnd, want)
			}
		}
	})
}
