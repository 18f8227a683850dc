// Package dotenv reads and writes dotenv files exactly as SOPS 3.13.2 does.
//
// SOPS's dotenv is not the shell-like format other tools accept: a line is
// a comment when its first byte is '#', and otherwise everything before the
// first '=' is the key and everything after it the value. There is no
// quoting, trimming or "export" handling, and the only escape is the two
// characters \n for a newline. Blank lines are dropped and a CR before the
// LF stays part of the value. Matching this byte for byte is what lets kura
// and SOPS read each other's files; being more helpful would change the
// keys and values, and with them the additional data of every encrypted
// value.
//
// kura reads one thing more than SOPS: a quoted value that does not close
// its quote on its line goes on over the following lines to the closing
// quote, as dotenv files commonly hold certificates. (SOPS refuses such a
// file, so every file it reads is read the same.) The value is kept as
// written, quotes and line breaks included; Unquote and Name say what a
// value and a key mean to the programs that read dotenv files.
//
// The SOPS metadata lives in the same file as "sops_"-prefixed entries
// after the data (see format.Flatten).
package dotenv

import (
	"strings"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// Store is the dotenv format. Its zero value is ready to use.
type Store struct{}

var _ format.Store = Store{}

// metaPrefix starts the name of every metadata entry. SOPS refuses to
// encrypt data that already has such a key, and so do we.
const metaPrefix = "sops_"

// HasMetadataKey reports whether any key starts with "sops_", which is how
// SOPS decides that a dotenv file is already encrypted.
func (Store) HasMetadataKey(doc tree.Document) bool {
	for _, it := range doc {
		if isMetaKey(it.Key) {
			return true
		}
	}
	return false
}

func isMetaKey(k tree.Value) bool {
	return k.Kind == tree.String && strings.HasPrefix(k.Str, metaPrefix)
}
