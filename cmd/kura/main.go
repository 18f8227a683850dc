// kura runs for milliseconds, thousands of times in CI: the runtime's
// background goroutine that follows later changes of the container's CPU
// limit (GOMAXPROCS is still set from the limit at start) costs every
// start about half a millisecond and is never useful here.
//
//go:debug updatemaxprocs=0

// Command kura encrypts the values of YAML, JSON, dotenv, INI, TOML and binary
// files in the SOPS v3 format. It reads and writes what sops reads and
// writes, and accepts sops's command line.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kura-secrets/kura/internal/ui"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// gcPercent is the garbage collector's target for kura's runs. A run lives
// for one command, and most of its heap is the file's tree, which stays
// live to the end: collecting at the default 100 % growth marks that tree
// again and again for little garbage. At 200, the 10,000-value rows of
// make bench run 5 to 10 % faster and encrypting 100,000 YAML values 5 %
// faster for 10 % more peak memory; decrypting 100,000 values keeps its
// peak. A GOGC in the environment is obeyed instead.
const gcPercent = 200

// setGCPercent sets gcPercent unless the environment sets GOGC.
func setGCPercent(lookupEnv func(string) (string, bool)) {
	if _, set := lookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

func main() {
	setGCPercent(os.LookupEnv)
	args := os.Args[1:]
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == krmProgram {
		args = append([]string{"krm"}, args...)
	}
	os.Exit(run(args, os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	// Input files may be mapped into memory (mapfile): a read past the
	// end of one truncated meanwhile panics instead of crashing.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	defer func() {
		if r := recover(); r != nil {
			if isFault(r) {
				a.mu.Lock()
				code = reportFault(stderr, a.mapped)
				a.mu.Unlock()
				return
			}
			code = reportPanic(stderr, r)
		}
	}()
	root := a.rootCommandFor(args)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if a.companion != nil {
		if cerr := a.companion.Close(); cerr != nil && err == nil {
			a.warnf("the key-source companion did not stop cleanly: %v", cerr)
		}
	}
	return a.report(err)
}

// app holds what every command shares: the standard streams, the
// environment, and the global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	global globalFlags
	// companion runs the cloud key sources, started on first use.
	companion *companion.Source
	cloudOnce sync.Once

	mu             sync.Mutex // guards what commands over many files share
	recipientCache map[string]keys.Recipient
	unwrap         map[keys.Type]keys.Unwrapper
	stop           chan struct{} // closed on an interrupt during a run over many files
	auditing       auditState
	// mapped names the input files read through a mapping (mapfile), to
	// blame if reading one faults; guarded by mu.
	mapped []string

	// uiOnce decides, once the flags are parsed, how the output may be
	// dressed (ui.go).
	uiOnce      sync.Once
	stdoutStyle ui.Output
	stderrStyle ui.Output
	// bar is the progress bar of a run over many files, while one shows.
	bar atomic.Pointer[ui.Progress]
}

// usageError is a mistake on the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

// fileError attaches the file a failure concerns.
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string { return e.file + ": " + e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func inFile(file string, err error) error {
	if err == nil {
		return nil
	}
	// An error that already names a file (such as the --reuse file of an
	// encryption) names the one that went wrong.
	var fe *fileError
	if errors.As(err, &fe) {
		return err
	}
	if file == "" {
		file = "(stdin)"
	}
	return &fileError{file: file, err: err}
}

// report prints err in the house style and returns its exit code:
//
//	kura: error: FILE: ["key"]["path"]: what went wrong
//	kura: hint: what to do about it
func (a *app) report(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.silent {
		return ee.code
	}
	var fe *fileError
	file := ""
	if errors.As(err, &fe) {
		file = fe.file
	}
	a.printError(err, "", hintFor(err, file))
	var ue usageError
	if errors.As(err, &ue) {
		a.printHint("run `kura --help` for usage")
	}
	code := int(sopsfile.CodeOf(err))
	if errors.As(err, &ee) {
		code = ee.code
	}
	return code
}

// exitError ends the process with a code, printing nothing more when
// silent (the command already said what happened).
type exitError struct {
	code   int
	silent bool
}

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func (a *app) warnf(format string, args ...any) {
	a.bar.Load().Above(func() {
		fmt.Fprintf(a.stderr, a.errUI().Prefix("warning")+format+"\n", args...)
	})
}
