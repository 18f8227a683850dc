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

// Expand turns command-line arguments into the files to work on. A file
// is taken as given. A directory is walked when recursive is set (dot
// directories such as .git are skipped) and contributes the files that
// look like SOPS files; without recursive it is an error.
func Expand(args []string, recursive bool) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			add(arg)
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
			if d.Type().IsRegular() && d.Name() != ".sops.yaml" && LooksEncrypted(p) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, p := range found {
			add(p)
		}
	}
	return files, nil
}

// markers are byte strings every SOPS file holds in one of its formats:
// the YAML or JSON "sops" key with its "mac", the dotenv "sops_mac" and
// the INI "[sops]" section.
var markers = [][]byte{[]byte("sops"), []byte("mac")}

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

// Run calls fn for every file on workers goroutines (0 means one per
// core) and calls report with each result in the order of files, as soon
// as it and all results before it are done.
func Run[R any](files []string, workers int, fn func(file string) R, report func(file string, r R)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([]R, len(files))
	done := make([]chan struct{}, len(files))
	for i := range done {
		done[i] = make(chan struct{})
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = fn(files[i])
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range files {
			next <- i
		}
		close(next)
	}()
	for i, f := range files {
		<-done[i]
		report(f, results[i])
	}
	wg.Wait()
}
