package sopsfile

import (
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestParallelDecrypt checks that decrypting on every core (files only
// read) gives what the one-value-at-a-time walk gives: the same tree, the
// same MAC verdict, and for a tampered value the same error naming it.
// (Encrypt encrypts these 6,000 values on every core as well: the
// sequential decryption checks those values and their MAC too.)
func TestParallelDecrypt(t *testing.T) {
	for _, macOnly := range []bool{false, true} {
		plain := benchdata.Document(6000)
		f, err := Encrypt([]tree.Document{plain.Clone()}, EncryptOptions{
			Groups: [][]keys.Recipient{{fixedKey{"k1"}}},
			Rules:  rules.Config{UnencryptedSuffix: "_unencrypted", MACOnlyEncrypted: macOnly},
		})
		if err != nil {
			t.Fatal(err)
		}
		decrypt := func(docs []tree.Document, remember bool) ([]tree.Document, error) {
			g := &File{Docs: tree.CloneDocuments(docs), Meta: f.Meta}
			err := g.decryptWithKey(f.dataKey, false, remember)
			return g.Docs, err
		}
		seq, err1 := decrypt(f.Docs, true)
		par, err2 := decrypt(f.Docs, false)
		if err1 != nil || err2 != nil {
			t.Fatalf("macOnly=%v: %v, %v", macOnly, err1, err2)
		}
		if !tree.DocumentsEqual(seq, par) || !tree.DocumentsEqual(seq, []tree.Document{plain}) {
			t.Fatalf("macOnly=%v: the parallel decryption differs", macOnly)
		}

		// One value tampered with, late in the file.
		tampered := tree.CloneDocuments(f.Docs)
		n := 0
		var walk func(v *tree.Value) bool
		walk = func(v *tree.Value) bool {
			switch v.Kind {
			case tree.Map:
				for i := range v.Items {
					if walk(&v.Items[i].Value) {
						return true
					}
				}
			case tree.List:
				for i := range v.Elems {
					if walk(&v.Elems[i]) {
						return true
					}
				}
			case tree.String:
				if strings.HasPrefix(v.Str, "ENC[") {
					if n++; n == 5000 {
						v.Str = strings.Replace(v.Str, "data:", "data:AA", 1)
						return true
					}
				}
			}
			return false
		}
		root := tree.MapV(tampered[0])
		walk(&root)
		_, e1 := decrypt(tampered, true)
		_, e2 := decrypt(tampered, false)
		if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
			t.Fatalf("tampered: sequential %v, parallel %v", e1, e2)
		}
	}
}
