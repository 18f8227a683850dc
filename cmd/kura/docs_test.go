//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	"github.com/kura-secrets/kura/internal/fakecloud/azfake"
	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	smfake "github.com/kura-secrets/kura/internal/fakecloud/secretsmanager"
	"github.com/kura-secrets/kura/internal/fakecloud/vaultfake"
	"github.com/kura-secrets/kura/internal/fakecloud/vaultkv"
)

// TestDocs runs every command the documentation shows: the fenced blocks
// of README.md, docs/*.md and examples/*/README.md.
//
// Which blocks run:
//
//   - ```sh (or bash, shell) blocks are shell scripts;
//   - those and untagged blocks whose lines start with "$ " are console
//     sessions: the text after each "$ " is a command, the other lines its
//     output;
//   - a YAML block after <!-- test: steps --> is a CI pipeline (GitHub
//     Actions or GitLab CI): its run: steps or script: lines run, in order,
//     with the pipeline's variables.
//
// Each document runs in a sandbox of its own, as one shell session: its
// blocks run in order, each in a new bash with -e and -o pipefail, in
// the working directory and with the exported variables the previous
// block ended with. The sandbox starts in an empty directory, with HOME
// an empty directory too, kura and kura-kms (this test binary) on PATH,
// SOPS_AGE_KEY_FILE naming a throwaway age key ($AGE_PUB is its
// recipient), GNUPGHOME holding the PGP test keys, the cloud key services
// and secret stores of internal/fakecloud on loopback, and stand-ins for
// the programs a sandbox cannot run for real (kubectl and docker, which
// need a cluster or a daemon, and $EDITOR, which changes one line): see
// docsStubs. Every command must exit 0, unless the block says otherwise.
//
// HTML comments just before a block (invisible on the rendered page)
// tell the test more about it:
//
//	<!-- test: setup
//	shell commands -->         run first, in the block's shell, unseen
//	<!-- test: file PATH -->   the block is the content of PATH: written there
//	<!-- test: exit N -->      the block must exit with status N
//	<!-- test: allow-exit N --> each command may exit with 0 or N (kura diff,
//	                           kura scan: 1 is an answer, not a failure)
//	<!-- test: background REGEXP -->  command lines matching REGEXP are servers:
//	                           started in the background, awaited until they
//	                           say "listening", stopped when the block ends
//	<!-- test: steps [except "NAME"...: REASON] -->  the YAML block is a
//	                           pipeline; the steps (GitHub) or script items
//	                           (GitLab) whose name or text contains a NAME are
//	                           only checked for syntax, for REASON
//	<!-- test: skip REASON --> not run, only checked by bash -n: for what no
//	                           sandbox can do (the network, the whole test
//	                           suite); the reason is required
//
// The examples name cloud keys and hosts a reader recognises
// (https://myvault.vault.azure.net, https://vault.example.com:8200, a
// fingerprint); docsSubstitutions maps those to the fakes before a block
// runs, and nothing else is changed.
func TestDocs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "git", "gpg", "kustomize", "sops"} {
		if awslocal.LookTool(tool) == "" {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	files, err := docFiles(repo)
	if err != nil {
		t.Fatal(err)
	}
	var docs []*doc
	for _, f := range files {
		d, err := parseDocFile(repo, f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}

	env := newDocsEnv(t, repo)
	var mu sync.Mutex
	var stats docStats
	t.Cleanup(func() {
		t.Logf("docs: %d files, %d blocks run (%d commands), %d files written, %d blocks checked for syntax only",
			stats.files, stats.blocks, stats.commands, stats.written, len(stats.skipped))
		for _, s := range stats.skipped {
			t.Logf("  not run: %s", s)
		}
	})
	t.Run("files", func(t *testing.T) {
		for _, d := range docs {
			t.Run(strings.ReplaceAll(d.name, "/", "_"), func(t *testing.T) {
				t.Parallel()
				var s docStats
				defer func() {
					mu.Lock()
					stats.add(s)
					mu.Unlock()
				}()
				env.runDoc(t, d, &s)
			})
		}
	})
}

// docFiles lists the documents TestDocs reads, relative to the repository.
func docFiles(repo string) ([]string, error) {
	files := []string{"README.md"}
	for _, pattern := range []string{"docs/*.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		for _, p := range m {
			rel, _ := filepath.Rel(repo, p)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	return files, nil
}

type doc struct {
	name   string // path relative to the repository
	blocks []*docBlock
}

type docBlock struct {
	line  int    // line of the opening fence, from 1
	info  string // the info string, such as "sh"
	body  string
	dirs  []docDirective
	where string // "README.md:12"
}

type docDirective struct {
	kind, arg string
}

func (b *docBlock) directive(kind string) (docDirective, bool) {
	for _, d := range b.dirs {
		if d.kind == kind {
			return d, true
		}
	}
	return docDirective{}, false
}

var (
	fenceRe     = regexp.MustCompile("^( *)(```+|~~~+)\\s*(.*)$")
	directiveRe = regexp.MustCompile(`(?s)^<!--\s*test:\s*(\S+)\s*(.*?)\s*-->$`)
	knownDirs   = map[string]bool{"setup": true, "file": true, "exit": true, "allow-exit": true, "background": true, "steps": true, "skip": true}
)

// parseDocFile reads the fenced blocks of a Markdown file and the test
// directives before each.
func parseDocFile(repo, name string) (*doc, error) {
	data, err := os.ReadFile(filepath.Join(repo, name))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	d := &doc{name: name}
	var pending []docDirective
	pendingLine := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "<!--") && regexp.MustCompile(`^<!--\s*test:`).MatchString(trimmed) {
			start := i
			text := trimmed
			for !strings.HasSuffix(strings.TrimSpace(text), "-->") {
				i++
				if i == len(lines) {
					return nil, fmt.Errorf("%s:%d: unterminated test directive", name, start+1)
				}
				text += "\n" + lines[i]
			}
			m := directiveRe.FindStringSubmatch(strings.TrimSpace(text))
			if m == nil || !knownDirs[m[1]] {
				return nil, fmt.Errorf("%s:%d: unknown test directive %q", name, start+1, text)
			}
			if m[1] == "skip" && m[2] == "" {
				return nil, fmt.Errorf("%s:%d: a skip directive needs a reason", name, start+1)
			}
			pending = append(pending, docDirective{m[1], m[2]})
			pendingLine = start + 1
			continue
		}
		m := fenceRe.FindStringSubmatch(line)
		if m == nil {
			if trimmed != "" && len(pending) > 0 {
				return nil, fmt.Errorf("%s:%d: a test directive must come just before a fenced block", name, pendingLine)
			}
			continue
		}
		indent, fence := len(m[1]), m[2]
		info := ""
		if f := strings.Fields(m[3]); len(f) > 0 {
			info = f[0]
		}
		blk := &docBlock{line: i + 1, info: info, dirs: pending, where: fmt.Sprintf("%s:%d", name, i+1)}
		pending = nil
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			l := lines[i]
			if strings.TrimSpace(l) != "" && strings.HasPrefix(strings.TrimSpace(l), fence[:3]) &&
				strings.Trim(strings.TrimSpace(l), fence[:1]) == "" && len(strings.TrimSpace(l)) >= len(fence) {
				closed = true
				break
			}
			// Remove the fence's indentation.
			n := 0
			for n < indent && n < len(l) && l[n] == ' ' {
				n++
			}
			body = append(body, l[n:])
		}
		if !closed {
			return nil, fmt.Errorf("%s:%d: unterminated fenced block", name, blk.line)
		}
		blk.body = strings.Join(body, "\n") + "\n"
		d.blocks = append(d.blocks, blk)
	}
	if len(pending) > 0 {
		return nil, fmt.Errorf("%s:%d: a test directive must come just before a fenced block", name, pendingLine)
	}
	return d, nil
}

// kind says what TestDocs does with a block: "script", "console",
// "steps", "file" or "" (nothing: an example of output or of a file).
func (b *docBlock) kind() string {
	if _, ok := b.directive("file"); ok {
		return "file"
	}
	if _, ok := b.directive("steps"); ok {
		return "steps"
	}
	prompts := false
	for _, l := range strings.Split(b.body, "\n") {
		if strings.HasPrefix(l, "$ ") {
			prompts = true
		}
	}
	switch b.info {
	case "sh", "bash", "shell", "", "console", "text":
		if prompts {
			return "console"
		}
		if b.info == "sh" || b.info == "bash" || b.info == "shell" {
			return "script"
		}
	}
	return ""
}

// consoleScript gives the commands of a console block: the text after
// each "$ ", with the lines a trailing backslash continues.
func consoleScript(body string) string {
	var out []string
	cont := false
	for _, l := range strings.Split(body, "\n") {
		switch {
		case cont:
			out = append(out, l)
		case strings.HasPrefix(l, "$ "):
			out = append(out, strings.TrimPrefix(l, "$ "))
		default:
			continue
		}
		cont = strings.HasSuffix(l, "\\")
	}
	return strings.Join(out, "\n") + "\n"
}

// commandLines splits a script into its commands: lines joined where a
// trailing backslash continues them, without blank lines and comments.
// Heredoc bodies are kept with the command that starts them.
func commandLines(script string) []string {
	var cmds []string
	var cur strings.Builder
	heredoc := ""
	for _, l := range strings.Split(script, "\n") {
		if heredoc != "" {
			cur.WriteString("\n" + l)
			if strings.TrimSpace(l) == heredoc {
				cmds = append(cmds, cur.String())
				cur.Reset()
				heredoc = ""
			}
			continue
		}
		t := strings.TrimSpace(l)
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur.Len() > 0 {
			cur.WriteString("\n")
		}
		cur.WriteString(l)
		if m := heredocRe.FindStringSubmatch(l); m != nil {
			heredoc = m[1]
			continue
		}
		if strings.HasSuffix(l, "\\") {
			continue
		}
		cmds = append(cmds, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		cmds = append(cmds, cur.String())
	}
	return cmds
}

var heredocRe = regexp.MustCompile(`<<-?\s*['"]?([A-Za-z_]+)['"]?`)

type docStats struct {
	files, blocks, commands, written int
	skipped                          []string
}

func (s *docStats) add(o docStats) {
	s.files += o.files
	s.blocks += o.blocks
	s.commands += o.commands
	s.written += o.written
	s.skipped = append(s.skipped, o.skipped...)
	sort.Strings(s.skipped)
}

// docsEnv is what every document's sandbox shares: the fakes, the stand-in
// programs, the PGP keys.
type docsEnv struct {
	repo          string
	env           map[string]string // the fakes' variables and more
	subst         []docsSubstitution
	stubs         string
	gnupg         string
	pgpFpr        string
	secondAgePub  string
	secondAgeFile string
}

type docsSubstitution struct {
	re   *regexp.Regexp
	with string
}

func newDocsEnv(t *testing.T, repo string) *docsEnv {
	t.Helper()
	e := &docsEnv{repo: repo, env: map[string]string{}}
	dir := t.TempDir()
	start := time.Now()
	defer func() { t.Logf("docs: sandbox services ready in %v", time.Since(start).Round(time.Millisecond)) }()

	// The cloud key services, and the secret stores kura publish writes to.
	aws := awslocal.Start(t)
	if err := aws.AddAlias("alias/app", awslocal.KeyID); err != nil {
		t.Fatal(err)
	}
	aws.AddCredentials(smfake.AccessKeyID, smfake.SecretAccessKey)
	sm := smfake.Start(t)
	gcp := gcpfake.Start(t)
	gcp.AddKey("projects/p/locations/global/keyRings/r/cryptoKeys/k")
	az := azfake.Start(t)
	az.AddKey("sops")
	transit := vaultfake.Start(t)
	transit.AddKey("transit", "app")
	kv := vaultkv.Start(t)
	kv.Token = transit.Token
	// One Vault address for both: transit to one fake, KV to the other.
	vault := httptest.NewServer(vaultMux(t, transit.Address, kv.Address))
	t.Cleanup(vault.Close)

	gcpCert, err := os.ReadFile(gcp.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "fakes-ca.pem")
	if err := os.WriteFile(bundle, append(append(gcpCert, '\n'), az.CertPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	var noProxy []string
	for _, list := range [][]string{aws.Env(), sm.Env(), gcp.Env(), az.Env(), kv.Env()} {
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case strings.EqualFold(k, "NO_PROXY"):
				noProxy = append(noProxy, v)
				continue
			case k == "SSL_CERT_FILE":
				v = bundle
			case k == "AWS_ENDPOINT_URL" && e.env[k] != "":
				continue // AWS_ENDPOINT_URL_* name each service
			}
			e.env[k] = v
		}
	}
	e.env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = sm.Endpoint
	e.env["AWS_ACCESS_KEY_ID"] = smfake.AccessKeyID
	e.env["AWS_SECRET_ACCESS_KEY"] = smfake.SecretAccessKey
	e.env["VAULT_ADDR"] = vault.URL
	e.env["NO_PROXY"] = strings.Join(noProxy, ",")
	e.env["no_proxy"] = e.env["NO_PROXY"]
	e.env["KURA_KMS_TIMEOUT"] = "10s"

	port := freePort(t)
	e.subst = []docsSubstitution{
		{regexp.MustCompile(`https://myvault\.vault\.azure\.net`), az.VaultURL()},
		{regexp.MustCompile(`https://vault\.example\.com:8200`), vault.URL},
		{regexp.MustCompile(`/run/user/1000`), "$XDG_RUNTIME_DIR"},
		{regexp.MustCompile(`unix:///path/ks\.sock`), "unix://$DOCS_STATE/ks.sock"},
		// The key service examples listen on port 5000 of a host named
		// keys.example.com: a free loopback port here.
		{regexp.MustCompile(`0\.0\.0\.0:5000`), "127.0.0.1:" + port},
		{regexp.MustCompile(`keys\.example\.com:5000`), "localhost:" + port},
		{regexp.MustCompile(`keys\.example\.com`), "localhost"},
	}

	// PGP: the test keys in a GnuPG home of their own. The examples'
	// fingerprint is the first test key's.
	keys := filepath.Join(repo, "testdata", "keys")
	e.gnupg = filepath.Join(dir, "gnupg")
	if err := os.Mkdir(e.gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	gpg := exec.Command("gpg", "--batch", "--quiet", "--import", filepath.Join(keys, "pgp1.sec.asc"), filepath.Join(keys, "pgp2.sec.asc"))
	gpg.Env = append(os.Environ(), "GNUPGHOME="+e.gnupg)
	if out, err := gpg.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+e.gnupg)
		kill.Run()
	})
	fpr, err := os.ReadFile(filepath.Join(keys, "pgp1.fingerprint"))
	if err != nil {
		t.Fatal(err)
	}
	e.pgpFpr = strings.TrimSpace(string(fpr))
	e.subst = append(e.subst, docsSubstitution{regexp.MustCompile(`85D77543B3D624B63CEA9E6DBC17301B491B3F21`), e.pgpFpr})

	// A second age key, the "old" one of the examples that remove a key.
	e.secondAgeFile = filepath.Join(keys, "age2.txt")
	pub, err := os.ReadFile(filepath.Join(keys, "age2.pub"))
	if err != nil {
		t.Fatal(err)
	}
	e.secondAgePub = strings.TrimSpace(string(pub))
	e.stubs = docsStubs(t, dir)
	return e
}

// vaultMux sends the transit engine's requests to one fake Vault and all
// others (KV, mounts) to the other.
func vaultMux(t *testing.T, transit, kv string) http.Handler {
	tu, err := url.Parse(transit)
	if err != nil {
		t.Fatal(err)
	}
	ku, err := url.Parse(kv)
	if err != nil {
		t.Fatal(err)
	}
	tp, kp := httputil.NewSingleHostReverseProxy(tu), httputil.NewSingleHostReverseProxy(ku)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/transit/") {
			tp.ServeHTTP(w, r)
			return
		}
		kp.ServeHTTP(w, r)
	})
}

// docsStubs writes the stand-ins for programs a sandbox cannot run for
// real, and returns their directory, which goes first on PATH:
//
//   - kubectl and docker read what kura hands them (standard input, the
//     file after --kubeconfig or --env-file) and check that it is there;
//     they need a cluster and a daemon;
//   - docs-editor, the sandbox's $EDITOR, sets the key docs_test_edit (a
//     line DOCS_TEST_EDIT= in dotenv files) to a new value, as a person
//     changing one value would;
//   - age-keygen and jq, only when they are not installed: age-keygen is
//     built from the module's own tool dependency; jq prints its file.
func docsStubs(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "stubs")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("kubectl", `#!/bin/sh
# TestDocs's kubectl: no cluster; it checks what it is given.
echo "kubectl (test stand-in): $*" >&2
prev=
for a in "$@"; do
	case "$prev" in --kubeconfig) grep -q '^kind: Config' "$a" || { echo "kubectl: $a is no kubeconfig" >&2; exit 1; };; esac
	case "$a" in --from-file=*) f=${a#--from-file=}; f=${f#*=}; test -s "$f" || { echo "kubectl: $f is empty" >&2; exit 1; };; esac
	prev=$a
done
case " $* " in
*" -f - "*) in=$(cat); printf '%s\n' "$in" | grep -q '^kind: ' || { echo "kubectl: no Kubernetes object on standard input" >&2; exit 1; };;
esac
exit 0
`)
	write("docker", `#!/bin/sh
# TestDocs's docker: no daemon; it reads the --env-file it is given.
echo "docker (test stand-in): $*" >&2
prev=
for a in "$@"; do
	case "$prev" in --env-file) grep -q = "$a" || { echo "docker: $a holds no variable" >&2; exit 1; };; esac
	prev=$a
done
`)
	write("docs-editor", `#!/bin/sh
# TestDocs's $EDITOR: changes one value of the file it is given (its last argument).
for f; do :; done
stamp=$(date +%s%N)
case "$f" in
*.env) sed -i '/^DOCS_TEST_EDIT=/d' "$f"; echo "DOCS_TEST_EDIT=$stamp" >> "$f";;
*.json) sed -i '0,/{/s//{"docs_test_edit": "'"$stamp"'",/' "$f";;
*) sed -i '/^docs_test_edit:/d' "$f"; echo "docs_test_edit: \"$stamp\"" >> "$f";;
esac
`)
	if _, err := exec.LookPath("age-keygen"); err != nil {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "age-keygen"), "filippo.io/age/cmd/age-keygen")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building age-keygen: %v\n%s", err, out)
		}
	}
	if _, err := exec.LookPath("jq"); err != nil {
		write("jq", "#!/bin/sh\n# TestDocs's jq, as jq is not installed: prints its file.\nfor f; do :; done\ncat \"$f\"\n")
	}
	return bin
}

// runDoc runs one document's blocks in its sandbox.
func (e *docsEnv) runDoc(t *testing.T, d *doc, stats *docStats) {
	stats.files = 1
	root := t.TempDir()
	dirs := map[string]string{}
	for _, n := range []string{"home", "work", "state", "tmp", "run"} {
		dirs[n] = filepath.Join(root, n)
		if err := os.Mkdir(dirs[n], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dirs["state"], "age.txt")
	keyText := fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := os.WriteFile(keyFile, []byte(keyText), 0o600); err != nil {
		t.Fatal(err)
	}
	gitconfig := "[user]\n\tname = Docs Test\n\temail = docs@example.invalid\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(filepath.Join(dirs["home"], ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{}
	for k, v := range e.env {
		env[k] = v
	}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOTOOLCHAIN", "GOPROXY"} {
		if v := goEnv(t, k); v != "" {
			env[k] = v
		}
	}
	for k, v := range map[string]string{
		"PATH":                 e.stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME":                 dirs["home"],
		"TMPDIR":               dirs["tmp"],
		"XDG_RUNTIME_DIR":      dirs["run"],
		"LANG":                 "C.UTF-8",
		"TERM":                 "dumb",
		"GIT_CONFIG_NOSYSTEM":  "1",
		"GNUPGHOME":            e.gnupg,
		"EDITOR":               "docs-editor",
		"SOPS_AGE_KEY_FILE":    keyFile,
		"AGE_PUB":              id.Recipient().String(),
		"AGE_OLD_PUB":          e.secondAgePub,
		"AGE_OLD_KEY_FILE":     e.secondAgeFile,
		"PGP_FPR":              e.pgpFpr,
		"REPO":                 e.repo,
		"DOCS_STATE":           dirs["state"],
		"SOPS_AGE_KEY_CONTENT": keyText,
	} {
		env[k] = v
	}
	subst := append([]docsSubstitution{
		// Placeholders for age recipients (age1..., age1old...) in
		// commands: the sandbox's key, and the second test key for the
		// "old" one.
		{regexp.MustCompile(`age1old\.\.\.`), e.secondAgePub},
		{regexp.MustCompile(`\bage1[a-z]*\.\.\.`), id.Recipient().String()},
	}, e.subst...)

	// The state a block leaves for the next: its directory and exports.
	cwdFile := filepath.Join(dirs["state"], "cwd")
	envFile := filepath.Join(dirs["state"], "env.sh")
	if err := os.WriteFile(cwdFile, []byte(dirs["work"]), 0o600); err != nil {
		t.Fatal(err)
	}
	var exports strings.Builder
	keysSorted := make([]string, 0, len(env))
	for k := range env {
		keysSorted = append(keysSorted, k)
	}
	sort.Strings(keysSorted)
	for _, k := range keysSorted {
		fmt.Fprintf(&exports, "export %s=%s\n", k, docsQuote(env[k]))
	}
	if err := os.WriteFile(envFile, []byte(exports.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	for i, b := range d.blocks {
		kind := b.kind()
		if kind == "" {
			continue
		}
		if kind == "file" {
			dir, _ := b.directive("file")
			cwd, err := os.ReadFile(cwdFile)
			if err != nil {
				t.Fatal(err)
			}
			p := dir.arg
			if !filepath.IsAbs(p) {
				p = filepath.Join(strings.TrimSpace(string(cwd)), p)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(substitute(subst, b.body)), 0o644); err != nil {
				t.Fatal(err)
			}
			stats.written++
			continue
		}
		var script string
		var skipped []string // parts only checked by bash -n
		switch kind {
		case "script":
			script = b.body
		case "console":
			script = consoleScript(b.body)
		case "steps":
			script, skipped, err = pipelineScript(b)
			if err != nil {
				t.Fatalf("%s: %v", b.where, err)
			}
		}
		if skip, ok := b.directive("skip"); ok {
			bashSyntax(t, b.where, script)
			stats.skipped = append(stats.skipped, fmt.Sprintf("%s (%d commands): %s", b.where, len(commandLines(script)), skip.arg))
			continue
		}
		for _, s := range skipped {
			bashSyntax(t, b.where, s)
		}
		if len(skipped) > 0 {
			dir, _ := b.directive("steps")
			stats.skipped = append(stats.skipped, fmt.Sprintf("%s (%d steps): %s", b.where, len(skipped), dir.arg))
		}
		cmds := commandLines(script)
		stats.blocks++
		stats.commands += len(cmds)
		if bg, ok := b.directive("background"); ok {
			re, err := regexp.Compile(bg.arg)
			if err != nil {
				t.Fatalf("%s: background: %v", b.where, err)
			}
			script = backgroundServers(cmds, re)
		}
		if ae, ok := b.directive("allow-exit"); ok {
			if _, err := strconv.Atoi(ae.arg); err != nil {
				t.Fatalf("%s: allow-exit %q", b.where, ae.arg)
			}
			script = allowExit(commandLines(script), ae.arg)
		}
		want := 0
		if ex, ok := b.directive("exit"); ok {
			if want, err = strconv.Atoi(ex.arg); err != nil {
				t.Fatalf("%s: exit %q", b.where, ex.arg)
			}
		}
		setup := ""
		if s, ok := b.directive("setup"); ok {
			setup = s.arg
		}
		full := fmt.Sprintf(docsPrelude, envFile, cwdFile, envFile, cwdFile) +
			"# setup\n" + substitute(subst, setup) + "\n" +
			"# " + b.where + "\n" + substitute(subst, script)
		name := filepath.Join(dirs["state"], fmt.Sprintf("block%02d.sh", i))
		if err := os.WriteFile(name, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-e", "-o", "pipefail", name)
		cmd.Env = []string{"PATH=" + env["PATH"], "HOME=" + env["HOME"]}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Stdin = nil
		cmd.WaitDelay = 5 * time.Second
		// A process group of its own, stopped with whatever the block
		// left running.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		began := time.Now()
		err = cmd.Run()
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		cancel()
		took := time.Since(began).Round(time.Millisecond)
		got := 0
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s: %v", b.where, err)
			}
			got = ee.ExitCode()
		}
		if got != want {
			t.Fatalf("%s: the block exited with status %d, want %d\n--- block ---\n%s--- output ---\n%s", b.where, got, want, substitute(subst, script), out.String())
		}
		if testing.Verbose() {
			t.Logf("%s: ok in %v\n%s", b.where, took, out.String())
		}
	}
}

// docsPrelude starts each block: the previous block's exports and
// directory, and, on exit, the same saved for the next one, and every
// background job stopped.
const docsPrelude = `. %s
cd "$(cat %s)"
trap 'st=$?; set +e; export -p > %s; pwd > %s; kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; exit $st' EXIT
docs_wait_listening() { # PID LOG: wait until the server says it listens
	for _ in $(seq 100); do
		grep -q listening "$2" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || { echo "server exited:"; cat "$2"; return 1; }
		sleep 0.1
	done
	echo "server did not start:"; cat "$2"; return 1
}
`

// backgroundServers rewrites a script so that the commands matching re
// run in the background until the block ends.
func backgroundServers(cmds []string, re *regexp.Regexp) string {
	var b strings.Builder
	for i, c := range cmds {
		if re.MatchString(strings.TrimSpace(c)) {
			log := fmt.Sprintf("\"$DOCS_STATE/server%d.log\"", i)
			fmt.Fprintf(&b, "{ exec %s\n} > %s 2>&1 &\ndocs_wait_listening $! %s\n", c, log, log)
			continue
		}
		b.WriteString(c + "\n")
	}
	return b.String()
}

// allowExit rewrites a script so that each command may exit with status
// 0 or code, as kura diff and kura scan do to give an answer.
func allowExit(cmds []string, code string) string {
	var b strings.Builder
	for _, c := range cmds {
		fmt.Fprintf(&b, "set +e\n{ %s\n}\ndocs_st=$?\nset -e\ncase $docs_st in 0|%s) ;; *) exit $docs_st;; esac\n", c, code)
	}
	return b.String()
}

// pipelineScript turns a CI pipeline of a YAML block into a script: the
// run: steps of a GitHub Actions workflow's jobs, or the before_script and
// script lines of a GitLab CI file's jobs, in order, each with the
// pipeline's variables; ${{ secrets.NAME }} and ${{ vars.NAME }} are the
// sandbox's variables of that name. It returns separately the steps the
// directive names after "except" (checked for syntax only).
func pipelineScript(b *docBlock) (string, []string, error) {
	dir, _ := b.directive("steps")
	var except []string
	if rest, ok := strings.CutPrefix(dir.arg, "except"); ok {
		names, reason, _ := strings.Cut(rest, ":")
		if strings.TrimSpace(reason) == "" {
			return "", nil, errors.New(`steps except "NAME"...: REASON: the reason is missing`)
		}
		rest = names
		for _, q := range regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(rest, -1) {
			except = append(except, q[1])
		}
	}
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(b.body), &root); err != nil {
		return "", nil, err
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return "", nil, errors.New("not a YAML mapping")
	}
	top := root.Content[0]
	exprRe := regexp.MustCompile(`\$\{\{\s*(?:secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
	var script strings.Builder
	var skipped []string
	excepted := func(s string) bool {
		for _, x := range except {
			if strings.Contains(s, x) {
				return true
			}
		}
		return false
	}
	exports := func(m *yaml.Node) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			v := exprRe.ReplaceAllString(m.Content[i+1].Value, "$${$1}")
			fmt.Fprintf(&script, "export %s=\"%s\"\n", m.Content[i].Value, v)
		}
	}
	used := 0
	if jobs := mapGet(top, "jobs"); jobs != nil { // GitHub Actions
		exports(mapGet(top, "env"))
		for j := 1; j < len(jobs.Content); j += 2 {
			job := jobs.Content[j]
			script.WriteString("(\n")
			exports(mapGet(job, "env"))
			steps := mapGet(job, "steps")
			if steps == nil {
				continue
			}
			for _, st := range steps.Content {
				run := mapGet(st, "run")
				if run == nil {
					continue
				}
				text := exprRe.ReplaceAllString(run.Value, "$${$1}")
				name := ""
				if n := mapGet(st, "name"); n != nil {
					name = n.Value
				}
				if excepted(name) {
					skipped = append(skipped, text)
					continue
				}
				used++
				script.WriteString("(\n")
				exports(mapGet(st, "env"))
				script.WriteString(text + "\n)\n")
			}
			script.WriteString(")\n")
		}
	} else { // GitLab CI: every mapping with a script is a job
		exports(mapGet(top, "variables"))
		for j := 0; j+1 < len(top.Content); j += 2 {
			name, job := top.Content[j].Value, top.Content[j+1]
			if strings.HasPrefix(name, ".") || job.Kind != yaml.MappingNode || mapGet(job, "script") == nil {
				continue
			}
			script.WriteString("(\n")
			exports(mapGet(job, "variables"))
			for _, part := range []string{"before_script", "script"} {
				lines := mapGet(job, part)
				if lines == nil {
					continue
				}
				for _, l := range lines.Content {
					if excepted(l.Value) {
						skipped = append(skipped, l.Value)
						continue
					}
					used++
					script.WriteString(l.Value + "\n")
				}
			}
			script.WriteString(")\n")
		}
	}
	if used == 0 {
		return "", nil, errors.New("a steps block with no step to run")
	}
	return script.String(), skipped, nil
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func substitute(subst []docsSubstitution, s string) string {
	for _, x := range subst {
		s = x.re.ReplaceAllLiteralString(s, x.with)
	}
	return s
}

// bashSyntax checks a script with bash -n.
func bashSyntax(t *testing.T, where, script string) {
	t.Helper()
	cmd := exec.Command("bash", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: bash -n: %v\n%s", where, err, out)
	}
}

func docsQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

var goEnvCache sync.Map

func goEnv(t *testing.T, name string) string {
	if v, ok := goEnvCache.Load(name); ok {
		return v.(string)
	}
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	v := strings.TrimSpace(string(out))
	goEnvCache.Store(name, v)
	return v
}

// TestDocsIndex checks that docs/README.md links every document of docs/
// and that the top-level README links docs/README.md.
func TestDocsIndex(t *testing.T) {
	repo := filepath.Join("..", "..")
	index, err := os.ReadFile(filepath.Join(repo, "docs", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		if name != "README.md" && !strings.Contains(string(index), "("+name+")") {
			t.Errorf("docs/README.md does not link %s", name)
		}
	}
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(docs/README.md)") {
		t.Error("README.md does not link docs/README.md")
	}
}
