//go:build !unix

package kurakms

import (
	"io/fs"
	"net"
)

// listenPrivate creates the socket; listenUnix then sets its mode.
func listenPrivate(path string) (net.Listener, error) { return net.Listen("unix", path) }

func ownedByMe(fs.FileInfo) bool { return true }
