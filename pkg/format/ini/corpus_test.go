package ini

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

// plainCases lists the corpus's INI roundtrip rows and this package's
// own sops-made files in testdata (see testdata/README.md).
func plainCases(t testing.TB) []plainCase {
	var cases []plainCase
	for _, row := range readManifest(t) {
		if row["format"] == "ini" && row["kind"] == "roundtrip" {
			cases = append(cases, plainCase{row["case"],
				filepath.Join(corpus, row["input"]), filepath.Join(corpus, row["expected_stdout"])})
		}
	}
	local, _ := filepath.Glob("testdata/*.input.ini")
	for _, in := range local {
		name := strings.TrimSuffix(filepath.Base(in), ".input.ini")
		cases = append(cases, plainCase{name, in, filepath.Join("testdata", name+".expected.ini")})
	}
	if len(cases) < 5 {
		t.Fatalf("found only %d INI roundtrip cases", len(cases))
	}
	return cases
}

// encryptedFiles lists every encrypted INI file sops wrote, including
// the tampered ones (the tampering is in values and order, which the
// store must carry over unchanged).
func encryptedFiles(t testing.TB) []string {
	files, _ := filepath.Glob(filepath.Join(corpus, "cases/*/encrypted.ini"))
	local, _ := filepath.Glob("testdata/*.enc.ini")
	files = append(files, local...)
	if len(files) < 7 {
		t.Fatalf("found only %d encrypted INI files", len(files))
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

// TestCorpusEncryptErrors checks the input sops refused to encrypt
// (err-ini-key-without-value) fails to load, naming the line by number.
func TestCorpusEncryptErrors(t *testing.T) {
	n := 0
	for _, row := range readManifest(t) {
		if row["format"] != "ini" || row["kind"] != "encrypt-error" {
			continue
		}
		n++
		t.Run(row["case"], func(t *testing.T) {
			_, err := Store{}.LoadPlain(readFile(t, filepath.Join(corpus, row["input"])))
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
	docs, err := Store{}.LoadPlain(readFile(t, filepath.Join(corpus, "cases/ini-multi-recipient/input.ini")))
	if err != nil {
		t.Fatal(err)
	}
	s3, _ := tree.Get(docs[0], "s3")
	v, _ := tree.Get(s3.Items, "secret_key")
	if want := readFile(t, filepath.Join(corpus, "cases/extract-ini-value/expected.out")); v.Kind != tree.String || v.Str != string(want) {
		t.Fatalf("got %#v, want %q", v, want)
	}
}
