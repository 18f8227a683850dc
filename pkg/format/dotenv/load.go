package dotenv

import (
	"fmt"
	"strings"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// LoadPlain parses a dotenv file into one document whose values are all
// strings. A line that is neither empty, a comment nor a key=value pair is
// an error naming the line by number only: the line may hold a secret.
func (Store) LoadPlain(data []byte) ([]tree.Document, error) {
	// One conversion for the whole file: keys and values are then slices
	// of it rather than one allocation each.
	s := string(data)
	doc := make(tree.Document, 0, strings.Count(s, "\n")+1)
	for n := 1; len(s) > 0; n++ {
		line, rest, _ := strings.Cut(s, "\n")
		s = rest
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			doc = append(doc, tree.CommentItem(line[1:], false))
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: invalid dotenv input line: no \"=\" found", n)
		}
		doc = append(doc, tree.KeyItem(key, tree.Str(strings.ReplaceAll(value, `\n`, "\n"))))
	}
	return []tree.Document{doc}, nil
}

// LoadEncrypted parses an encrypted dotenv file: the "sops_" entries,
// wherever they are, make up the metadata, and the rest is the data.
func (s Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, err := s.LoadPlain(data)
	if err != nil {
		return nil, nil, err
	}
	doc := docs[0]
	kept := doc[:0]
	var flat []tree.Item
	for _, it := range doc {
		if isMetaKey(it.Key) {
			flat = append(flat, tree.KeyItem(it.Key.Str[len(metaPrefix):], it.Value))
			continue
		}
		kept = append(kept, it)
	}
	if len(flat) == 0 {
		return nil, nil, format.ErrNoMetadata
	}
	meta, err := format.Unflatten(flat)
	if err != nil {
		return nil, nil, err
	}
	docs[0] = kept
	return docs, meta, nil
}
