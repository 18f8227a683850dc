// Package storetest holds the checks every file format's store must pass
// against the SOPS interop corpus: plaintext written back as sops decrypt
// printed it, and encrypted files written back byte for byte.
package storetest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// PlainCase is a plaintext given to sops and what sops decrypt printed.
type PlainCase struct{ Name, Input, Expected string }

// PlainCases lists the corpus's roundtrip rows of a format whose output
// is in that format too (ext, such as ".env"), and the package's own
// sops-made files testdata/NAME.input.EXT with testdata/NAME.expected.EXT.
func PlainCases(t testing.TB, formatName, ext string) []PlainCase {
	t.Helper()
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var cases []PlainCase
	for _, r := range rows {
		if r["format"] == formatName && r["kind"] == "roundtrip" && strings.HasSuffix(r["expected_stdout"], ext) {
			cases = append(cases, PlainCase{r["case"], r.Path("input"), r.Path("expected_stdout")})
		}
	}
	local, _ := filepath.Glob("testdata/*.input" + ext)
	for _, in := range local {
		name := strings.TrimSuffix(filepath.Base(in), ".input"+ext)
		cases = append(cases, PlainCase{name, in, filepath.Join("testdata", name+".expected"+ext)})
	}
	return cases
}

// EncryptedFiles lists every encrypted file sops wrote with the extension,
// tampered copies included (their changes are in values and order, which
// a store carries over unchanged), and the package's testdata/*.enc.EXT.
func EncryptedFiles(t testing.TB, ext string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "encrypted"+ext))
	local, _ := filepath.Glob("testdata/*.enc" + ext)
	return append(files, local...)
}

// Name names a subtest after a corpus case or a testdata file.
func Name(path string) string {
	if strings.HasPrefix(path, corpus.Dir()) {
		return filepath.Base(filepath.Dir(path))
	}
	return filepath.Base(path)
}

// Read reads a file or fails the test.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// CheckPlain checks the store's half of a decrypt: loading the plaintext
// and writing it back gives what sops decrypt printed. prepare, if set,
// adjusts the tree first as decryption would (it forgets inline comments).
func CheckPlain(t *testing.T, s format.Store, cases []PlainCase, prepare func([]tree.Document)) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			input := Read(t, c.Input)
			docs, err := s.LoadPlain(input)
			if err != nil {
				t.Fatal(err)
			}
			if sl, ok := s.(format.SharedLoader); ok {
				// In place, the store must load the same tree.
				sdocs, err := sl.LoadPlainShared(bytes.Clone(input))
				if err != nil || !tree.DocumentsEqual(sdocs, docs) {
					t.Errorf("LoadPlainShared differs from LoadPlain (%v)", err)
				}
			}
			if prepare != nil {
				prepare(docs)
			}
			got, err := s.EmitPlain(docs)
			if err != nil {
				t.Fatal(err)
			}
			if want := Read(t, c.Expected); !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// CheckEncrypted checks that loading an encrypted file and writing the
// same documents and metadata back gives sops's bytes: ENC values,
// comments and the metadata block are written as sops writes them.
func CheckEncrypted(t *testing.T, s format.Store, files []string) {
	t.Helper()
	for _, path := range files {
		t.Run(Name(path), func(t *testing.T) {
			want := Read(t, path)
			docs, meta, err := s.LoadEncrypted(want)
			if err != nil {
				t.Fatal(err)
			}
			if sl, ok := s.(format.SharedLoader); ok {
				// In place, the store must load the same tree.
				sdocs, smeta, err := sl.LoadEncryptedShared(bytes.Clone(want))
				if err != nil || !tree.DocumentsEqual(sdocs, docs) || !tree.ItemsEqual(smeta, meta) {
					t.Errorf("LoadEncryptedShared differs from LoadEncrypted (%v)", err)
				}
			}
			if v, ok := tree.Get(meta, "version"); !ok || v.Str != "3.13.2" {
				t.Errorf("version = %#v", v)
			}
			// (A tampered copy may have lost its MAC.)
			if v, ok := tree.Get(meta, "mac"); ok && !strings.HasPrefix(v.Str, "ENC[AES256_GCM,") {
				t.Errorf("mac = %#v", v)
			}
			for _, d := range docs {
				if s.HasMetadataKey(d) {
					t.Errorf("metadata entries left in the data")
				}
			}
			got, err := s.EmitEncrypted(docs, meta)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Seed adds every file of a format that sops read or wrote in the corpus
// (and the package's testdata) to a fuzz target's seed corpus.
func Seed(f *testing.F, formatName, ext string) {
	f.Helper()
	for _, c := range PlainCases(f, formatName, ext) {
		f.Add(Read(f, c.Input))
		f.Add(Read(f, c.Expected))
	}
	for _, path := range EncryptedFiles(f, ext) {
		f.Add(Read(f, path))
	}
}
