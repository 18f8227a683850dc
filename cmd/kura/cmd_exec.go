package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// execFlags are the flags of exec-env and exec-file.
type execFlags struct {
	pristine   bool
	user       string
	noFIFO     bool
	filename   string
	inputType  string
	outputType string
	order      string
	ignoreMAC  bool
}

func (f *execFlags) registerCommon(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.user, "user", "", "run the command as this user (kura must run as root)")
	fs.StringVar(&f.inputType, "input-type", "", "format of the files: yaml, json, dotenv, ini, toml or binary (default: from each file name)")
	fs.StringVar(&f.order, "decryption-order", "", "comma-separated key types to try first (also SOPS_DECRYPTION_ORDER)")
	fs.BoolVar(&f.ignoreMAC, "ignore-mac", false, "use files whose MAC does not match")
}

func (a *app) execEnvCommand() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec-env FILE... -- COMMAND [ARG...]",
		Short: "Run a command with the decrypted values of files in its environment",
		Long: `Decrypt FILEs and run COMMAND with each top-level key as an environment
variable. Later files override earlier ones, with a warning naming the
variable. dotenv values are unquoted as a shell would read them; other
formats give each scalar's text (maps and lists cannot be variables).

kura replaces itself with COMMAND (no plaintext file, nothing left
running): the command gets every signal sent to kura's process and its
exit status is kura's. sops's form, one FILE and the command as one
string run by /bin/sh -c, works too.`,
		Example: `  kura exec-env secrets.enc.env -- ./deploy.sh --prod
  kura exec-env base.enc.yaml prod.enc.env -- env
  kura exec-env secrets.enc.env 'echo "$DB_PASSWORD" | wc -c'   # sops's form`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			files, argv, err := splitExecArgs(cmd, args)
			if err != nil {
				return err
			}
			return a.execEnv(&f, files, argv)
		},
	}
	cmd.Flags().BoolVar(&f.pristine, "pristine", false, "give the command only the decrypted variables, not kura's environment")
	f.registerCommon(cmd)
	return cmd
}

func (a *app) execFileCommand() *cobra.Command {
	var f execFlags
	cmd := &cobra.Command{
		Use:   "exec-file FILE -- COMMAND [ARG...]",
		Short: "Run a command with a decrypted file it reads through a FIFO",
		Long: `Decrypt FILE and run COMMAND with every {} in its arguments replaced by
the path of the plaintext. The plaintext goes through a named pipe (FIFO)
in a private directory (mode 0700) on a memory file system where there is
one, so it never lands in a regular file; a FIFO can be read once. With
--no-fifo it is a regular file there, mode 0600, for programs that must
seek or read twice. The directory is removed when the command ends, and
kura's exit status is the command's. Signals kura gets are passed on.
sops's form, FILE and the command as one string run by /bin/sh -c,
works too.`,
		Example: `  kura exec-file kubeconfig.enc.yaml -- kubectl --kubeconfig {} get pods
  kura exec-file --output-type json app.enc.yaml -- jq .db {}
  kura exec-file --no-fifo --filename .env app.enc.env -- docker compose --env-file {} up`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			files, argv, err := splitExecArgs(cmd, args)
			if err != nil {
				return err
			}
			if len(files) != 1 {
				return usageError{errors.New("exec-file takes one FILE")}
			}
			return a.execFile(&f, files[0], argv)
		},
	}
	cmd.Flags().BoolVar(&f.noFIFO, "no-fifo", false, "write the plaintext to a regular file (mode 0600) instead of a FIFO")
	cmd.Flags().StringVar(&f.filename, "filename", "", "name of the plaintext file (default: FILE's base name)")
	cmd.Flags().StringVar(&f.outputType, "output-type", "", "format of the plaintext file (default: FILE's)")
	f.registerCommon(cmd)
	return cmd
}

// splitExecArgs separates FILEs from the command: at "--", or sops's form
// FILE 'COMMAND STRING', run by the shell.
func splitExecArgs(cmd *cobra.Command, args []string) (files, argv []string, err error) {
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		if dash == 0 || dash == len(args) {
			return nil, nil, usageError{errors.New("give FILE... -- COMMAND [ARG...]")}
		}
		return args[:dash], args[dash:], nil
	}
	if len(args) != 2 {
		return nil, nil, usageError{errors.New("give FILE... -- COMMAND [ARG...], or FILE 'COMMAND' as sops does")}
	}
	return args[:1], []string{"/bin/sh", "-c", args[1]}, nil
}

// openForExec decrypts one file for exec-env or exec-file.
func (a *app) openForExec(command string, f *execFlags, file string) (*loaded, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	order, err := a.decryptionOrder(f.order)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(file); err != nil {
		return nil, inFile(file, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
	}
	l, err := a.loadEncrypted(file, f.inputType, cfg)
	if err != nil {
		return nil, inFile(displayName(file), err)
	}
	if err := l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.keySources(), Order: order, IgnoreMAC: f.ignoreMAC, ReadOnly: true}); err != nil {
		a.audit(command, file, auditOutcome(err), nil)
		return nil, inFile(displayName(file), err)
	}
	tree.DetachComments(l.file.Docs)
	// The values are out; the data key is not needed while the command
	// runs.
	l.file.Forget()
	return l, nil
}

// envFromFiles builds the variables of exec-env, later files first.
func (a *app) envFromFiles(f *execFlags, files []string) ([]string, error) {
	values := map[string]string{}
	from := map[string]string{}
	var names []string
	for _, file := range files {
		l, err := a.openForExec("exec-env", f, file)
		if err != nil {
			return nil, err
		}
		if len(l.file.Docs) == 0 {
			continue
		}
		var read []string
		for _, it := range l.file.Docs[0] {
			if it.IsComment() {
				continue
			}
			name, _ := it.Key.Canonical()
			value, err := envValue(l.format, it.Value)
			if l.format == format.Dotenv {
				name = dotenv.Name(name)
			}
			path := tree.FormatPath([]tree.PathStep{{Key: name}})
			switch {
			case err != nil:
				return nil, inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeGeneric, Path: path, Err: err})
			case name == "" || strings.ContainsAny(name, "=\x00"):
				return nil, inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeGeneric, Path: path, Err: errors.New("not a valid environment variable name")})
			case strings.ContainsRune(value, 0):
				return nil, inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeGeneric, Path: path, Err: errors.New("the value holds a NUL byte, which no environment can")})
			}
			if prev, ok := from[name]; ok {
				a.warnf("%s: %s overrides the value from %s", displayName(file), name, displayName(prev))
			} else {
				names = append(names, name)
			}
			values[name], from[name] = value, file
			read = append(read, path)
		}
		a.audit("exec-env", file, "ok", l, read...)
	}
	env := make([]string, 0, len(names))
	for _, n := range names {
		env = append(env, n+"="+values[n])
	}
	return env, nil
}

// envValue is a value as an environment variable: a scalar's text, a
// dotenv value as a shell reads it.
func envValue(f format.Format, v tree.Value) (string, error) {
	if v.Kind == tree.Map || v.Kind == tree.List {
		return "", fmt.Errorf("a %s cannot be an environment variable", map[bool]string{true: "map", false: "list"}[v.Kind == tree.Map])
	}
	if v.Kind == tree.Null {
		return "", nil
	}
	s, _ := v.Canonical()
	if f == format.Dotenv && v.Kind == tree.String {
		s = dotenv.Unquote(s)
	}
	return s, nil
}

// overlayEnv puts vars over base: a variable of vars replaces one of base
// with the same name.
func overlayEnv(base, vars []string) []string {
	set := map[string]bool{}
	for _, kv := range vars {
		name, _, _ := strings.Cut(kv, "=")
		set[name] = true
	}
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		if !set[name] {
			out = append(out, kv)
		}
	}
	return append(out, vars...)
}

func (a *app) execEnv(f *execFlags, files, argv []string) error {
	vars, err := a.envFromFiles(f, files)
	if err != nil {
		return err
	}
	env := vars
	if !f.pristine {
		env = overlayEnv(os.Environ(), vars)
	}
	path, err := lookCommand(argv[0], env)
	if err != nil {
		return err
	}
	// Nothing is left to clean up: kura becomes the command, which then
	// gets kura's signals and gives its exit status, with nothing between.
	if a.companion != nil {
		a.companion.Close()
	}
	return replaceProcess(path, argv, env, f.user)
}

// lookCommand finds a command as the shell would, on the PATH the command
// will see.
func lookCommand(name string, env []string) (string, error) {
	if strings.ContainsRune(name, filepath.Separator) {
		return name, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	if path == "" {
		path = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("%s: command not found", name)}
}

func (a *app) execFile(f *execFlags, file string, argv []string) error {
	l, err := a.openForExec("exec-file", f, file)
	if err != nil {
		return err
	}
	out := l.format
	if t, ok := format.Parse(f.outputType); ok {
		out = t
	} else if f.outputType != "" {
		return usageError{fmt.Errorf("unknown --output-type %q", f.outputType)}
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	plain, err := a.store(out, cfg, true).EmitPlain(l.file.Docs)
	if err != nil {
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: err})
	}
	a.audit("exec-file", file, "ok", l)
	dir, err := a.privateDir()
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: err}
	}
	var cleanOnce sync.Once
	cleanup := func() { cleanOnce.Do(func() { os.RemoveAll(dir) }) }
	defer cleanup()
	// From here on a signal must not kill kura, which would leave the
	// directory behind: signals wait in sig and go to the command once it
	// runs (a signal that came before would otherwise be lost, or end kura
	// with the plaintext still on disk).
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, forwardedSignals...)
	defer signal.Stop(sig)
	name := f.filename
	if name == "" {
		name = filepath.Base(file)
	}
	if name != filepath.Base(name) || name == "." || name == ".." {
		return usageError{fmt.Errorf("--filename %q is not a file name", name)}
	}
	path := filepath.Join(dir, name)
	var feed *fifoFeed
	if f.noFIFO || !haveFIFO {
		err := os.WriteFile(path, plain, 0o600)
		clear(plain)
		if err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
		}
	} else {
		if feed, err = newFIFOFeed(path, plain); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: err}
		}
	}
	args := make([]string, len(argv))
	for i, s := range argv {
		args[i] = strings.ReplaceAll(s, "{}", path)
	}
	cmdPath, err := lookCommand(args[0], os.Environ())
	if err != nil {
		return err
	}
	child := exec.Command(cmdPath, args[1:]...)
	child.Args[0] = args[0]
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := asUser(child, f.user); err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("starting %s: %v", args[0], err)}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sig:
				child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	werr := child.Wait()
	signal.Stop(sig)
	close(done)
	if feed != nil {
		feed.stop()
	}
	cleanup()
	if werr == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		return &exitError{code: exitCodeOf(ee), silent: true}
	}
	return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: werr}
}

// exitCodeOf is a finished command's status as a shell reports it:
// 128+N for a command killed by signal N.
func exitCodeOf(ee *exec.ExitError) int {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}
