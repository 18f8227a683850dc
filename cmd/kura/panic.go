package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// reportPanic prints a crash of the command's goroutine and returns the
// exit code Go gives an unrecovered panic (2). It never prints the panic
// value, which might be built from a secret, only its type (or a runtime
// error's own text, which holds numbers and type names), and it prints
// the stack without the argument words Go's traceback would show, which
// can hold key bytes passed by value.
func reportPanic(stderr io.Writer, r any) int {
	if isFault(r) {
		return reportFault(stderr, nil)
	}
	what := fmt.Sprintf("panic with a value of type %T", r)
	if re, ok := r.(runtime.Error); ok {
		what = re.Error()
	}
	fmt.Fprintf(stderr, "kura: error: internal error (a bug in kura): %s\n", what)
	fmt.Fprintf(stderr, "kura: hint: please report it with the stack below, which holds no values\n")
	stderr.Write(stripStackArgs(debug.Stack()))
	return 2
}

// isFault reports whether a recovered value is a memory fault turned into
// a panic (debug.SetPanicOnFault): most likely an input file that another
// process truncated while kura read it through a mapping (mapfile).
func isFault(r any) bool {
	_, ok := r.(interface{ Addr() uintptr })
	return ok
}

// reportFault prints a memory fault as the input that changed, naming the
// mapped input files when kura knows them, and returns the exit code of
// an input that could not be read.
func reportFault(stderr io.Writer, mapped []string) int {
	switch len(mapped) {
	case 0:
		fmt.Fprintln(stderr, "kura: error: an input file changed while kura was reading it (a read past its new end faulted); nothing was written")
	case 1:
		fmt.Fprintf(stderr, "kura: error: %s: the file changed while kura was reading it (a read past its new end faulted); nothing was written\n", mapped[0])
	default:
		fmt.Fprintf(stderr, "kura: error: one of %s changed while kura was reading it (a read past its new end faulted); nothing was written\n", strings.Join(mapped, ", "))
	}
	fmt.Fprintln(stderr, "kura: hint: run the command again once the file is no longer being written")
	return int(sopsfile.CodeCouldNotReadInput)
}

// stackArgs matches the argument list at the end of a function line of a
// goroutine's stack, such as "main.(*app).run(0xc000010000, {0x1, 0x2})".
// It is compiled on first use: a package-level regexp costs every start.
var stackArgs = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^([^\t\n].*)\([^()\n]*\)$`)
})

func stripStackArgs(stack []byte) []byte {
	return stackArgs().ReplaceAll(stack, []byte("${1}(...)"))
}
