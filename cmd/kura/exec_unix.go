//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"

	"github.com/kura-secrets/kura/pkg/sopsfile"
)

const haveFIFO = true

// forwardedSignals are passed from kura to the command of exec-file.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// credential looks up a user for --user.
func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--user: %v", err)}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--user: %s has no numeric uid and gid", name)}
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, g := range ids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				c.Groups = append(c.Groups, uint32(n))
			}
		}
	}
	return c, nil
}

// asUser makes a command run as another user.
func asUser(cmd *exec.Cmd, name string) error {
	if name == "" {
		return nil
	}
	c, err := credential(name)
	if err != nil {
		return err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c}
	return nil
}

// replaceProcess replaces kura with the command, as another user if
// asked.
func replaceProcess(path string, argv, env []string, userName string) error {
	if userName != "" {
		c, err := credential(userName)
		if err != nil {
			return err
		}
		if err := syscall.Setgroups(intIDs(c.Groups)); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--user %s: %v (kura must run as root)", userName, err)}
		}
		if err := syscall.Setgid(int(c.Gid)); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--user %s: %v (kura must run as root)", userName, err)}
		}
		if err := syscall.Setuid(int(c.Uid)); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("--user %s: %v (kura must run as root)", userName, err)}
		}
	}
	err := syscall.Exec(path, argv, env)
	return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("running %s: %v", argv[0], err)}
}

func intIDs(ids []uint32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// fifoFeed writes plaintext into a named pipe once: a FIFO passes its
// data to its first reader. The plaintext is cleared once written (or
// once the writer gives up).
type fifoFeed struct {
	path string
	// opened is closed once the writer's open has returned, done once
	// the writer is finished.
	opened, done chan struct{}
}

func newFIFOFeed(path string, data []byte) (*fifoFeed, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("making the FIFO: %v", err)
	}
	f := &fifoFeed{path: path, opened: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		defer clear(data)
		// Opening for writing waits for a reader.
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		close(f.opened)
		if err != nil {
			return
		}
		w.Write(data)
		w.Close()
	}()
	return f, nil
}

// stop ends the writer when the command never read the FIFO. A read end
// held open lets the writer's open return, whether the writer is already
// waiting in it or has not got there yet; closing it once that open has
// returned makes a write that filled the pipe fail, and throws away what
// the pipe holds. (Closing it at once, as this did before, left a writer
// that reached its open afterwards waiting for a reader for ever.)
func (f *fifoFeed) stop() {
	select {
	case <-f.done:
		return
	default:
	}
	r, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		<-f.opened
		r.Close()
	}
	<-f.done
}
