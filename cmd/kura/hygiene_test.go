package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kura-secrets/kura/internal/secrethook"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

// The secrets-hygiene check (docs/security.md, "Secrets hygiene"). Every
// script of TestScript and TestKeySourceScripts runs with
// KURA_TEST_HYGIENE naming a directory outside $WORK that holds the
// script's known secrets, one JSON record a line:
//
//   - every string value and comment of at least minSecretLen bytes in
//     the plaintext YAML, JSON, dotenv, INI and TOML files of the script's
//     archive (what the script encrypts),
//   - the age identities (AGE-SECRET-KEY-1..., upper and lower case) of
//     ../../testdata/keys and of the archive, the base64 lines of the
//     PGP secret keys that are not in the public keys, the lines of PEM
//     private keys,
//   - what the script adds: the values mkvalues writes, the SSH keys
//     sshkeygen makes, and the key-source scripts' cloud credentials.
//
// The kura that the scripts run (kuraUnderTest, whichever way a script
// starts it: directly, with exitcode, killafter, within, Git or
// kustomize) also records every data key, Shamir share and MAC it makes,
// recovers or decrypts (internal/secrethook), and takes the value of set
// as a secret. After it ran it checks, in every encoding of a key (raw,
// base64, Go's %v, a hex prefix), that none of those secrets is in
//
//   - its standard error, whatever the exit code (errors, warnings, hints,
//     a panic's report),
//   - its standard output when it failed (except the answer 1 of diff,
//     scan and git merge, which print what they compared),
//   - the audit log, if the run had one (every line, on success too),
//   - the report of a crash no recover caught (checkCrashes).
//
// A leak is appended to the directory's leaks file, and the script
// fails when it ends (hygieneDone).
const hygieneVar = "KURA_TEST_HYGIENE"

// minSecretLen is the shortest archive value taken as a secret: shorter
// ones (true, 5432, admin) are also words of messages and paths.
const minSecretLen = 6

// secretRecord is a line of the secrets file.
type secretRecord struct {
	V    string `json:"v"`
	From string `json:"from"`
}

// setupHygiene collects the archive's secrets; run it before anything
// else writes into $WORK. extra are the runner's own secrets.
func setupHygiene(e *testscript.Env, keysDir string, extra []secretRecord) error {
	dir, err := os.MkdirTemp("", "kura-hygiene-")
	if err != nil {
		return err
	}
	recs, err := archiveSecrets(e.WorkDir)
	if err != nil {
		return err
	}
	kr, err := keyDirSecrets(keysDir)
	if err != nil {
		return err
	}
	recs = append(append(recs, kr...), extra...)
	if err := appendSecrets(dir, recs); err != nil {
		return err
	}
	e.Setenv(hygieneVar, dir)
	t := e.T()
	e.Defer(func() { hygieneDone(t, dir) })
	return nil
}

// hygieneDone fails the script for every leak its kura runs reported,
// and for a secret in what a crashed kura printed.
func hygieneDone(t testscript.T, dir string) {
	defer os.RemoveAll(dir)
	checkCrashes(dir)
	b, err := os.ReadFile(filepath.Join(dir, "leaks"))
	if err != nil {
		return
	}
	msg := "secrets hygiene: a secret reached kura's output:\n" + string(b)
	if te, ok := t.(interface{ Errorf(string, ...any) }); ok {
		te.Errorf("%s", msg)
		return
	}
	t.Fatal(msg)
}

// checkCrashes reports a secret in the crash output a kura left: the
// lines "key HEX" it wrote itself, then what the runtime wrote.
func checkCrashes(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "crash-*"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		secrets, err := loadSecrets(dir)
		if err != nil {
			reportLeak(dir, nil, -1, fmt.Sprintf("cannot read the secrets: %v", err))
			return
		}
		var report []byte
		for _, line := range bytes.SplitAfter(b, []byte("\n")) {
			if h, ok := bytes.CutPrefix(line, []byte("key ")); ok {
				if k, err := hex.DecodeString(string(bytes.TrimSpace(h))); err == nil {
					secrets = append(secrets, keyEncodings(k)...)
					continue
				}
			}
			report = append(report, line...)
		}
		for _, s := range secrets {
			if bytes.Contains(report, []byte(s.V)) {
				reportLeak(dir, []string{"(crashed, " + filepath.Base(name) + ")"}, 2, fmt.Sprintf("the crash report holds the %s %q", s.From, abbrev(s.V)))
				break
			}
		}
	}
}

// appendSecrets adds records to the secrets file.
func appendSecrets(dir string, recs []secretRecord) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "secrets"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// addScriptSecrets adds secrets a script command made, for the kura runs
// that follow.
func addScriptSecrets(ts *testscript.TestScript, from string, values ...string) {
	dir := ts.Getenv(hygieneVar)
	if dir == "" {
		return
	}
	recs := make([]secretRecord, 0, len(values))
	for _, v := range values {
		recs = append(recs, secretRecord{V: v, From: from})
	}
	ts.Check(appendSecrets(dir, recs))
}

var (
	ageIdentity = regexp.MustCompile(`(?i)AGE-SECRET-KEY-1[0-9A-Z]+`)
	pemPrivate  = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----\n(.*?)-----END `)
)

// keyMaterial returns the age identities and the lines of PEM and
// armored private keys in text, less the lines of public (public keys,
// whose first lines an armored secret key repeats).
func keyMaterial(text, from string, public map[string]bool) []secretRecord {
	var out []secretRecord
	for _, id := range ageIdentity.FindAllString(text, -1) {
		out = append(out,
			secretRecord{strings.ToUpper(id), "age identity in " + from},
			secretRecord{strings.ToLower(id), "age identity in " + from})
	}
	for _, m := range pemPrivate.FindAllStringSubmatch(text, -1) {
		for _, line := range strings.Split(m[2], "\n") {
			line = strings.TrimSpace(line)
			if len(line) >= 16 && !strings.Contains(line, ":") && !strings.HasPrefix(line, "=") && !public[line] {
				out = append(out, secretRecord{line, "private key in " + from})
			}
		}
	}
	return out
}

// secretLines returns the private key lines of a PEM block.
func secretLines(pemKey []byte) []string {
	var out []string
	for _, r := range keyMaterial(string(pemKey), "", nil) {
		out = append(out, r.V)
	}
	return out
}

var (
	keyDirOnce sync.Once
	keyDirRecs []secretRecord
	keyDirErr  error
)

// keyDirSecrets returns the private key material of the test keys.
func keyDirSecrets(keysDir string) ([]secretRecord, error) {
	keyDirOnce.Do(func() {
		entries, err := os.ReadDir(keysDir)
		if err != nil {
			keyDirErr = err
			return
		}
		public := map[string]bool{}
		texts := map[string]string{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(keysDir, e.Name()))
			if err != nil {
				keyDirErr = err
				return
			}
			texts[e.Name()] = string(b)
			if strings.HasSuffix(e.Name(), ".pub.asc") {
				for _, line := range strings.Split(string(b), "\n") {
					public[strings.TrimSpace(line)] = true
				}
			}
		}
		for name, text := range texts {
			keyDirRecs = append(keyDirRecs, keyMaterial(text, "testdata/keys/"+name, public)...)
		}
	})
	return keyDirRecs, keyDirErr
}

// archiveSecrets returns the values of the plaintext files in dir (a
// script's archive, just extracted) and any key material in its files.
func archiveSecrets(dir string) ([]secretRecord, error) {
	var out []secretRecord
	a := &app{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		out = append(out, keyMaterial(string(b), rel, nil)...)
		f := format.FromPath(p)
		if f == format.Binary || sopsConfigName.MatchString(d.Name()) {
			return nil
		}
		st := a.store(f, &config.Config{}, false)
		if _, _, err := st.LoadEncrypted(b); err == nil {
			return nil // encrypted already: its values are not in the archive
		}
		docs, err := st.LoadPlain(b)
		if err != nil {
			return nil // not a file kura reads (expected output, bad input)
		}
		seen := map[string]bool{}
		for _, doc := range docs {
			if _, ok := tree.Get(doc, "creation_rules"); ok {
				continue // a .sops.yaml by another name
			}
			walkStrings("", tree.MapV(doc), func(key, s string) {
				s = strings.TrimSpace(s)
				if len(s) < minSecretLen || seen[s] || notSecret(key, s) {
					return
				}
				seen[s] = true
				out = append(out, secretRecord{s, "value in " + rel})
			})
		}
		return nil
	})
	return out, err
}

// sopsConfigName matches the names of sops configuration files
// (.sops.yaml, groups.sops.yaml...): their values are public keys and
// patterns.
var sopsConfigName = regexp.MustCompile(`(^|[.-])sops\.ya?ml$`)

// publicValue matches values that are public by nature and that kura
// names in messages by design: age recipients, PGP fingerprints, ARNs,
// SSH public keys, and file names.
var publicValue = regexp.MustCompile(`^(age1[0-9a-z]{58}|[0-9A-Fa-f]{40}|arn:\S+|ssh-\S+ \S+.*|\S+\.(ya?ml|json|env|ini|toml))$`)

// notSecret reports a value that is not a secret: one kura has not
// encrypted, a public one, or the kind and apiVersion of a Kubernetes
// object (Secret, v1).
func notSecret(key, s string) bool {
	return strings.HasPrefix(s, "ENC[") || publicValue.MatchString(s) || key == "kind" || key == "apiVersion"
}

// walkStrings calls f with every string value and comment below v, and
// the key it is under.
func walkStrings(key string, v tree.Value, f func(key, s string)) {
	switch v.Kind {
	case tree.String, tree.Comment:
		f(key, v.Str)
	case tree.Map:
		for _, it := range v.Items() {
			if it.IsComment() {
				f("", it.Key.Str)
				continue
			}
			walkStrings(it.Key.Str, it.Value, f)
		}
	case tree.List:
		for _, e := range v.Elems() {
			walkStrings(key, e, f)
		}
	}
}

// kuraUnderTest is the kura the scripts run: kura itself, and with
// KURA_TEST_HYGIENE set, the check of what it printed.
func kuraUnderTest() {
	dir := os.Getenv(hygieneVar)
	if dir == "" {
		main()
		return
	}
	args := os.Args[1:]
	if strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe") == krmProgram {
		args = append([]string{"krm"}, args...)
	}
	// A panic no recover catches (one in a goroutine of kura's own)
	// ends the process before the check below: the runtime also writes
	// it to crash, which hygieneDone checks, with the keys seen so far.
	crash, err := os.Create(filepath.Join(dir, fmt.Sprintf("crash-%d", os.Getpid())))
	if err == nil {
		debug.SetCrashOutput(crash, debug.CrashOptions{})
	}
	var mu sync.Mutex
	var keys [][]byte
	secrethook.Observe = func(b []byte) {
		if len(b) < 16 {
			return // no key; an empty MAC
		}
		mu.Lock()
		keys = append(keys, bytes.Clone(b))
		if crash != nil {
			fmt.Fprintf(crash, "key %x\n", b)
		}
		mu.Unlock()
	}
	stdout, stderr := &capture{w: os.Stdout}, &capture{w: os.Stderr}
	code := run(args, os.Stdin, stdout, stderr)
	secrethook.Observe = nil
	if crash != nil {
		debug.SetCrashOutput(nil, debug.CrashOptions{})
		crash.Close()
		os.Remove(crash.Name())
	}

	secrets, err := loadSecrets(dir)
	if err != nil {
		reportLeak(dir, args, code, fmt.Sprintf("cannot read the secrets: %v", err))
		os.Exit(code)
	}
	mu.Lock()
	for _, k := range keys {
		secrets = append(secrets, keyEncodings(k)...)
	}
	mu.Unlock()
	secrets = append(secrets, argSecrets(args)...)

	reported := map[string]bool{}
	check := func(what string, b []byte) {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s.V)) && !reported[what+s.V] {
				reported[what+s.V] = true
				reportLeak(dir, args, code, fmt.Sprintf("%s holds the %s %q", what, s.From, abbrev(s.V)))
			}
		}
	}
	check("standard error", stderr.bytes())
	if code != 0 && !answerCode(args, code) {
		check("standard output", stdout.bytes())
	}
	if p := auditLogOf(args); p != "" {
		if b, err := os.ReadFile(p); err == nil {
			check("audit log "+p, b)
		}
	}
	os.Exit(code)
}

// capture passes writes on and keeps the first maxCapture bytes.
type capture struct {
	w  io.Writer
	mu sync.Mutex
	b  []byte
}

const maxCapture = 8 << 20

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	if n := min(len(p), maxCapture-len(c.b)); n > 0 {
		c.b = append(c.b, p[:n]...)
	}
	c.mu.Unlock()
	return c.w.Write(p)
}

func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b
}

func loadSecrets(dir string) ([]secretRecord, error) {
	f, err := os.Open(filepath.Join(dir, "secrets"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []secretRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r secretRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
		// the same text as Go's %q or JSON would escape it
		if q := strconv.Quote(r.V); q[1:len(q)-1] != r.V {
			out = append(out, secretRecord{q[1 : len(q)-1], r.From + " (escaped)"})
		}
	}
	return out, sc.Err()
}

// keyEncodings returns the ways a data key, share or MAC could be
// printed, whole or the first 12 hex digits of it.
func keyEncodings(k []byte) []secretRecord {
	if _, err := hex.DecodeString(string(k)); err == nil && len(k) >= 24 {
		// a MAC, kept as 128 hex digits
		return []secretRecord{
			{strings.ToUpper(string(k[:12])), "MAC (hex prefix)"},
			{strings.ToLower(string(k[:12])), "MAC (hex prefix)"},
		}
	}
	h := hex.EncodeToString(k)
	return []secretRecord{
		{string(k), "data key or share (raw)"},
		{h[:min(len(h), 12)], "data key or share (hex prefix)"},
		{strings.ToUpper(h[:min(len(h), 12)]), "data key or share (HEX prefix)"},
		{base64.StdEncoding.EncodeToString(k), "data key or share (base64)"},
		{base64.RawStdEncoding.EncodeToString(k), "data key or share (base64)"},
		{base64.URLEncoding.EncodeToString(k), "data key or share (base64url)"},
		{fmt.Sprint(k), "data key or share (%v)"},
	}
}

// argSecrets returns the value a set command line gives.
func argSecrets(args []string) []secretRecord {
	cmd := commandOf(args)
	if cmd != "set" || len(args) == 0 {
		return nil
	}
	for _, a := range args {
		if a == "--value-stdin" || a == "--value-file" {
			return nil
		}
	}
	v := args[len(args)-1]
	out := []secretRecord{}
	if len(v) >= minSecretLen {
		out = append(out, secretRecord{v, "value set gives"})
	}
	var s string
	if json.Unmarshal([]byte(v), &s) == nil && len(s) >= minSecretLen && s != v {
		out = append(out, secretRecord{s, "value set gives"})
	}
	return out
}

// commandOf names the command a command line runs ("git merge" for a
// subcommand), "" for kura alone.
func commandOf(args []string) string {
	root := (&app{getenv: os.Getenv}).rootCommand()
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return ""
	}
	if p := c.Parent(); p != nil && p != root {
		return p.Name() + " " + c.Name()
	}
	return c.Name()
}

// answerCode reports an exit code that is an answer, not a failure: the 1
// of diff, scan and git merge, which print what they found.
func answerCode(args []string, code int) bool {
	switch commandOf(args) {
	case "diff", "scan", "git merge":
		return code == 1
	}
	return false
}

// auditLogOf returns the audit log a command line writes, if any.
func auditLogOf(args []string) string {
	p := os.Getenv("KURA_AUDIT_LOG")
	for i, a := range args {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--audit-log="); ok {
			p = v
		} else if a == "--audit-log" && i+1 < len(args) {
			p = args[i+1]
		}
	}
	return p
}

func reportLeak(dir string, args []string, code int, what string) {
	line := fmt.Sprintf("kura %s (exit %d): %s\n", strings.Join(args, " "), code, what)
	f, err := os.OpenFile(filepath.Join(dir, "leaks"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		f.WriteString(line)
		f.Close()
	}
	fmt.Fprint(os.Stderr, "kura-test: SECRET LEAK: "+line)
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// TestHygieneCheck shows that the check finds a leak: kura, run as the
// scripts run it, with a "secret" that its error message is bound to hold
// (the name of a missing file) reports it, and the script would fail.
// It also checks the helpers and that a panic's report holds neither the
// panic value nor argument words.
func TestHygieneCheck(t *testing.T) {
	const canary = "s3cr3t-hygiene-canary"
	dir := t.TempDir()
	if err := appendSecrets(dir, []secretRecord{{canary, "value in test"}}); err != nil {
		t.Fatal(err)
	}
	kura, err := exec.LookPath("kura")
	if err != nil {
		t.Fatalf("testscript did not put kura on PATH: %v", err)
	}
	cmd := exec.Command(kura, "decrypt", canary+".yaml")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), hygieneVar+"="+dir)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 100 {
		t.Fatalf("kura decrypt of a missing file: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("kura-test: SECRET LEAK")) {
		t.Errorf("the leak was not reported:\n%s", out)
	}
	ft := &fakeT{}
	hygieneDone(ft, dir)
	if !strings.Contains(ft.msg, "standard error holds the value in test") {
		t.Errorf("hygieneDone did not fail the script: %q", ft.msg)
	}

	if got := commandOf([]string{"git", "merge", "a", "b", "c"}); got != "git merge" {
		t.Errorf("commandOf(git merge ...) = %q", got)
	}
	if got := commandOf([]string{"--audit-log", "x", "decrypt", "f"}); got != "decrypt" {
		t.Errorf("commandOf(--audit-log x decrypt f) = %q", got)
	}
	if got := auditLogOf([]string{"decrypt", "--audit-log=a.log", "f"}); got != "a.log" {
		t.Errorf("auditLogOf = %q", got)
	}
	if got := argSecrets([]string{"set", "f.yaml", `["a"]`, `"n3w-pa55"`}); len(got) != 2 || got[1].V != "n3w-pa55" {
		t.Errorf("argSecrets = %q", got)
	}
	var stderr bytes.Buffer
	code := reportPanic(&stderr, canary)
	if code != 2 || bytes.Contains(stderr.Bytes(), []byte(canary)) || !bytes.Contains(stderr.Bytes(), []byte("kura: error: internal error")) {
		t.Errorf("reportPanic: exit %d, printed:\n%s", code, stderr.Bytes())
	}
	if bytes.Contains(stderr.Bytes(), []byte("(0x")) {
		t.Errorf("reportPanic printed argument words:\n%s", stderr.Bytes())
	}
}

// fakeT records the failure hygieneDone reports.
type fakeT struct {
	testscript.T
	msg string
}

func (f *fakeT) Errorf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }
