// Package ini reads and writes INI files exactly as SOPS 3.13.2 does.
//
// SOPS parses and writes INI with gopkg.in/ini.v1, and the library's
// choices are part of the file format: quotes around values are stripped,
// "=" signs are padded into alignment, comments are written with "; ", and
// a value with a newline is wrapped in """. We use the same library with
// the same options so that the output matches byte for byte, and keep our
// own code to the mapping between its sections and our tree.
//
// The tree has two levels. Each section is a top-level map entry holding
// the section's keys as strings; keys before the first header belong to
// the section "DEFAULT", which is always the first entry (empty when there
// are none) and whose name is part of the additional data of its values.
// The SOPS metadata is a final section "[sops]" (see format.Flatten).
package ini

import (
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"

	"gopkg.in/ini.v1"
)

// Store is the INI format. Its zero value is ready to use.
type Store struct{}

var _ format.Store = Store{}

// metaSection names the section that holds the metadata.
const metaSection = format.MetadataKey

// options are the library options SOPS uses for reading and writing. A
// repeated section header starts a new section rather than continuing the
// earlier one, so that the tree keeps the file's order.
func options() ini.LoadOptions {
	return ini.LoadOptions{AllowNonUniqueSections: true}
}

// HasMetadataKey reports whether the file has a section named "sops",
// which is how SOPS decides that an INI file is already encrypted.
func (Store) HasMetadataKey(doc tree.Document) bool {
	return format.HasTopLevelKey(doc, metaSection)
}
