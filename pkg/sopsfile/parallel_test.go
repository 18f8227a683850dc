package sopsfile

import (
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/cipher"
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

// TestCountLeavesSizesWalk checks that countLeaves sizes the deferred
// walk exactly: as many jobs as leaves, and their additional data in the
// bytes counted, so the walk's buffers are allocated once.
func TestCountLeavesSizesWalk(t *testing.T) {
	docs := []tree.Document{
		benchdata.Document(300),
		{
			tree.CommentItem("top", false),
			{Key: tree.Str("list"), Value: tree.ListV([]tree.Value{tree.Str("a"), tree.IntV(1), tree.MapV(tree.Document{{Key: tree.Str("k"), Value: tree.BoolV(true)}}), tree.ListV([]tree.Value{tree.Str("deep")})})},
			{Key: tree.Str("empty"), Value: tree.MapV(nil)},
			{Key: tree.Str("null"), Value: tree.Value{Kind: tree.Null}},
		},
	}
	want := countLeaves(docs)
	c, err := cipher.New(make([]byte, cipher.DataKeySize))
	if err != nil {
		t.Fatal(err)
	}
	w := newWalker(rules.NewSelector(rules.Config{}), c, false)
	w.deferred = true
	for _, d := range docs {
		if err := w.document(d); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.jobs) != want.leaves || len(w.aads) != want.aad {
		t.Errorf("the walk made %d jobs with %d bytes of additional data; countLeaves said %d and %d", len(w.jobs), len(w.aads), want.leaves, want.aad)
	}
}
