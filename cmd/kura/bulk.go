package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/kura-secrets/kura/internal/atomicfile"
	"github.com/kura-secrets/kura/internal/bulk"
	"github.com/kura-secrets/kura/internal/ui"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// bulkFlags are shared by the commands that work on many files.
type bulkFlags struct {
	recursive bool
	jobs      int
	inputType string
	// json: one JSON object per file and a summary object (registerJSON).
	json bool
}

func (b *bulkFlags) register(fs *pflag.FlagSet) {
	fs.BoolVarP(&b.recursive, "recursive", "R", false, "work on every SOPS file below the directories given")
	fs.IntVar(&b.jobs, "jobs", 0, "files to work on at once (default: one per core)")
	fs.StringVar(&b.inputType, "input-type", "", "format of the files: yaml, json, dotenv, ini, toml or binary (default: from each file name)")
}

// registerJSON adds --json, for the commands whose per-file lines
// runBulk prints.
func (b *bulkFlags) registerJSON(fs *pflag.FlagSet) {
	fs.BoolVar(&b.json, "json", false, `print one JSON object per file, {"file":...,"status":...}, then a summary object {"files":N,"counts":{...},"failed":N}`)
}

// files expands the arguments of a command over many files.
func (a *app) files(b *bulkFlags, args []string) ([]bulk.Target, error) {
	if len(args) == 0 {
		return nil, usageError{errors.New("no file given")}
	}
	files, err := bulk.Expand(args, b.recursive)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: unwrapPathError(err)}
	}
	if len(files) == 0 {
		return nil, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no SOPS file found below " + strings.Join(args, ", "))}
	}
	return files, nil
}

// notSOPS reports whether a load error means the file is not a SOPS file
// at all: a file found by walking a directory is then skipped quietly.
func notSOPS(err error) bool {
	return errors.Is(err, sopsfile.ErrNotSOPS)
}

// loaded is an encrypted file read for a command over many files.
type loaded struct {
	file   *sopsfile.File
	format format.Format
	store  format.Store // to write it back in its own format
	data   []byte
	// layout is the text whose layout the file keeps when written back:
	// the file itself, or the text an editor saved. nil means the
	// store's own layout (--indent asks for it).
	layout []byte
}

// fileFormat is a file's format: --input-type, or from its name.
func (a *app) fileFormat(path, inputType string) format.Format {
	if t, ok := format.Parse(inputType); ok {
		return t
	}
	return format.FromPath(path)
}

// encryptedFormat is an encrypted file's format: --input-type, or from
// its name corrected by its content (a .toml file sops encrypted is
// binary).
func (a *app) encryptedFormat(path, inputType string, data []byte) format.Format {
	if t, ok := format.Parse(inputType); ok {
		return t
	}
	return format.OfEncrypted(format.FromPath(path), data)
}

// loadEncrypted reads and parses one encrypted file.
func (a *app) loadEncrypted(path, inputType string, cfg *config.Config) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: unwrapPathError(err)}
	}
	f := a.encryptedFormat(path, inputType, data)
	store := a.store(f, cfg, false)
	file, err := sopsfile.Load(data, store, f == format.Binary)
	if err != nil {
		return nil, err
	}
	return &loaded{file: file, format: f, store: a.store(f, cfg, true), data: data, layout: a.keepLayout(data)}, nil
}

// save writes a changed file in place, atomically, keeping its mode. It
// reports whether the bytes changed.
func (l *loaded) save(path string) (bool, error) {
	out, err := l.file.EmitLike(l.store, l.layout)
	if err != nil {
		return false, err
	}
	if string(out) == string(l.data) {
		return false, nil
	}
	if err := atomicfile.Write(path, out, 0o600); err != nil {
		return false, &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)}
	}
	return true, nil
}

// outcome is what happened to one file.
type outcome struct {
	status string // a word for the summary: updated, up to date, would update, differs, failed...
	detail string
	err    error
	// added and removed name the keys a change adds and removes, for
	// --json.
	added, removed []string
	// skip marks a file found by a walk that is not a SOPS file: it gets
	// no line and does not count.
	skip bool
}

// tally counts outcomes by status for the summary line, in first-seen
// order.
type tally struct {
	order       []string
	counts      map[string]int
	failed      int
	interrupted int
	code        sopsfile.Code
	// json prints the summary as JSON.
	json bool
	// hint is the first failure's hint, printed once after the summary.
	hint string
}

func (t *tally) add(o outcome) {
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	if _, ok := t.counts[o.status]; !ok {
		t.order = append(t.order, o.status)
	}
	t.counts[o.status]++
	if o.err != nil {
		t.failed++
		if t.code == 0 {
			t.code = sopsfile.CodeOf(o.err)
		}
	}
}

func (t *tally) String() string {
	total := 0
	var parts []string
	for _, s := range t.order {
		total += t.counts[s]
		parts = append(parts, fmt.Sprintf("%d %s", t.counts[s], s))
	}
	noun := "files"
	if total == 1 {
		noun = "file"
	}
	return fmt.Sprintf("%d %s: %s", total, noun, strings.Join(parts, ", "))
}

// summaryJSON is the summary of --json.
func (t *tally) summaryJSON() string {
	total := 0
	for _, s := range t.order {
		total += t.counts[s]
	}
	counts := t.counts
	if counts == nil {
		counts = map[string]int{}
	}
	out, _ := json.Marshal(struct {
		Files       int            `json:"files"`
		Counts      map[string]int `json:"counts"`
		Failed      int            `json:"failed"`
		Interrupted int            `json:"interrupted,omitempty"`
	}{total, counts, t.failed, t.interrupted})
	return string(out)
}

// fileJSON is the line of --json for one file.
type fileJSON struct {
	File    string   `json:"file"`
	Status  string   `json:"status"`
	Detail  string   `json:"detail,omitempty"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// printSummary prints the summary line, or object with --json.
func (a *app) printSummary(t *tally) {
	if t.json {
		fmt.Fprintln(a.stdout, t.summaryJSON())
		return
	}
	fmt.Fprintln(a.stdout, t.String())
}

// quietStatus is a status not worth a line of its own on a terminal:
// the summary counts it.
func quietStatus(status string) bool { return status == "up to date" }

// runBulk runs fn on every file, prints one line per file in order and a
// summary, and returns an error when any file failed. A named file that
// does not exist fails without fn being called. An interrupt (Ctrl-C,
// SIGTERM) lets the files in progress finish, so none is left half
// written, and starts no more.
//
// With --json each line is a JSON object. On a terminal a progress bar
// shows on standard error, and files that need no change get no line of
// their own when standard output is a terminal too.
func (a *app) runBulk(files []bulk.Target, b *bulkFlags, fn func(bulk.Target) outcome) *tally {
	t := &tally{json: b.json}
	stop := a.interrupted()
	bar := a.startBar(len(files))
	defer a.stopBar(bar)
	quiet := a.outUI().TTY && !b.json
	bulk.Run(files, b.jobs, stop, func(target bulk.Target) outcome {
		if !target.Found {
			if _, err := os.Stat(target.Path); err != nil {
				return outcome{status: "failed", err: &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")}}
			}
		}
		o := fn(target)
		if target.Found && o.err != nil && notSOPS(o.err) {
			return outcome{skip: true}
		}
		return o
	}, func(target bulk.Target, o outcome, ran bool) {
		defer bar.Add(1)
		file := target.Path
		if !ran {
			t.interrupted++
			return
		}
		if o.skip {
			return
		}
		t.add(o)
		if o.err != nil && t.hint == "" {
			t.hint = hintFor(o.err, file)
		}
		if quiet && o.err == nil && quietStatus(o.status) {
			return
		}
		a.printAbove(bar, o.err == nil || b.json, func() {
			switch {
			case b.json:
				line := fileJSON{File: displayName(file), Status: o.status, Detail: o.detail, Added: o.added, Removed: o.removed}
				if o.err != nil {
					line.Error = messageLine(o.err.Error())
				}
				out, _ := json.Marshal(line)
				fmt.Fprintln(a.stdout, string(out))
			case o.err != nil:
				a.printError(o.err, file, "")
			case o.detail != "":
				fmt.Fprintf(a.stdout, "%s: %s: %s\n", o.status, displayName(file), o.detail)
			default:
				fmt.Fprintf(a.stdout, "%s: %s\n", o.status, displayName(file))
			}
		})
	})
	return t
}

// startBar shows a progress bar for n files on standard error when it is
// a terminal (nil otherwise), until stopBar. Warnings are printed above
// it.
func (a *app) startBar(n int) *ui.Progress {
	bar := ui.NewProgress(a.stderr, a.errUI(), n)
	a.bar.Store(bar)
	return bar
}

// printAbove runs print, which writes to standard output (toStdout) or
// standard error. The bar is erased first when the two share the
// terminal, and drawn again below by the next Add.
func (a *app) printAbove(bar *ui.Progress, toStdout bool, print func()) {
	if toStdout && !a.outUI().TTY {
		print()
		return
	}
	bar.Above(print)
}

// stopBar erases the bar startBar showed.
func (a *app) stopBar(bar *ui.Progress) {
	a.bar.Store(nil)
	bar.Done()
}

// interrupted returns a channel closed on the first SIGINT or SIGTERM of
// a run over many files.
func (a *app) interrupted() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop == nil {
		a.stop = make(chan struct{})
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			signal.Stop(sig)
			close(a.stop)
		}()
	}
	return a.stop
}

// finish prints the summary and turns failures into the exit code.
func (a *app) finish(t *tally) error {
	a.printSummary(t)
	if t.interrupted > 0 {
		a.printError(fmt.Errorf("interrupted: %d file(s) not started; every file is either as it was or fully written", t.interrupted), "", "")
		return &exitError{code: int(sopsfile.CodeKeyboardInterrupt), silent: true}
	}
	if t.hint != "" {
		a.printHint(t.hint)
	}
	if t.failed > 0 {
		code := t.code
		if code == 0 {
			code = sopsfile.CodeGeneric
		}
		return &exitError{code: int(code), silent: true}
	}
	return nil
}

// confirm asks a yes/no question on the terminal. Without a terminal it
// refuses, so that a script never changes files by accident.
func (a *app) confirm(question string) (bool, error) {
	in, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return false, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: errors.New("no terminal to ask for confirmation"), Hint: "pass --yes to apply the changes, or --dry-run to see them"}
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}
