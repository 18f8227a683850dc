package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/internal/atomicfile"
	"github.com/kura-secrets/kura/internal/mapfile"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/binary"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/format/ini"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/format/toml"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// ioFlags say where input comes from, where output goes and in which
// formats.
type ioFlags struct {
	inPlace          bool
	output           string
	inputType        string
	outputType       string
	filenameOverride string
}

func (f *ioFlags) register(fs *pflag.FlagSet) {
	fs.BoolVarP(&f.inPlace, "in-place", "i", false, "write the result back to the file instead of standard output")
	fs.StringVar(&f.output, "output", "", "write the result to this file instead of standard output")
	fs.StringVar(&f.inputType, "input-type", "", "format of the input: yaml, json, dotenv, ini, toml or binary (default: from the file name)")
	fs.StringVar(&f.outputType, "output-type", "", "format of the output: yaml, json, dotenv, ini, toml or binary (default: from the file name)")
	fs.StringVar(&f.filenameOverride, "filename-override", "", "use this name to choose formats and .sops.yaml rules (for standard input)")
}

// job is one command's resolved input and output.
type job struct {
	file   string // the file argument, "" for standard input
	name   string // the name that chooses formats and rules
	input  format.Format
	output format.Format
	cfg    *config.Config
}

// resolve checks the flag combination and works out names and formats.
func (a *app) resolve(f *ioFlags, args []string) (*job, error) {
	j := &job{}
	if len(args) > 1 {
		a.warnf("only one file is used; ignoring %q", args[1:])
	}
	if len(args) > 0 && args[0] != "-" {
		j.file = args[0]
	}
	switch {
	case f.inPlace && f.output != "":
		return nil, &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("cannot operate on both --output and --in-place")}
	case f.inPlace && j.file == "":
		return nil, &sopsfile.Error{Code: sopsfile.CodeConflictingParameters, Err: errors.New("cannot use --in-place when reading from standard input")}
	}
	if j.file != "" {
		if st, err := os.Stat(j.file); errors.Is(err, fs.ErrNotExist) {
			return nil, inFile(j.file, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no such file")})
		} else if err == nil && st.IsDir() {
			return nil, inFile(j.file, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: errors.New("is a directory, not a file")})
		}
	}
	j.name = j.file
	if f.filenameOverride != "" {
		j.name = f.filenameOverride
	}
	j.input = format.FromPath(j.name)
	if t, ok := format.Parse(f.inputType); ok {
		j.input = t
	} else if f.inputType != "" {
		a.warnf("unknown --input-type %q; using the file name instead (known: yaml, json, dotenv, ini, toml, binary)", f.inputType)
	}
	j.output = format.FromPath(j.name)
	if j.name == "" {
		// No name to go by: keep the input's format, which is what a
		// pipe means. sops would pick binary here and fail.
		j.output = j.input
	}
	if t, ok := format.Parse(f.outputType); ok {
		j.output = t
	} else if f.outputType != "" {
		a.warnf("unknown --output-type %q; using the file name instead", f.outputType)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	j.cfg = cfg
	return j, nil
}

// loadConfig finds and reads .sops.yaml. Its absence is fine.
func (a *app) loadConfig() (*config.Config, error) {
	path := a.global.config
	if path == "" {
		var ignored []string
		var err error
		path, ignored, err = config.Find(".")
		if err != nil {
			return nil, err
		}
		for _, p := range ignored {
			a.warnf("%s is ignored: the configuration file must be named .sops.yaml", p)
		}
		if path == "" {
			return &config.Config{Stores: config.Stores{JSONIndent: -1, JSONBinaryIndent: -1}}, nil
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: fmt.Errorf("error loading config: %w", err)}
	}
	return cfg, nil
}

// store returns the store for a format with the config's options. output
// says whether --indent applies.
func (a *app) store(f format.Format, cfg *config.Config, output bool) format.Store {
	s := cfg.Stores
	if output && a.global.indentSet {
		s.YAMLIndent, s.JSONIndent, s.JSONBinaryIndent = a.global.indent, a.global.indent, a.global.indent
		if s.YAMLIndent < 0 {
			s.YAMLIndent = 0
		}
	}
	switch f {
	case format.YAML:
		return yaml.Store{Indent: s.YAMLIndent}
	case format.JSON:
		return json.New(s.JSONIndent)
	case format.Dotenv:
		return dotenv.Store{}
	case format.INI:
		return ini.Store{}
	case format.TOML:
		return toml.Store{}
	}
	return binary.New(s.JSONBinaryIndent)
}

// keepLayout returns the text whose layout a written file keeps: text,
// unless --indent asks for the store's own layout.
func (a *app) keepLayout(text []byte) []byte {
	if a.global.indentSet {
		return nil
	}
	return text
}

// loadPlainShared loads a plaintext read for this run alone: the tree may
// point into data, which must not change afterwards, instead of into
// copies of its strings (format.SharedLoader).
func loadPlainShared(s format.Store, data []byte) ([]tree.Document, error) {
	if sl, ok := s.(format.SharedLoader); ok {
		return sl.LoadPlainShared(data)
	}
	return s.LoadPlain(data)
}

// readInput reads the file, or standard input.
func (a *app) readInput(j *job) ([]byte, error) {
	if j.file == "" {
		data, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: fmt.Errorf("reading standard input: %w", err)}
		}
		return data, nil
	}
	// A large file is mapped rather than copied (see mapfile): the
	// loaders read it in place.
	data, isMapped, err := mapfile.Read(j.file)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeCouldNotReadInput, Err: fmt.Errorf("reading the file: %w", unwrapPathError(err))}
	}
	if isMapped {
		a.mu.Lock()
		a.mapped = append(a.mapped, displayName(j.file))
		a.mu.Unlock()
	}
	return data, nil
}

// writeOutput writes the result where the flags say. Files are replaced
// atomically: a failure leaves them as they were.
func (a *app) writeOutput(j *job, f *ioFlags, data []byte) error {
	target := ""
	switch {
	case f.inPlace:
		target = j.file
	case f.output != "":
		target = f.output
	default:
		if _, err := a.stdout.Write(data); err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: fmt.Errorf("writing standard output: %w", err)}
		}
		return nil
	}
	if err := atomicfile.Write(target, data, 0o600); err != nil {
		return inFile(target, &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: unwrapPathError(err)})
	}
	return nil
}

// streamOutput writes decrypted documents to standard output as they are
// formatted, so that a large file's text is never held whole.
func (a *app) streamOutput(se format.StreamEmitter, docs []tree.Document) error {
	w := &errWriter{w: a.stdout}
	if err := se.EmitPlainTo(w, docs); err != nil {
		if w.err != nil {
			return &sopsfile.Error{Code: sopsfile.CodeCouldNotWriteOutput, Err: fmt.Errorf("writing standard output: %w", w.err)}
		}
		return &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: fmt.Errorf("error dumping file: %w", err)}
	}
	return nil
}

// errWriter remembers its writer's first error, to tell it from a
// formatting error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// unwrapPathError drops the path an *fs.PathError repeats: messages name
// the file once, at the start.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// displayName is the file name as messages show it.
func displayName(file string) string {
	if file == "" {
		return "(stdin)"
	}
	return filepath.Clean(file)
}
