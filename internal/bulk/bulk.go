// Package bulk runs one operation over many files, as kura's key-lifecycle
// commands do over a repository: it expands directories into the SOPS
// files below them, runs the operation on every core, and hands the
// results back in the order the files were named, so output is stable.
//
// A failure on one file does not stop the others; each file is written
// atomically by the operation itself, so an interrupted run leaves every
// file either old or new.
package bulk

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

// Target is one file to work on.
type Target struct {
	Path string
	// Found says the file was found by walking a directory rather than
	// named: if it turns out not to be a SOPS file, it is skipped
	// quietly, while a named one is an error.
	Found bool
}

// Expand turns command-line arguments into the files to work on. A file
// is taken as given, even if it does not exist (the operation reports
// that for it). A directory is walked when recursive is set and
// contributes the files that look like SOPS files; dot directories such
// as .git and kura's own temporary files are skipped. Without recursive a
// directory is an error. A file named twice is worked on once.
func Expand(args []string, recursive bool) ([]Target, error) {
	var files []Target
	seen := map[string]bool{}
	add := func(p string, found bool) {
		key := p
		if abs, err := filepath.Abs(p); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			files = append(files, Target{Path: p, Found: found})
		}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			add(arg, false)
			continue
		}
		if !recursive {
			return nil, fmt.Errorf("%s is a directory: use --recursive to work on the files below it", arg)
		}
		var found []string
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != arg && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && d.Name() != ".sops.yaml" && !IsTemporary(d.Name()) && LooksEncrypted(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, p := range found {
			add(p, true)
		}
	}
	return files, nil
}

// IsTemporary reports whether a file name is one of the temporary files
// kura's atomic writer makes next to a file (".NAME.kura-RANDOM"). One is
// left behind only when a run is killed outright; it holds ciphertext.
func IsTemporary(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".kura-")
}

// markers are byte strings every SOPS file holds in one of its formats:
// the YAML or JSON "sops" key with its "mac", "lastmodified" and
// "version", the dotenv "sops_mac" and the INI "[sops]" section.
var markers = [][]byte{[]byte("sops"), []byte("mac"), []byte("lastmodified"), []byte("version")}

// tailSize is how much of a file LooksEncrypted reads: the metadata
// block is written last in every format, and even with many recipients
// it is far smaller than this.
const tailSize = 256 << 10

// LooksEncrypted is a cheap test for walking a tree: whether the end of a
// file holds the words every SOPS metadata block holds. Files that pass
// are loaded properly later; this only skips the rest of a repository.
func LooksEncrypted(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false
	}
	off := max(st.Size()-tailSize, 0)
	buf := make([]byte, min(st.Size(), tailSize))
	n, _ := f.ReadAt(buf, off)
	data := buf[:n]
	for _, m := range markers {
		if !bytes.Contains(data, m) {
			return false
		}
	}
	return true
}

// Run calls fn for every target on workers goroutines (0 means one per
// core) and calls report with each result in the order of targets, as
// soon as it and all results before it are done. Once stop is closed no
// new target is started; those not started are reported with ran false.
func Run[R any](targets []Target, workers int, stop <-chan struct{}, fn func(Target) R, report func(t Target, r R, ran bool)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]R, len(targets))
	ran := make([]bool, len(targets))
	done := make([]chan struct{}, len(targets))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	// A panic in fn goes on in this goroutine, where kura's main recovers
	// it: left to the runtime, it would print the panic value, which
	// might hold a decrypted value.
	var panicMu sync.Mutex
	var panicked any
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				func() {
					defer func() {
						if r := recover(); r != nil {
							panicMu.Lock()
							if panicked == nil {
								panicked = r
							}
							panicMu.Unlock()
						}
						close(done[i])
					}()
					results[i], ran[i] = fn(targets[i]), true
				}()
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range targets {
			select {
			case next <- i:
			case <-stop:
				for j := i; j < len(targets); j++ {
					close(done[j])
				}
				return
			}
		}
	}()
	for i, t := range targets {
		<-done[i]
		panicMu.Lock()
		p := panicked
		panicMu.Unlock()
		if p != nil {
			panic(p)
		}
		report(t, results[i], ran[i])
	}
	wg.Wait()
}
