//go:build unix

package keyperm

const unixModes = true
