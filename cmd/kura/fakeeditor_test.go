package main

import (
	"fmt"
	"os"
	"regexp"
	"syscall"
	"time"
)

// fakeEditor is the editor of the edit scripts: kura runs it as
// `fakeeditor MODE ARGS... FILE`, as it runs a real editor with the file
// appended. Modes:
//
//	replace RE REPL    replace what RE matches in FILE with REPL
//	write TEXTFILE     replace FILE's content with TEXTFILE's
//	fail               exit 3 without touching FILE
//	kill               kill itself with SIGKILL
//	invalid-once STATE RE REPL
//	                   the first time (STATE missing): write text that does
//	                   not parse, and create STATE; the next time: replace
//	                   RE with REPL in the original text, kept in STATE
//	record OUT         write FILE's path and its directory's mode to OUT
//	copy OUT           copy FILE, as kura showed it, to OUT
//	sleep SECONDS      say "fakeeditor: sleeping" on standard output and
//	                   wait, so that a test can signal kura meanwhile
//
// Every mode also records the path it was given in $FAKEEDITOR_LOG (when
// set), so a script can check the temporary file is gone afterwards.
func fakeEditor() int {
	args := os.Args[1:]
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "fakeeditor: usage: fakeeditor MODE ARGS... FILE")
		return 2
	}
	file := args[len(args)-1]
	mode, params := args[0], args[1:len(args)-1]
	if log := os.Getenv("FAKEEDITOR_LOG"); log != "" {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintln(f, file)
			f.Close()
		}
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fakeeditor:", err)
		return 2
	}
	switch mode {
	case "replace":
		if len(params) != 2 {
			return fail(fmt.Errorf("replace RE REPL"))
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fail(err)
		}
		re, err := regexp.Compile(params[0])
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(file, re.ReplaceAll(b, []byte(params[1])), 0o600); err != nil {
			return fail(err)
		}
	case "write":
		b, err := os.ReadFile(params[0])
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			return fail(err)
		}
	case "fail":
		return 3
	case "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Second)
	case "invalid-once":
		if len(params) != 3 {
			return fail(fmt.Errorf("invalid-once STATE RE REPL"))
		}
		state := params[0]
		if _, err := os.Stat(state); os.IsNotExist(err) {
			orig, err := os.ReadFile(file)
			if err != nil {
				return fail(err)
			}
			if err := os.WriteFile(state, orig, 0o600); err != nil {
				return fail(err)
			}
			return boolCode(os.WriteFile(file, []byte("broken: [unclosed\n  - {\n"), 0o600) != nil)
		}
		orig, err := os.ReadFile(state)
		if err != nil {
			return fail(err)
		}
		re, err := regexp.Compile(params[1])
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(file, re.ReplaceAll(orig, []byte(params[2])), 0o600); err != nil {
			return fail(err)
		}
	case "record":
		st, err := os.Stat(file)
		if err != nil {
			return fail(err)
		}
		dir, err := os.Stat(dirOf(file))
		if err != nil {
			return fail(err)
		}
		out := fmt.Sprintf("file %s\nfilemode %o\ndirmode %o\n", file, st.Mode().Perm(), dir.Mode().Perm())
		if err := os.WriteFile(params[0], []byte(out), 0o600); err != nil {
			return fail(err)
		}
	case "copy":
		b, err := os.ReadFile(file)
		if err != nil {
			return fail(err)
		}
		if err := os.WriteFile(params[0], b, 0o600); err != nil {
			return fail(err)
		}
	case "sleep":
		var s float64
		fmt.Sscan(params[0], &s)
		fmt.Println("fakeeditor: sleeping")
		time.Sleep(time.Duration(s * float64(time.Second)))
	default:
		return fail(fmt.Errorf("unknown mode %q", mode))
	}
	return 0
}

func boolCode(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}
