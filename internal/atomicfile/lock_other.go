//go:build !unix

package atomicfile

import "os"

// Without flock there is no telling a killed write's temporary file from
// a running one's: they are left alone.
const canLock = false

func lock(*os.File) {}

func removeIfUnlocked(string) {}
