// Package gitrepo runs the git commands kura's Git integration needs: it
// finds the repository, reads and writes its local configuration, lists
// tracked and staged files and reads blobs from the index or a commit.
//
// It runs the user's git binary rather than reading .git itself, so that
// worktrees, submodules, core.hooksPath, sparse indexes and every other
// layout git knows keep working.
package gitrepo

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// Repo is a Git working tree.
type Repo struct {
	// Root is the top of the working tree.
	Root string
	// Dir is where commands run (the caller's directory).
	Dir string
}

// ErrNotRepo means the directory is not inside a Git working tree.
var ErrNotRepo = errors.New("not inside a Git working tree")

// Open finds the repository that holds dir.
func Open(dir string) (*Repo, error) {
	r := &Repo{Dir: dir}
	out, err := r.git(nil, "rev-parse", "--show-toplevel")
	if err != nil {
		if _, lookErr := exec.LookPath("git"); lookErr != nil {
			return nil, errors.New("git is not installed")
		}
		return nil, ErrNotRepo
	}
	r.Root = strings.TrimRight(string(out), "\r\n")
	return r, nil
}

// git runs one git command in the repository's directory and returns its
// standard output. A failure carries git's own message.
func (r *Repo) git(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out, nil
}

// Path returns a path inside the .git directory (hooks, info...), as git
// resolves it: it honours core.hooksPath and worktrees.
func (r *Repo) Path(name string) (string, error) {
	out, err := r.git(nil, "rev-parse", "--path-format=absolute", "--git-path", name)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(out), "\r\n"), nil
}

// Config returns a local configuration value, and whether it is set.
func (r *Repo) Config(key string) (string, bool) {
	out, err := r.git(nil, "config", "--local", "--get", key)
	if err != nil {
		return "", false
	}
	return strings.TrimRight(string(out), "\r\n"), true
}

// SetConfig sets a local configuration value.
func (r *Repo) SetConfig(key, value string) error {
	_, err := r.git(nil, "config", "--local", key, value)
	return err
}

// RemoveSection removes a local configuration section, if it exists.
func (r *Repo) RemoveSection(name string) error {
	if _, err := r.git(nil, "config", "--local", "--get-regexp", "^"+strings.ReplaceAll(name, ".", `\.`)+`\.`); err != nil {
		return nil // nothing to remove
	}
	_, err := r.git(nil, "config", "--local", "--remove-section", name)
	return err
}

// TrackedFiles lists the files git tracks, relative to the root.
func (r *Repo) TrackedFiles() ([]string, error) {
	out, err := r.git(nil, "-C", r.Root, "ls-files", "-z")
	if err != nil {
		return nil, err
	}
	return splitZ(out), nil
}

// StagedFiles lists the files added, copied, modified or renamed in the
// index, relative to the root: what the next commit changes.
func (r *Repo) StagedFiles() ([]string, error) {
	out, err := r.git(nil, "-C", r.Root, "diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACM")
	if err != nil {
		return nil, err
	}
	return splitZ(out), nil
}

// ChangedInWorktree lists the tracked files whose working tree content
// may differ from the index, relative to the root: for the others, the
// staged content is the file on disk.
func (r *Repo) ChangedInWorktree() ([]string, error) {
	out, err := r.git(nil, "-C", r.Root, "diff", "--name-only", "-z", "--no-renames")
	if err != nil {
		return nil, err
	}
	return splitZ(out), nil
}

func splitZ(b []byte) []string {
	var files []string
	for _, f := range bytes.Split(b, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	return files
}

// Show returns a file's content at a revision ("HEAD", or "" for the
// index), path relative to the root.
func (r *Repo) Show(rev, path string) ([]byte, error) {
	return r.git(nil, "-C", r.Root, "cat-file", "blob", rev+":"+path)
}

// Blobs reads the content of many files from the index (rev "") or a
// revision with one git process. fn is called for each file in order; a
// file that is not there is skipped.
func (r *Repo) Blobs(rev string, paths []string, fn func(path string, data []byte) error) error {
	cmd := exec.Command("git", "-C", r.Root, "cat-file", "--batch")
	cmd.Dir = r.Dir
	var in bytes.Buffer
	for _, p := range paths {
		if strings.ContainsAny(p, "\n") {
			continue
		}
		in.WriteString(rev + ":" + p + "\n")
	}
	cmd.Stdin = &in
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	br := bufio.NewReaderSize(stdout, 1<<16)
	var ferr error
	for _, p := range paths {
		if strings.ContainsAny(p, "\n") {
			continue
		}
		header, err := br.ReadString('\n')
		if err != nil {
			ferr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		fields := strings.Fields(header)
		if len(fields) != 3 {
			continue // "<name> missing"
		}
		size, err := strconv.Atoi(fields[2])
		if err != nil {
			ferr = fmt.Errorf("git cat-file: bad header %q", header)
			break
		}
		data := make([]byte, size+1) // the content and a line feed
		if _, err := io.ReadFull(br, data); err != nil {
			ferr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		if fields[1] != "blob" {
			continue
		}
		if err := fn(p, data[:size]); err != nil {
			ferr = err
			break
		}
	}
	io.Copy(io.Discard, br)
	if err := cmd.Wait(); err != nil && ferr == nil {
		ferr = fmt.Errorf("git cat-file: %w", err)
	}
	return ferr
}

// MergeFile runs git's own three-way text merge: it writes the merge of
// base and theirs into ours, with conflict markers, and reports whether
// it conflicted.
func (r *Repo) MergeFile(ours, base, theirs string, labels [3]string) (conflicted bool, err error) {
	cmd := exec.Command("git", "merge-file", "-L", labels[0], "-L", labels[1], "-L", labels[2], ours, base, theirs)
	cmd.Dir = r.Dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &ee) && ee.ExitCode() > 0 && ee.ExitCode() < 128:
		return true, nil
	}
	return false, fmt.Errorf("git merge-file: %s", strings.TrimSpace(stderr.String()))
}
