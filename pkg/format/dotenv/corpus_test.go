package dotenv

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestCorpusPlainRoundtrip checks the store's half of a decrypt: the tree
// of a plaintext written back is what sops decrypt printed. The cases are
// the corpus's dotenv roundtrip rows and this package's own sops-made
// files in testdata (see testdata/README.md).
func TestCorpusPlainRoundtrip(t *testing.T) {
	cases := storetest.PlainCases(t, "dotenv", ".env")
	if len(cases) < 6 {
		t.Fatalf("found only %d dotenv roundtrip cases", len(cases))
	}
	storetest.CheckPlain(t, Store{}, cases, nil)
}

// TestCorpusEncryptedRoundtrip checks that every encrypted dotenv file sops
// wrote is written back byte for byte.
func TestCorpusEncryptedRoundtrip(t *testing.T) {
	files := storetest.EncryptedFiles(t, ".env")
	if len(files) < 8 {
		t.Fatalf("found only %d encrypted dotenv files", len(files))
	}
	storetest.CheckEncrypted(t, Store{}, files)
}

// TestCorpusEncryptErrors checks the inputs sops refused to encrypt fail
// to load, with the line named by number and its text left out.
func TestCorpusEncryptErrors(t *testing.T) {
	n := 0
	for _, row := range corpus.MustRows(t) {
		if row["format"] != "dotenv" || row["kind"] != "encrypt-error" {
			continue
		}
		n++
		t.Run(row["case"], func(t *testing.T) {
			input := storetest.Read(t, row.Path("input"))
			_, err := Store{}.LoadPlain(input)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), "line 2: invalid dotenv input line") {
				t.Errorf("error %q", err)
			}
			for _, line := range strings.Split(string(input), "\n") {
				if line != "" && !strings.Contains(line, "=") && strings.Contains(err.Error(), strings.TrimSpace(line)) {
					t.Errorf("error %q shows the line %q", err, line)
				}
			}
		})
	}
	if n != 2 {
		t.Fatalf("found %d dotenv encrypt-error rows", n)
	}
}

// TestCorpusNestedOutput is the row output-type-json-to-dotenv-nested:
// json-nested decrypted to dotenv fails on its first nested value.
func TestCorpusNestedOutput(t *testing.T) {
	doc := tree.Document{
		tree.KeyItem("name", tree.Str("billing-service")),
		tree.KeyItem("version", tree.Str("2.4.1")),
		tree.KeyItem("database", tree.MapV([]tree.Item{tree.KeyItem("host", tree.Str("db.internal"))})),
		tree.KeyItem("replicas", tree.ListV(nil)),
	}
	_, err := Store{}.EmitPlain([]tree.Document{doc})
	want := "cannot use complex value in dotenv file; offending key database"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// TestCorpusExtract is the row extract-dotenv-value: the extracted string
// is written as it is.
func TestCorpusExtract(t *testing.T) {
	docs, err := Store{}.LoadPlain(storetest.Read(t, filepath.Join(corpus.Dir(), "cases/dotenv-basic/input.env")))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tree.Get(docs[0], "DATABASE_URL")
	got, err := Store{}.EmitValue(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := storetest.Read(t, filepath.Join(corpus.Dir(), "cases/extract-dotenv-value/expected.out")); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
