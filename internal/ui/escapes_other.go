//go:build !windows

package ui

import "os"

// enableEscapes reports whether the terminal f handles escape
// sequences: every terminal does outside Windows.
func enableEscapes(*os.File) bool { return true }
