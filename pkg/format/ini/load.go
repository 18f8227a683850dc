package ini

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"

	"gopkg.in/ini.v1"
)

// LoadPlain parses an INI file into one document: one map entry per
// section, in file order, "DEFAULT" first.
//
// Comments follow SOPS: the comment lines above a section header (and one
// after it on the same line) become a comment item at the start of the
// section's map; the comment lines above a key (and one after its value)
// become a comment item after the key. Their text loses its leading run of
// ';' and spaces, or of '#' and spaces.
func (Store) LoadPlain(data []byte) ([]tree.Document, error) {
	f, err := ini.LoadSources(options(), data)
	if err != nil {
		return nil, parseError(data, err)
	}
	sections := f.Sections()
	doc := make(tree.Document, 0, len(sections))
	for _, sec := range sections {
		doc = append(doc, tree.KeyItem(sec.Name(), tree.MapV(sectionItems(sec))))
	}
	return []tree.Document{doc}, nil
}

func sectionItems(sec *ini.Section) []tree.Item {
	keys := sec.Keys()
	items := make([]tree.Item, 0, len(keys)+1)
	if sec.Comment != "" {
		items = append(items, tree.CommentItem(commentText(sec.Comment), false))
	}
	for _, k := range keys {
		items = append(items, tree.KeyItem(k.Name(), tree.Str(k.Value())))
		if k.Comment != "" {
			items = append(items, tree.CommentItem(commentText(k.Comment), false))
		}
	}
	return items
}

// commentText strips the comment characters the way SOPS does: a leading
// run of ';' and ' ' when the comment starts with ';', or of '#' and ' '
// when it starts with '#'. Only the start of the whole comment is
// stripped: later lines of a multi-line comment keep their own ';' or '#',
// and the library writes them back as they are.
func commentText(c string) string {
	switch c[0] {
	case ';':
		return strings.TrimLeft(c, "; ")
	case '#':
		return strings.TrimLeft(c, "# ")
	}
	return c
}

// LoadEncrypted parses an encrypted INI file and takes the "[sops]"
// section out as the metadata. Its values had every newline written as the
// two characters \n, which are turned back here. Files from SOPS 3.13.0
// and 3.13.1 wrote real newlines inside """ quotes instead; the library
// reads those as they are, so both forms load.
func (s Store) LoadEncrypted(data []byte) ([]tree.Document, []tree.Item, error) {
	docs, err := s.LoadPlain(data)
	if err != nil {
		return nil, nil, err
	}
	doc := docs[0]
	kept := doc[:0]
	var flat []tree.Item
	found := false
	for _, it := range doc {
		if it.Key.Kind != tree.String || it.Key.Str != metaSection {
			kept = append(kept, it)
			continue
		}
		if found {
			return nil, nil, errors.New("found more than one [sops] section")
		}
		found = true
		flat = it.Value.Items()
	}
	if !found {
		return nil, nil, format.ErrNoMetadata
	}
	for i, it := range flat {
		if it.Value.Kind == tree.String {
			flat[i].Value.Str = strings.ReplaceAll(it.Value.Str, `\n`, "\n")
		}
	}
	meta, err := format.Unflatten(flat)
	if err != nil {
		return nil, nil, err
	}
	docs[0] = kept
	return docs, meta, nil
}

// parseError rewords the library's parse errors. Several of them quote the
// offending line, which can hold a value and so a secret; we name the line
// by its number instead.
func parseError(data []byte, err error) error {
	var problem, line string
	suffix := false // line is only the end of the line we look for
	var delim ini.ErrDelimiterNotFound
	var emptyKey ini.ErrEmptyKeyName
	msg := err.Error()
	switch {
	case errors.As(err, &delim):
		problem, line = "key-value delimiter not found", delim.Line
	case errors.As(err, &emptyKey):
		problem, line = "empty key name", emptyKey.Line
	case strings.HasPrefix(msg, "unclosed section: "):
		problem, line = "unclosed section header", strings.TrimPrefix(msg, "unclosed section: ")
	case strings.HasPrefix(msg, "missing closing key quote from "):
		// A """ value that never ends: the message quotes its first line.
		problem = `missing closing """ of a multi-line value`
		var first, last string
		if _, err := fmt.Sscanf(msg, "missing closing key quote from %q to %q", &first, &last); err == nil {
			line, suffix = first, true
		}
	case strings.HasPrefix(msg, "missing closing key quote: "):
		problem, line = "missing closing quote of a key name", strings.TrimPrefix(msg, "missing closing key quote: ")
	case msg == "empty section name", strings.HasSuffix(msg, "empty key name"):
		problem = msg
	default:
		problem = "malformed INI input"
	}
	if n := lineNumber(data, line, suffix); n > 0 {
		return fmt.Errorf("could not parse INI input: line %d: %s", n, problem)
	}
	return fmt.Errorf("could not parse INI input: %s", problem)
}

// lineNumber finds the first line of data that reads as text (or, with
// suffix, ends with it) once both are trimmed of surrounding white space,
// or returns 0. The library stops at the first bad line, so the first
// match is nearly always the one it meant; a line inside an earlier
// multi-line value could fool us, at the price of a wrong number in a
// message.
func lineNumber(data []byte, text string, suffix bool) int {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0
	}
	s := strings.TrimPrefix(string(data), "\uFEFF")
	for n := 1; ; n++ {
		line, rest, more := strings.Cut(s, "\n")
		if l := strings.TrimSpace(line); l == text || suffix && strings.HasSuffix(l, text) {
			return n
		}
		if !more {
			return 0
		}
		s = rest
	}
}
