package toml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func seeds(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range roundTrips {
		f.Add([]byte(c.in))
	}
	for _, s := range []string{
		"a = [\n1 # x\n, # y\n2]\n",
		"t = { a.b = 1, # c\n}\n",
		"[a.b]\n[a]\n# c\n[a.c]\n",
		"# a\n\n# b\n[[x]]\n[[x.y]]\n[x.z]\n",
		"a = \"\"\"\\\n  \"\"\"\n",
		"x = 1979-05-27 07:32:00\ny = 07:32\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzLoadPlain checks that loading never panics, and that what loads is
// written, reads back to the same tree, and is written the same again,
// with and without inline comments.
func FuzzLoadPlain(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Store{}.LoadPlain(data)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		checkReload(t, docs[0])
		checkReload(t, forgetInline(docs[0]))
	})
}

// FuzzLoadEncrypted checks that what LoadEncrypted reads is written back
// in a form that reads the same.
func FuzzLoadEncrypted(f *testing.F) {
	seeds(f)
	f.Add([]byte("a = 1\n[sops]\nversion = \"3.13.2\"\n[[sops.age]]\nrecipient = \"x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, meta, err := Store{}.LoadEncrypted(data)
		if err != nil {
			return
		}
		out, err := Store{}.EmitEncrypted(docs, meta)
		if err != nil {
			t.Fatalf("EmitEncrypted: %v", err)
		}
		docs2, meta2, err := Store{}.LoadEncrypted(out)
		if err != nil {
			t.Fatalf("LoadEncrypted of our output: %v\n%s", err, out)
		}
		if !sameItems(docs2[0], docs[0]) || !sameItems(meta2, meta) {
			t.Fatalf("reads back differently:\n%s\n%s\n%s", out, dump(append(docs[0], tree.KeyItem("sops", tree.MapV(meta)))), dump(append(docs2[0], tree.KeyItem("sops", tree.MapV(meta2)))))
		}
	})
}
