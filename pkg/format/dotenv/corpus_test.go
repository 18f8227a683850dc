package dotenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

// corpus holds files written by the real sops 3.13.2.
const corpus = "../../../testdata/sops-interop"

// manifestRow is one row of the corpus's MANIFEST.tsv, by column name.
type manifestRow map[string]string

func readManifest(t testing.TB) []manifestRow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpus, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(lines[0], "\t")
	var rows []manifestRow
	for _, line := range lines[1:] {
		row := manifestRow{}
		for i, f := range strings.Split(line, "\t") {
			if i < len(header) {
				row[header[i]] = f
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// plainCase is a plaintext given to sops and what sops decrypt printed.
type plainCase struct{ name, input, expected string }

// plainCases lists the corpus's dotenv roundtrip rows and this package's
// own sops-made files in testdata (see testdata/README.md).
func plainCases(t testing.TB) []plainCase {
	var cases []plainCase
	for _, row := range readManifest(t) {
		if row["format"] == "dotenv" && row["kind"] == "roundtrip" {
			cases = append(cases, plainCase{row["case"],
				filepath.Join(corpus, row["input"]), filepath.Join(corpus, row["expected_stdout"])})
		}
	}
	local, _ := filepath.Glob("testdata/*.input.env")
	for _, in := range local {
		name := strings.TrimSuffix(filepath.Base(in), ".input.env")
		cases = append(cases, plainCase{name, in, filepath.Join("testdata", name+".expected.env")})
	}
	if len(cases) < 6 {
		t.Fatalf("found only %d dotenv roundtrip cases", len(cases))
	}
	return cases
}

// encryptedFiles lists every encrypted dotenv file sops wrote, including
// the tampered ones (the tampering is in values and order, which the
// store must carry over unchanged).
func encryptedFiles(t testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join(corpus, "cases/*/encrypted.env"))
	local, _ := filepath.Glob("testdata/*.enc.env")
	files = append(files, local...)
	if len(files) < 8 {
		t.Fatalf("found only %d encrypted dotenv files", len(files))
	}
	return files
}

// fileCaseName names a test after the corpus case or testdata file.
func fileCaseName(path string) string {
	if strings.HasPrefix(path, corpus) {
		return filepath.Base(filepath.Dir(path))
	}
	return filepath.Base(path)
}

// TestCorpusPlainRoundtrip checks the store's half of a decrypt: the tree
// of a plaintext written back is what sops decrypt printed.
func TestCorpusPlainRoundtrip(t *testing.T) {
	for _, c := range plainCases(t) {
		t.Run(c.name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain(readFile(t, c.input))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Store{}.EmitPlain(docs)
			if err != nil {
				t.Fatal(err)
			}
			if want := readFile(t, c.expected); !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestCorpusEncryptedRoundtrip checks that loading an encrypted file and
// writing the same tree and metadata back gives sops's bytes: the ENC
// values, comments and the flattened metadata are written as sops does.
func TestCorpusEncryptedRoundtrip(t *testing.T) {
	for _, path := range encryptedFiles(t) {
		t.Run(fileCaseName(path), func(t *testing.T) {
			want := readFile(t, path)
			docs, meta, err := Store{}.LoadEncrypted(want)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 {
				t.Fatalf("%d documents", len(docs))
			}
			if v, ok := tree.Get(meta, "version"); !ok || v.Str != "3.13.2" {
				t.Errorf("version = %#v", v)
			}
			if v, ok := tree.Get(meta, "mac"); !ok || !strings.HasPrefix(v.Str, "ENC[AES256_GCM,") {
				t.Errorf("mac = %#v", v)
			}
			if (Store{}).HasMetadataKey(docs[0]) {
				t.Errorf("metadata entries left in the data")
			}
			got, err := Store{}.EmitEncrypted(docs, meta)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestCorpusEncryptErrors checks the inputs sops refused to encrypt fail
// to load, with the line named by number and its text left out.
func TestCorpusEncryptErrors(t *testing.T) {
	n := 0
	for _, row := range readManifest(t) {
		if row["format"] != "dotenv" || row["kind"] != "encrypt-error" {
			continue
		}
		n++
		t.Run(row["case"], func(t *testing.T) {
			input := readFile(t, filepath.Join(corpus, row["input"]))
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
	docs, err := Store{}.LoadPlain(readFile(t, filepath.Join(corpus, "cases/dotenv-basic/input.env")))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := tree.Get(docs[0], "DATABASE_URL")
	got, err := Store{}.EmitValue(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, filepath.Join(corpus, "cases/extract-dotenv-value/expected.out")); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
