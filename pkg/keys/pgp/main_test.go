package pgp

import (
	"os"
	"testing"
)

// TestMain removes the temporary GnuPG homes, and stops their agents,
// once every test is done.
func TestMain(m *testing.M) {
	code := m.Run()
	removeHomes()
	os.Exit(code)
}
