// Package corpus reads the SOPS interop corpus under testdata/sops-interop
// for tests: the manifest rows and the paths of each case's files.
package corpus

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Row is one line of MANIFEST.tsv, by column name.
type Row map[string]string

// Dir returns the corpus directory, found from this source file so that
// tests in any package can use it.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "sops-interop")
}

// KeysDir returns the directory of the test keys.
func KeysDir() string {
	return filepath.Join(Dir(), "..", "keys")
}

// Rows reads MANIFEST.tsv.
func Rows() ([]Row, error) {
	f, err := os.Open(filepath.Join(Dir(), "MANIFEST.tsv"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header []string
	var rows []Row
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if header == nil {
			header = fields
			continue
		}
		if len(fields) != len(header) {
			return nil, fmt.Errorf("MANIFEST.tsv: row %d has %d fields, want %d", len(rows)+2, len(fields), len(header))
		}
		r := Row{}
		for i, h := range header {
			r[h] = fields[i]
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// Path returns the absolute path of a manifest path column ("-" gives "").
func (r Row) Path(column string) string {
	v := r[column]
	if v == "-" || v == "" {
		return ""
	}
	return filepath.Join(Dir(), v)
}

// Case returns the directory of the row's case.
func (r Row) Case() string { return filepath.Join(Dir(), "cases", r["case"]) }

// MustRows reads MANIFEST.tsv or fails the test.
func MustRows(t testing.TB) []Row {
	t.Helper()
	rows, err := Rows()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
