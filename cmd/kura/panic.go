package main

import (
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"sync"
)

// reportPanic prints a crash of the command's goroutine and returns the
// exit code Go gives an unrecovered panic (2). It never prints the panic
// value, which might be built from a secret, only its type (or a runtime
// error's own text, which holds numbers and type names), and it prints
// the stack without the argument words Go's traceback would show, which
// can hold key bytes passed by value.
func reportPanic(stderr io.Writer, r any) int {
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
