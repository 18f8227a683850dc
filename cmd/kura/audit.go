package main

import (
	"encoding/json"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// The audit log: with --audit-log FILE or KURA_AUDIT_LOG, every command
// that reveals plaintext (decrypt, edit, exec-env, exec-file, publish)
// appends one JSON line to FILE saying who read which file, which key
// paths, with which key, and how it ended. It never holds a value: the
// point is that the log can be shipped anywhere.

// auditRecord is one line of the audit log.
type auditRecord struct {
	Time       string   `json:"time"`
	User       string   `json:"user"`
	Host       string   `json:"host"`
	Command    string   `json:"command"`
	File       string   `json:"file"`
	Paths      []string `json:"paths"`
	Recipients []string `json:"recipients"`
	Outcome    string   `json:"outcome"`
}

// auditState is what a run collects for its audit lines.
type auditState struct {
	mu   sync.Mutex
	used []string // the keys that opened data keys, "type identity"
}

func (a *app) auditPath() string {
	if a.global.auditLog != "" {
		return a.global.auditLog
	}
	return a.getenv("KURA_AUDIT_LOG")
}

// keySources returns the key sources, recording which keys open files
// when there is an audit log.
func (a *app) keySources() map[keys.Type]keys.Unwrapper {
	return a.keySourcesFor(&a.auditing)
}

// keySourcesFor records into st: commands that open files in parallel
// give each file its own.
func (a *app) keySourcesFor(st *auditState) map[keys.Type]keys.Unwrapper {
	src := a.unwrappers()
	if a.auditPath() == "" {
		return src
	}
	out := make(map[keys.Type]keys.Unwrapper, len(src))
	for t, u := range src {
		out[t] = recordingUnwrapper{u, st}
	}
	return out
}

type recordingUnwrapper struct {
	keys.Unwrapper
	st *auditState
}

func (r recordingUnwrapper) Unwrap(s *keys.Stanza) ([]byte, error) {
	p, err := r.Unwrapper.Unwrap(s)
	if err == nil {
		r.st.mu.Lock()
		r.st.used = append(r.st.used, string(s.Type)+" "+s.Identity())
		r.st.mu.Unlock()
	}
	return p, err
}

// audit appends a line for one file, with the keys the run's key sources
// recorded. l may be nil when the file could not be opened; paths nil
// means the whole file.
func (a *app) audit(command, file, outcome string, l *loaded, paths ...string) {
	a.auditWith(&a.auditing, command, file, outcome, l, paths...)
}

// auditWith is audit with the keys recorded in st.
func (a *app) auditWith(st *auditState, command, file, outcome string, l *loaded, paths ...string) {
	path := a.auditPath()
	if path == "" {
		return
	}
	if abs, err := filepath.Abs(file); err == nil && file != "" {
		file = abs
	}
	if len(paths) == 0 {
		paths = []string{"*"}
	}
	rec := auditRecord{
		Time:       time.Now().UTC().Format(time.RFC3339),
		Host:       hostname(),
		User:       userName(),
		Command:    command,
		File:       file,
		Paths:      paths,
		Recipients: []string{},
		Outcome:    outcome,
	}
	st.mu.Lock()
	if l != nil {
		rec.Recipients = append(rec.Recipients, st.used...)
	}
	st.used = nil
	st.mu.Unlock()
	line, err := json.Marshal(rec)
	if err != nil {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		a.warnf("cannot write the audit log %s: %v", path, unwrapPathError(err))
		return
	}
	defer f.Close()
	// One write per line: appends from concurrent runs do not interleave.
	if _, err := f.Write(append(line, '\n')); err != nil {
		a.warnf("cannot write the audit log %s: %v", path, err)
	}
}

// auditOutcome is an outcome for the log: "ok", or the exit code and the
// error's first line (errors never hold values).
func auditOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	return "error " + itoa(int(sopsfile.CodeOf(err))) + ": " + firstLine(err)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

func userName() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
