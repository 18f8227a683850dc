//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"

	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// Windows has no FIFOs in the file system: exec-file writes a regular
// file in the private directory.
const haveFIFO = false

var forwardedSignals = []os.Signal{os.Interrupt}

type fifoFeed struct{}

func newFIFOFeed(string, []byte) (*fifoFeed, error) { return nil, errors.New("no FIFOs here") }
func (*fifoFeed) stop()                             {}

func asUser(_ *exec.Cmd, name string) error {
	if name != "" {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: errors.New("--user is not supported on this system")}
	}
	return nil
}

// replaceProcess runs the command and exits with its status: Windows
// cannot replace a process.
func replaceProcess(path string, argv, env []string, userName string) error {
	if userName != "" {
		return asUser(nil, userName)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &exitError{code: ee.ExitCode(), silent: true}
	}
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}
	}
	return &exitError{code: 0, silent: true}
}
