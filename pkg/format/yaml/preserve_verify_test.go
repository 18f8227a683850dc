package yaml

import (
	"testing"

	"github.com/kura-secrets/kura/internal/benchdata"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestQuickVerifyMatchesText checks the quick check of encrypted output
// against the full one on every YAML file of the corpora and on the
// benchmark document, with each placement of the metadata: where the
// quick check decides, the full check must agree, and it must decide for
// the files in the fast loader's subset. Outputs with a comment taken out of the tree, or an edit
// moved by a byte, must be refused by both.
func TestQuickVerifyMatchesText(t *testing.T) {
	names, texts := yamlInputs(t)
	text, err := Store{}.EmitPlain([]tree.Document{benchdata.Document(2000)})
	if err != nil {
		t.Fatal(err)
	}
	names, texts = append(names, "benchdata"), append(texts, text)
	var total, decided int
	for i, text := range texts {
		docs, err := Store{}.LoadPlain(text)
		if err != nil || len(docs) == 0 || hasNonStringKey(docs) {
			continue
		}
		enc := fakeEncrypt(docs)
		p, err := prepare(text, enc)
		if err != nil {
			continue
		}
		block, err := metadataBlock(fakeMeta, p.width)
		if err != nil {
			t.Fatal(err)
		}
		total++
		fileDecided := false
		for _, place := range []placement{atEnd, beforeTrailing, afterBlank} {
			places := make([]placement, len(p.docs))
			for k := range places {
				places[k] = place
			}
			out, edits, err := p.buildEdits(block, places, keepAll)
			if err != nil {
				continue
			}
			full := verifyEncryptedText(out, enc, fakeMeta)
			ok, quick := p.quickVerifyEncrypted(out, edits, enc, fakeMeta)
			if ok {
				fileDecided = true
				if (quick == nil) != (full == nil) {
					t.Errorf("%s (placement %d): quick check %v, full check %v", names[i], place, quick, full)
				}
			}
			// A comment the tree does not hold must never pass.
			if len(p.l.comments) > 0 && quick == nil && ok {
				fewer := tree.CloneDocuments(enc)
				if dropFirstComment(fewer) {
					if ok2, err2 := p.quickVerifyEncrypted(out, edits, fewer, fakeMeta); ok2 && err2 == nil {
						t.Errorf("%s: the quick check passed a text with a comment the tree lacks", names[i])
					}
				}
			}
			// Edits that do not say where the text moved must not pass.
			if len(edits) > 0 && len(p.l.comments) > 0 && ok && quick == nil {
				shifted := append([]edit(nil), edits...)
				shifted[0].text += " "
				if ok2, err2 := p.quickVerifyEncrypted(out, shifted, enc, fakeMeta); ok2 && err2 == nil && edits[0].from < p.l.comments[len(p.l.comments)-1].hash {
					t.Errorf("%s: the quick check passed with edits that do not match the text", names[i])
				}
			}
		}
		if fileDecided {
			decided++
		} else if names[i] == "benchdata" {
			t.Error("the quick check did not decide the benchmark document")
		}
	}
	t.Logf("the quick check decided %d of %d files", decided, total)
	// The others are left to the full check by the fast loader: flow
	// collections, anchors, a "sops" key in the data and the like.
	if total < 100 || decided < 50 {
		t.Errorf("the quick check decided only %d of %d files", decided, total)
	}
}

// dropFirstComment removes the first comment item of the documents.
func dropFirstComment(docs []tree.Document) bool {
	for d := range docs {
		if dropComment(&docs[d]) {
			return true
		}
	}
	return false
}

func dropComment(items *tree.Document) bool {
	for i, it := range *items {
		if it.IsComment() {
			*items = append((*items)[:i:i], (*items)[i+1:]...)
			return true
		}
		if it.Value.Kind == tree.Map {
			sub := tree.Document(it.Value.Items())
			if dropComment(&sub) {
				(*items)[i].Value.SetItems(sub)
				return true
			}
		}
	}
	return false
}
