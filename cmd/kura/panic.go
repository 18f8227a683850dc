package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
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
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		// A memory fault: most likely an input file that another
		// process truncated while kura read it through a mapping.
		fmt.Fprintln(stderr, "kura: error: an input file changed while kura was reading it (a read past its new end faulted); nothing was written")
		fmt.Fprintln(stderr, "kura: hint: run the command again once the file is no longer being written")
		return int(sopsfile.CodeCouldNotReadInput)
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

// stackArgs matches the argument list at the end of a function line of a
// goroutine's stack, such as "main.(*app).run(0xc000010000, {0x1, 0x2})".
// It is compiled on first use: a package-level regexp costs every start.
var stackArgs = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^([^\t\n].*)\([^()\n]*\)$`)
})

func stripStackArgs(stack []byte) []byte {
	return stackArgs().ReplaceAll(stack, []byte("${1}(...)"))
}
