// Package keyperm warns when a file holding private keys (an age identity
// file, an SSH private key, a PGP secret key file) can be read by users
// other than its owner, as ssh does for its keys. The warning does not
// stop the run: the key is used all the same.
package keyperm

import (
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
)

// warned holds the files already warned about in this process, by
// absolute path: one warning per file per run.
var warned sync.Map

// Check writes one line to w if st, the file at path, is a regular file
// that its group or other users may read:
//
//	kura: warning: KEYFILE is readable by others (mode 0644); run chmod 600 KEYFILE
//
// It says so once per file per process, and never on systems without
// Unix permission bits. A nil w or st does nothing.
func Check(path string, st fs.FileInfo, w io.Writer) {
	if !unixModes || w == nil || st == nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o044 == 0 {
		return
	}
	key := path
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
	}
	if _, dup := warned.LoadOrStore(key, true); dup {
		return
	}
	fmt.Fprintf(w, "kura: warning: %s is readable by others (mode %04o); run chmod 600 %s\n", path, st.Mode().Perm(), shellQuote(path))
}

// shellQuote quotes a path for the chmod suggestion when a shell would
// split or expand it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+@:,=%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
