package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kura-secrets/kura/internal/atomicfile"
	"github.com/kura-secrets/kura/internal/shellwords"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// editFlags are the flags of edit.
type editFlags struct {
	inputType string
	ignoreMAC bool
	order     string
	enc       encryptFlags
}

func (a *app) editCommand() *cobra.Command {
	var e editFlags
	cmd := &cobra.Command{
		Use:   "edit FILE",
		Short: "Edit an encrypted file in your editor",
		Long: `Decrypt FILE into a private temporary directory (on a memory-backed file
system where there is one), open it in $SOPS_EDITOR, $EDITOR, or vim, nano
or vi, and encrypt the result back with the same data key when the editor
exits. Values you did not change keep their encrypted text byte for byte.

If what you saved does not parse, kura says why and opens the editor again
on your text. If nothing changed, the file is not rewritten (exit 200, as
sops). The temporary file is removed however kura ends: normally, on an
error, on Ctrl-C or SIGTERM.

A FILE that does not exist is created from an example, encrypted for the
keys of the matching .sops.yaml rule or the key flags.`,
		Example: `  kura edit secrets.yaml
  EDITOR="code --wait" kura edit secrets.yaml
  kura edit --age age1... new-secrets.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.edit(&e, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&e.inputType, "input-type", "", "format of the file: yaml, json, dotenv, ini, toml or binary (default: from the file name)")
	fs.BoolVar(&e.ignoreMAC, "ignore-mac", false, "edit a file whose MAC does not match")
	fs.StringVar(&e.order, "decryption-order", "", "comma-separated key types to try first (also SOPS_DECRYPTION_ORDER)")
	e.enc.register(fs)
	return cmd
}

// editorCommand returns the editor to run: $SOPS_EDITOR, $EDITOR, or the
// first of vim, nano and vi found, as sops chooses. An editor given with
// arguments (code --wait) is split as a shell would, without a shell.
func (a *app) editorCommand() ([]string, error) {
	for _, v := range []string{"SOPS_EDITOR", "EDITOR"} {
		if s := a.getenv(v); s != "" {
			argv, err := shellwords.Split(s)
			if err != nil || len(argv) == 0 {
				return nil, &sopsfile.Error{Code: sopsfile.CodeNoEditorFound, Err: fmt.Errorf("%s is not a command: %v", v, err)}
			}
			return argv, nil
		}
	}
	for _, name := range []string{"vim", "nano", "vi"} {
		if p, err := exec.LookPath(name); err == nil {
			return []string{p}, nil
		}
	}
	return nil, &sopsfile.Error{Code: sopsfile.CodeNoEditorFound, Err: errors.New("no editor found"), Hint: "set EDITOR (or SOPS_EDITOR) to your editor's command"}
}

// privateDir makes a directory only the user can enter, for the plaintext:
// on a memory-backed file system where there is one, so the plaintext never
// reaches a disk.
func (a *app) privateDir() (string, error) {
	var bases []string
	if d := a.getenv("XDG_RUNTIME_DIR"); d != "" {
		bases = append(bases, d)
	}
	if runtime.GOOS == "linux" {
		bases = append(bases, "/dev/shm")
	}
	bases = append(bases, os.TempDir())
	var lastErr error
	for _, base := range bases {
		if st, err := os.Stat(base); err != nil || !st.IsDir() {
			continue
		}
		dir, err := os.MkdirTemp(base, privateDirPrefix)
		if err != nil {
			lastErr = err
			continue
		}
		if err := os.Chmod(dir, 0o700); err != nil { // #nosec G302 -- a directory: 0700 is owner-only
			os.RemoveAll(dir)
			lastErr = err
			continue
		}
		// Locked while kura lives, so that a later kura can tell the
		// directories of killed runs, and remove their plaintext.
		if err := holdPrivateDir(dir); err != nil {
			os.RemoveAll(dir)
			lastErr = err
			continue
		}
		if stale := removeStaleDirs(base); len(stale) == 1 {
			fmt.Fprintf(a.stderr, "kura: removed %s, left behind by a kura that was killed\n", stale[0])
		} else if len(stale) > 1 {
			fmt.Fprintf(a.stderr, "kura: removed %d temporary directories in %s, left behind by kura runs that were killed\n", len(stale), base)
		}
		return dir, nil
	}
	return "", fmt.Errorf("no place for the temporary file: %v", lastErr)
}

// editSession owns the temporary directory and the running editor, so that
// a signal can stop the editor and remove the plaintext.
type editSession struct {
	dir    string
	mu     sync.Mutex
	editor *exec.Cmd
	gone   bool
}

func (s *editSession) cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gone {
		os.RemoveAll(s.dir)
		s.gone = true
	}
}

// watchSignals removes the plaintext when kura is told to stop. Ctrl-C
// while the editor runs belongs to the editor (vim uses it); otherwise it
// ends kura. SIGTERM and SIGHUP stop the editor too.
func (s *editSession) watchSignals(stderr *os.File) func() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case v := <-sig:
				s.mu.Lock()
				ed := s.editor
				s.mu.Unlock()
				if v == os.Interrupt && ed != nil {
					continue
				}
				if ed != nil && ed.Process != nil {
					ed.Process.Signal(syscall.SIGTERM)
				}
				s.cleanup()
				fmt.Fprintf(stderr, "kura: error: stopped by %v; the temporary file was removed and the file is unchanged\n", v)
				code := 130
				if v == syscall.SIGTERM {
					code = 143
				} else if v == syscall.SIGHUP {
					code = 129
				}
				os.Exit(code)
			}
		}
	}()
	return func() { signal.Stop(sig); close(done) }
}

// runEditor runs the editor on path, attached to the terminal.
func (s *editSession) runEditor(argv []string, path string) error {
	cmd := exec.Command(argv[0], append(argv[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	s.mu.Lock()
	s.editor = cmd
	s.mu.Unlock()
	err := cmd.Run()
	s.mu.Lock()
	s.editor = nil
	s.mu.Unlock()
	if err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("the editor failed (%v); the file is unchanged", err)}
	}
	return nil
}

// maxReopen bounds how often the editor is reopened on text that does not
// parse when nobody is at a terminal to stop it.
const maxReopen = 5

// editLoop opens the editor until the text parses. It returns the text and
// the documents, or changed=false when the text was saved unchanged.
func (a *app) editLoop(s *editSession, argv []string, path string, original []byte, store format.Store) (text []byte, docs []tree.Document, changed bool, err error) {
	interactive := term.IsTerminal(int(os.Stdin.Fd()))
	for attempt := 0; ; attempt++ {
		if err := s.runEditor(argv, path); err != nil {
			return nil, nil, false, err
		}
		text, err = os.ReadFile(path)
		if err != nil {
			return nil, nil, false, err
		}
		if bytes.Equal(text, original) {
			return text, nil, false, nil
		}
		docs, err = store.LoadPlain(text)
		if err == nil && len(docs) > 0 {
			return text, docs, true, nil
		}
		if err == nil {
			err = errors.New("the file is empty")
		}
		fmt.Fprintf(a.stderr, "kura: error: the edited text does not parse: %s\n", oneLine(err))
		if !interactive && attempt+1 >= maxReopen {
			return nil, nil, false, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: errors.New("the edited text still does not parse; the file is unchanged")}
		}
		if interactive {
			fmt.Fprint(a.stderr, "kura: press Enter to edit again, or Ctrl-C to give up (the file stays unchanged) ")
			bufio.NewReader(os.Stdin).ReadString('\n')
		} else {
			fmt.Fprintln(a.stderr, "kura: opening the editor again on the same text")
		}
	}
}

func oneLine(err error) string {
	return string(bytes.Join(bytes.Fields([]byte(err.Error())), []byte(" ")))
}

func (a *app) edit(e *editFlags, file string) error {
	argv, err := a.editorCommand()
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	f := format.FromPath(file)
	if t, ok := format.Parse(e.inputType); ok {
		f = t
	}
	store := a.store(f, cfg, true)
	s := &editSession{}
	if s.dir, err = a.privateDir(); err != nil {
		return err
	}
	defer s.cleanup()
	stop := s.watchSignals(os.Stderr)
	defer stop()
	tmp := filepath.Join(s.dir, filepath.Base(file))

	if _, statErr := os.Stat(file); errors.Is(statErr, os.ErrNotExist) {
		return inFile(displayName(file), a.editNew(e, s, argv, file, tmp, f, store, cfg))
	}
	order, err := a.decryptionOrder(e.order)
	if err != nil {
		return err
	}
	l, err := a.loadEncrypted(file, e.inputType, cfg)
	if err != nil {
		return inFile(displayName(file), err)
	}
	if err := l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.keySources(), Order: order, IgnoreMAC: e.ignoreMAC}); err != nil {
		a.audit("edit", file, auditOutcome(err), nil)
		return inFile(displayName(file), err)
	}
	a.audit("edit", file, "ok", l)
	plain, err := a.plainLike(store, l.layout, l.file.Docs)
	if err != nil {
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: err})
	}
	if err := writeEditorFile(tmp, plain); err != nil {
		return inFile(displayName(file), err)
	}
	text, docs, changed, err := a.editLoop(s, argv, tmp, plain, store)
	// The plaintext texts are cleared when done with (the values in the
	// tree are Go strings, which cannot be).
	clear(plain)
	defer clear(text)
	if err != nil {
		return inFile(displayName(file), err)
	}
	if !changed || tree.DocumentsEqual(docs, l.file.Docs) {
		return inFile(displayName(file), &sopsfile.Error{Code: sopsfile.CodeFileHasNotBeenModified, Err: errors.New("file has not been modified")})
	}
	l.file.Docs = docs
	l.layout = a.keepLayout(text)
	l.file.BumpVersion()
	if err := l.file.Reseal(time.Now()); err != nil {
		return inFile(displayName(file), err)
	}
	if _, err := l.save(file); err != nil {
		return inFile(displayName(file), err)
	}
	return nil
}

// writeEditorFile writes the text the editor opens. A failure (the
// memory file system full) is exit 3, and the file is unchanged.
func writeEditorFile(tmp string, text []byte) error {
	if err := os.WriteFile(tmp, text, 0o600); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: fmt.Errorf("cannot write the temporary file for the editor: %w; the file is unchanged", err)}
	}
	return nil
}

// plainLike writes decrypted documents for the editor in the layout of
// the encrypted file, where the store keeps layouts.
func (a *app) plainLike(store format.Store, encrypted []byte, docs []tree.Document) ([]byte, error) {
	if k, ok := store.(format.LayoutKeeper); ok && encrypted != nil {
		if out, ok := k.EmitPlainLike(encrypted, docs); ok {
			return out, nil
		}
	}
	return store.EmitPlain(docs)
}

// exampleTree is what edit opens for a new file, as sops does.
func exampleTree(f format.Format) tree.Document {
	switch f {
	case format.Dotenv, format.INI:
		doc := tree.Document{
			tree.CommentItem(" This is an example file.", false),
			tree.KeyItem("hello", tree.Str("Welcome to kura! Edit this file as you please!")),
			tree.KeyItem("example_key", tree.Str("example_value")),
		}
		if f == format.INI {
			return tree.Document{tree.KeyItem("example", tree.MapV(doc))}
		}
		return doc
	case format.TOML:
		return tree.Document{
			tree.CommentItem(" This is an example file.", false),
			tree.KeyItem("hello", tree.Str("Welcome to kura! Edit this file as you please!")),
			tree.KeyItem("example_key", tree.Str("example_value")),
			tree.KeyItem("example_array", tree.ListV([]tree.Value{tree.Str("example_value1"), tree.Str("example_value2")})),
			tree.KeyItem("example_number", tree.FloatV(1234.56789)),
			tree.KeyItem("example_booleans", tree.ListV([]tree.Value{tree.BoolV(true), tree.BoolV(false)})),
		}
	case format.Binary:
		return tree.Document{tree.KeyItem("data", tree.Str("Welcome to kura! Edit this file as you please!\n"))}
	}
	return tree.Document{
		tree.KeyItem("hello", tree.Str("Welcome to kura! Edit this file as you please!")),
		tree.KeyItem("example_key", tree.Str("example_value")),
		tree.CommentItem(" Example comment", false),
		tree.KeyItem("example_array", tree.ListV([]tree.Value{tree.Str("example_value1"), tree.Str("example_value2")})),
		tree.KeyItem("example_number", tree.FloatV(1234.56789)),
		tree.KeyItem("example_booleans", tree.ListV([]tree.Value{tree.BoolV(true), tree.BoolV(false)})),
	}
}

// editNew creates a file: the example opens in the editor, and what is
// saved is encrypted as kura encrypt would encrypt it.
func (a *app) editNew(e *editFlags, s *editSession, argv []string, file, tmp string, f format.Format, store format.Store, cfg *config.Config) error {
	opts, err := a.encryptionOptions(file, f, cfg, &e.enc)
	if err != nil {
		return err
	}
	example, err := store.EmitPlain([]tree.Document{exampleTree(f)})
	if err != nil {
		return err
	}
	if err := writeEditorFile(tmp, example); err != nil {
		return err
	}
	text, docs, changed, err := a.editLoop(s, argv, tmp, example, store)
	if err != nil {
		return err
	}
	if !changed {
		return &sopsfile.Error{Code: sopsfile.CodeFileHasNotBeenModified, Err: errors.New("file has not been modified; nothing was created")}
	}
	encrypted, err := sopsfile.Encrypt(docs, opts)
	if err != nil {
		return err
	}
	out, err := encrypted.EmitLike(store, a.keepLayout(text))
	if err != nil {
		return err
	}
	if err := atomicfile.Write(file, out, 0o600); err != nil {
		return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	return nil
}
