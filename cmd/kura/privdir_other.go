//go:build !unix

package main

const privateDirPrefix = "kura-edit-"

// Without flock a directory left by a killed kura cannot be told from
// one in use: nothing is locked and nothing is removed.
func holdPrivateDir(string) error { return nil }

func removeStaleDirs(string) []string { return nil }
