//go:build !unix

package mapfile

import "os"

// Read returns the contents of the file at path (os.ReadFile: files are
// mapped on Unix systems only, so isMapped is false).
func Read(path string) (data []byte, isMapped bool, err error) {
	data, err = os.ReadFile(path)
	return data, false, err
}
