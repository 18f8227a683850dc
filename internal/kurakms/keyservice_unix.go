//go:build unix

package kurakms

import (
	"io/fs"
	"net"
	"os"
	"sync"
	"syscall"
)

var umaskMu sync.Mutex

// listenPrivate creates the socket with mode 0600 from the start: the
// umask is narrowed while it is made, so that there is no moment when
// others may connect.
func listenPrivate(path string) (net.Listener, error) {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := syscall.Umask(0o177)
	defer syscall.Umask(old)
	return net.Listen("unix", path)
}

func ownedByMe(st fs.FileInfo) bool {
	s, ok := st.Sys().(*syscall.Stat_t)
	return ok && int(s.Uid) == os.Getuid()
}
