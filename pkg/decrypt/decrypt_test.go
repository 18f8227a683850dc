package decrypt

import (
	"strings"
	"testing"
)

func TestErrors(t *testing.T) {
	t.Setenv("SOPS_AGE_KEY_FILE", "../../testdata/keys/age2.txt")
	for _, c := range []struct {
		name, path, format, want string
	}{
		{"missing file", "testdata/nothere.yaml", "", "no such file"},
		{"unknown format", "testdata/app.enc.yaml", "xml", `unknown format "xml"`},
		{"wrong key", "testdata/app.enc.yaml", "", "testdata/app.enc.yaml: decrypt: "},
		{"not SOPS", "decrypt.go", "yaml", "decrypt.go: decrypt: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := File(c.path, c.format)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %q, %v; want an error containing %q", out, err, c.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Error("the error holds a secret")
			}
		})
	}
}
