package ini

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"

	"gopkg.in/ini.v1"
)

// EmitPlain writes every document's sections in order; all must be maps.
//
// The library decides the layout: "DEFAULT" keys first without a header
// (nothing at all when it is empty), every other section under its
// "[name]" header, a blank line between sections, "=" aligned within each.
// Comments go where SOPS puts them: a comment item at the start of a
// section is written above its header, and a later one above the key
// before it. A key has room for one comment, so of several comment items
// after the same key only the last is kept, and comment items before the
// first key of a section (other than the first item) are lost.
func (Store) EmitPlain(docs []tree.Document) ([]byte, error) {
	f := ini.Empty(options())
	f.DeleteSection(ini.DefaultSection)
	for _, doc := range docs {
		for _, it := range doc {
			if it.IsComment() {
				continue
			}
			if err := addSection(f, it); err != nil {
				return nil, err
			}
		}
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("writing INI: %w", err)
	}
	return buf.Bytes(), nil
}

func addSection(f *ini.File, it tree.Item) error {
	name, err := keyName(it.Key)
	if err != nil {
		return err
	}
	sec, err := f.NewSection(name)
	if err != nil {
		return fmt.Errorf("error encoding section %q: %w", name, err)
	}
	if it.Value.Kind != tree.Map {
		return fmt.Errorf("error encoding section %q: Section values should always be TreeBranches", name)
	}
	items := it.Value.Items()
	if len(items) > 0 && items[0].IsComment() {
		sec.Comment = writableComment(items[0].Key.Str)
		items = items[1:]
	}
	var last *ini.Key
	for _, kv := range items {
		if kv.IsComment() {
			if last != nil {
				last.Comment = writableComment(kv.Key.Str)
			}
			continue
		}
		kname, err := keyName(kv.Key)
		if err != nil {
			return err
		}
		last, err = sec.NewKey(kname, valueText(kv.Value))
		if err != nil {
			return fmt.Errorf("error encoding key %q in section %q: %w", kname, name, err)
		}
	}
	return nil
}

func keyName(k tree.Value) (string, error) {
	if k.Kind != tree.String {
		return "", fmt.Errorf("cannot write a %s key as INI", k.Kind)
	}
	return k.Str, nil
}

// writableComment returns the comment text the library is given. The
// library reads the first byte of every line of a comment and panics on an
// empty line, which SOPS 3.13.2 does when it decrypts an INI file whose
// comment starts with a bare ";" line. We write such a line as ";" instead
// (the library prints it as "; "), which reads back as the same comment.
func writableComment(c string) string {
	if c == "" || !(strings.HasPrefix(c, ini.LineBreak) || strings.HasSuffix(c, ini.LineBreak) ||
		strings.Contains(c, ini.LineBreak+ini.LineBreak)) {
		return c
	}
	lines := strings.Split(c, ini.LineBreak)
	for i, l := range lines {
		if l == "" {
			lines[i] = ";"
		}
	}
	return strings.Join(lines, ini.LineBreak)
}

// EmitEncrypted writes the documents with the flattened metadata as a
// final "[sops]" section in each, as SOPS does. Newlines in metadata
// values (the armored age and PGP keys) are written as the two characters
// \n so that they stay on one line.
func (s Store) EmitEncrypted(docs []tree.Document, meta []tree.Item) ([]byte, error) {
	for _, doc := range docs {
		if format.HasTopLevelKey(doc, metaSection) {
			return nil, fmt.Errorf("found a section %q in the data, which is reserved for the sops metadata", metaSection)
		}
	}
	flat, err := format.Flatten(meta, "")
	if err != nil {
		return nil, err
	}
	for i, it := range flat {
		if it.Value.Kind == tree.String {
			flat[i].Value.Str = strings.ReplaceAll(it.Value.Str, "\n", `\n`)
		}
	}
	if len(docs) == 0 {
		// Write the metadata even for no data at all, so the file can be
		// read back.
		docs = []tree.Document{nil}
	}
	section := tree.KeyItem(metaSection, tree.MapV(flat))
	out := make([]tree.Document, len(docs))
	for i, doc := range docs {
		d := make(tree.Document, 0, len(doc)+1)
		d = append(d, doc...)
		out[i] = append(d, section)
	}
	return s.EmitPlain(out)
}
