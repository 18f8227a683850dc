package sopsfile

import (
	"fmt"
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
				for i := range v.Items() {
					if walk(&v.Items()[i].Value) {
						return true
					}
				}
			case tree.List:
				for i := range v.Elems() {
					if walk(&v.Elems()[i]) {
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
// walk exactly: as many jobs as leaves, and their containers' additional
// data in the bytes counted, so the walk's buffers are allocated once;
// and that each job's additional data is the one the sequential walk
// gives its value.
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
	w := deferredWalk(t, c, false, docs)
	if len(w.jobs) != want.leaves || len(w.prefixes) != want.prefixes {
		t.Errorf("the walk made %d jobs with %d bytes of additional data; countLeaves said %d and %d", len(w.jobs), len(w.prefixes), want.leaves, want.prefixes)
	}
	// The sequential walk encrypts each value with its additional data;
	// decrypting each job's value with the job's additional data must
	// give the value back.
	enc := tree.CloneDocuments(docs)
	s := newWalker(rules.NewSelector(rules.Config{}), c, false)
	for _, d := range enc {
		if err := s.document(d); err != nil {
			t.Fatal(err)
		}
	}
	d := deferredWalk(t, c, true, enc)
	if len(d.jobs) != len(w.jobs) {
		t.Fatalf("%d jobs decrypting, %d encrypting", len(d.jobs), len(w.jobs))
	}
	for i, j := range d.jobs {
		got, err := c.DecryptValue(j.v.Str, d.additionalOf(nil, j))
		if err != nil || !tree.Equal(got, *w.jobs[i].v) {
			t.Errorf("job %d (additional data %q) does not decrypt to its value: %v", i, d.additionalOf(nil, j), err)
		}
	}
}

// deferredWalk walks docs to collect their values as jobs, without a
// selector.
func deferredWalk(t *testing.T, c *cipher.Cipher, decrypt bool, docs []tree.Document) *walker {
	t.Helper()
	w := newWalker(rules.NewSelector(rules.Config{}), c, decrypt)
	w.deferred = true
	for _, d := range docs {
		if err := w.document(d); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// richDocument is benchdata.Document(n) with what makes the walk's
// decisions depend on more than keys: comments in maps and lists (some
// of them matching "^secret"), lists in lists, nulls and empty
// containers.
func richDocument(n int) tree.Document {
	doc := benchdata.Document(n)
	for i := range doc {
		svc := &doc[i].Value
		switch i % 5 {
		case 0:
			svc.SetItems(append([]tree.Item{tree.CommentItem("secret: the next entry", false)}, svc.Items()...))
		case 1:
			svc.SetItems(append(svc.Items(), tree.CommentItem("plain note", true),
				tree.KeyItem("nested", tree.ListV([]tree.Value{
					tree.CommentV("secret list comment", false),
					tree.ListV([]tree.Value{tree.Str("deep"), tree.IntV(int64(i))}),
					tree.Value{Kind: tree.Null},
					tree.MapV(nil),
				}))))
		case 2:
			svc.SetItems(append(svc.Items(), tree.KeyItem("nothing", tree.Value{Kind: tree.Null}), tree.KeyItem("none", tree.ListV(nil))))
		}
	}
	return doc
}

// encryptedValues returns pointers to the ENC strings of docs, in
// document order, and the additional data of each.
func encryptedValues(docs []tree.Document) (vals []*tree.Value, aads []string) {
	var walk func(v *tree.Value, aad string)
	walk = func(v *tree.Value, aad string) {
		switch v.Kind {
		case tree.Map:
			for i := range v.Items() {
				if !v.Items()[i].IsComment() {
					walk(&v.Items()[i].Value, aad+v.Items()[i].Key.Str+":")
				}
			}
		case tree.List:
			for i := range v.Elems() {
				walk(&v.Elems()[i], aad)
			}
		case tree.String:
			if strings.HasPrefix(v.Str, "ENC[") {
				vals, aads = append(vals, v), append(aads, aad)
			}
		}
	}
	for _, d := range docs {
		root := tree.MapV(d)
		walk(&root, "")
	}
	return vals, aads
}

// TestParallelDecryptMatchesSequential checks that decrypting on every
// core gives exactly what the one-value-at-a-time walk gives (the tree,
// the error, the warnings) under each kind of selector, on files with a
// value whose text is not canonical for its type tag, with a comment
// written as sops 3.13.2 writes one in a list, and with a damaged value,
// early or late, with and without --strict.
func TestParallelDecryptMatchesSequential(t *testing.T) {
	configs := []rules.Config{
		{},
		{UnencryptedSuffix: "_unencrypted", MACOnlyEncrypted: true},
		{EncryptedRegex: "^(password|url|tags|nested)$"},
		{EncryptedCommentRegex: "^secret"},
		{UnencryptedCommentRegex: "^secret", MACOnlyEncrypted: true},
	}
	type tamper struct {
		name string
		do   func(t *testing.T, c *cipher.Cipher, docs []tree.Document)
	}
	retag := func(at func(n int) int) func(t *testing.T, c *cipher.Cipher, docs []tree.Document) {
		return func(t *testing.T, c *cipher.Cipher, docs []tree.Document) {
			vals, aads := encryptedValues(docs)
			for k := at(len(vals)); k < len(vals); k++ {
				v := vals[k]
				if !strings.HasSuffix(v.Str, ",type:int]") {
					continue
				}
				// "0042" encrypted as a string, tagged int: decrypts to 42,
				// not canonical.
				s, err := c.EncryptValue(tree.Str("0042"), []byte(aads[k]))
				if err != nil {
					t.Fatal(err)
				}
				v.Str = strings.Replace(s, ",type:str]", ",type:int]", 1)
				return
			}
			t.Fatal("no int value to retag")
		}
	}
	tampers := []tamper{
		{"none", func(*testing.T, *cipher.Cipher, []tree.Document) {}},
		{"non-canonical early", retag(func(int) int { return 3 })},
		{"non-canonical late", retag(func(n int) int { return n - 200 })},
		{"list comment", func(t *testing.T, c *cipher.Cipher, docs []tree.Document) {
			vals, aads := encryptedValues(docs)
			for k := len(vals) / 2; k < len(vals); k++ {
				if strings.HasSuffix(aads[k], "tags:") {
					s, err := c.EncryptValue(tree.CommentV("a comment", false), []byte(aads[k]))
					if err != nil {
						t.Fatal(err)
					}
					vals[k].Str = s
					return
				}
			}
			// (no encrypted list under this selector)
		}},
		{"damaged late", func(t *testing.T, c *cipher.Cipher, docs []tree.Document) {
			vals, _ := encryptedValues(docs)
			v := vals[len(vals)-100]
			v.Str = strings.Replace(v.Str, "data:", "data:AA", 1)
		}},
	}
	for _, cfg := range configs {
		f, err := Encrypt([]tree.Document{richDocument(6000)}, EncryptOptions{
			Groups: [][]keys.Recipient{{fixedKey{"k1"}}},
			Rules:  cfg,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tm := range tampers {
			for _, strict := range []bool{false, true} {
				docs := tree.CloneDocuments(f.Docs)
				tm.do(t, f.cipher, docs)
				decrypt := func(remember bool) (*File, error) {
					g := &File{Docs: tree.CloneDocuments(docs), Meta: f.Meta}
					return g, g.decryptKey(f.dataKey, false, remember, strict)
				}
				seq, err1 := decrypt(true)
				par, err2 := decrypt(false)
				where := fmt.Sprintf("%+v, %s, strict=%v", cfg, tm.name, strict)
				if fmt.Sprint(err1) != fmt.Sprint(err2) {
					t.Errorf("%s: sequential: %v; parallel: %v", where, err1, err2)
				}
				// (After an error the tree is not used: each walk leaves
				// it part decrypted.)
				if err1 == nil && !tree.DocumentsEqual(seq.Docs, par.Docs) {
					t.Errorf("%s: the trees differ", where)
				}
				if fmt.Sprint(seq.Warnings) != fmt.Sprint(par.Warnings) {
					t.Errorf("%s: warnings differ:\n%v\n%v", where, seq.Warnings, par.Warnings)
				}
				if tm.name == "none" && err1 != nil {
					t.Errorf("%s: %v", where, err1)
				}
			}
		}
	}
}

// TestParallelDecryptWithoutWalk checks the decryption that needs no walk
// after the workers (every value the MAC covers decrypted, no comment):
// the same tree and MAC verdict as the one-value-at-a-time walk, when all
// values are encrypted, when the MAC covers only the encrypted ones, and
// (walking then) when it covers values left in clear; and that it is
// taken, and not taken, where it should be.
func TestParallelDecryptWithoutWalk(t *testing.T) {
	for _, tc := range []struct {
		rules    rules.Config
		complete bool
	}{
		{rules.Config{}, true},
		{rules.Config{EncryptedRegex: "^password$", MACOnlyEncrypted: true}, true},
		{rules.Config{EncryptedRegex: "^password$"}, false},
	} {
		plain := benchdata.Document(6000)
		f, err := Encrypt([]tree.Document{plain.Clone()}, EncryptOptions{
			Groups: [][]keys.Recipient{{fixedKey{"k1"}}},
			Rules:  tc.rules,
		})
		if err != nil {
			t.Fatal(err)
		}
		g := &File{Docs: tree.CloneDocuments(f.Docs), Meta: f.Meta}
		c, err := cipher.New(f.dataKey)
		if err != nil {
			t.Fatal(err)
		}
		c.RememberIVs(false) // as decryptKey sets it for a file only read
		if _, _, complete := g.decryptOnEveryCore(c); complete != tc.complete {
			t.Errorf("%+v: complete %v, want %v", tc.rules, complete, tc.complete)
		}
		for _, remember := range []bool{true, false} {
			g := &File{Docs: tree.CloneDocuments(f.Docs), Meta: f.Meta}
			if err := g.decryptKey(f.dataKey, false, remember, true); err != nil {
				t.Fatalf("%+v, remember=%v: %v", tc.rules, remember, err)
			}
			if !tree.DocumentsEqual(g.Docs, []tree.Document{plain}) {
				t.Fatalf("%+v, remember=%v: the tree differs", tc.rules, remember)
			}
		}
		// A value changed to another one encrypted under its own path
		// decrypts, but must not give the file's MAC.
		g = &File{Docs: tree.CloneDocuments(f.Docs), Meta: f.Meta}
		vals, aads := encryptedValues(g.Docs)
		other, err := f.cipher.EncryptValue(tree.Str("not the value"), []byte(aads[len(vals)/2]))
		if err != nil {
			t.Fatal(err)
		}
		vals[len(vals)/2].Str = other
		if err := g.decryptKey(f.dataKey, false, false, false); err == nil || !strings.Contains(err.Error(), "MAC mismatch") {
			t.Errorf("%+v: a changed value gave %v, want a MAC mismatch", tc.rules, err)
		}
	}
}
