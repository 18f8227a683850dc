package ini

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestCorpusPlainRoundtrip checks the store's half of a decrypt: the tree
// of a plaintext written back is what sops decrypt printed. The cases are
// the corpus's INI roundtrip rows and this package's own sops-made
// files in testdata (see testdata/README.md).
func TestCorpusPlainRoundtrip(t *testing.T) {
	cases := storetest.PlainCases(t, "ini", ".ini")
	if len(cases) < 5 {
		t.Fatalf("found only %d INI roundtrip cases", len(cases))
	}
	storetest.CheckPlain(t, Store{}, cases, nil)
}

// TestCorpusEncryptedRoundtrip checks that every encrypted INI file sops
// wrote is written back byte for byte.
func TestCorpusEncryptedRoundtrip(t *testing.T) {
	files := storetest.EncryptedFiles(t, ".ini")
	if len(files) < 7 {
		t.Fatalf("found only %d encrypted INI files", len(files))
	}
	storetest.CheckEncrypted(t, Store{}, files)
}

// TestCorpusEncryptErrors checks the input sops refused to encrypt
// (err-ini-key-without-value) fails to load, naming the line by number.
func TestCorpusEncryptErrors(t *testing.T) {
	n := 0
	for _, row := range corpus.MustRows(t) {
		if row["format"] != "ini" || row["kind"] != "encrypt-error" {
			continue
		}
		n++
		t.Run(row["case"], func(t *testing.T) {
			_, err := Store{}.LoadPlain(storetest.Read(t, row.Path("input")))
			want := "could not parse INI input: line 2: key-value delimiter not found"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
	if n != 1 {
		t.Fatalf("found %d INI encrypt-error rows", n)
	}
}

// TestCorpusNotSections covers the rows where sops cannot write INI
// because a top-level value is not a map: output-type-json-to-ini
// (json-nested has top-level strings) and extract-ini-section (the
// extracted section's keys become the top level).
func TestCorpusNotSections(t *testing.T) {
	for name, doc := range map[string]tree.Document{
		"output-type-json-to-ini": {
			tree.KeyItem("name", tree.Str("billing-service")),
			tree.KeyItem("database", tree.MapV([]tree.Item{tree.KeyItem("host", tree.Str("db.internal"))})),
		},
		"extract-ini-section": {
			tree.KeyItem("bucket", tree.Str("backups")),
			tree.KeyItem("secret_key", tree.Str("s3-secret")),
		},
	} {
		_, err := Store{}.EmitPlain([]tree.Document{doc})
		if err == nil || !strings.Contains(err.Error(), "Section values should always be TreeBranches") {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestCorpusExtract is the row extract-ini-value: the value at
// ["s3"]["secret_key"] is the string sops printed (the command line
// prints an extracted string itself, without the store).
func TestCorpusExtract(t *testing.T) {
	docs, err := Store{}.LoadPlain(storetest.Read(t, filepath.Join(corpus.Dir(), "cases/ini-multi-recipient/input.ini")))
	if err != nil {
		t.Fatal(err)
	}
	s3, _ := tree.Get(docs[0], "s3")
	v, _ := tree.Get(s3.Items(), "secret_key")
	if want := storetest.Read(t, filepath.Join(corpus.Dir(), "cases/extract-ini-value/expected.out")); v.Kind != tree.String || v.Str != string(want) {
		t.Fatalf("got %#v, want %q", v, want)
	}
}
