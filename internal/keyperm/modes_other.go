//go:build !unix

package keyperm

// Elsewhere the permission bits Go reports say nothing about who may read
// a file.
const unixModes = false
