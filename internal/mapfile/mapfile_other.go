//go:build !unix

package mapfile

import "os"

// Read returns the contents of the file at path (os.ReadFile: files are
// mapped on Unix systems only).
func Read(path string) ([]byte, error) { return os.ReadFile(path) }
