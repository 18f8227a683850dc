package pgp

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/format/ini"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/metadata"
	"github.com/kura-secrets/kura/pkg/tree"
)

// repo is the repository root, relative to this package.
const repo = "../../.."

func repoPath(rel string) string {
	return filepath.Join(repo, filepath.FromSlash(rel))
}

func readRepoFile(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testKey is one of the corpus's two OpenPGP keys.
type testKey struct {
	name    string
	fp      string // primary key fingerprint
	sub     string // encryption subkey fingerprint
	subID   string // its key ID
	secFile string
	pubFile string
}

var subkeys = map[string]string{
	"pgp1": "F12DFF9F978BE78D2DE6EEAFF41C8C3FB9E2B5B3",
	"pgp2": "C6C6884D52223B150E8A24D5E89635113D0EADF5",
}

func corpusKey(t testing.TB, name string) testKey {
	t.Helper()
	sub := subkeys[name]
	return testKey{
		name:    name,
		fp:      strings.TrimSpace(readRepoFile(t, "testdata/keys/"+name+".fingerprint")),
		sub:     sub,
		subID:   sub[len(sub)-16:],
		secFile: repoPath("testdata/keys/" + name + ".sec.asc"),
		pubFile: repoPath("testdata/keys/" + name + ".pub.asc"),
	}
}

// corpusStanza is one sops-written PGP stanza of the interop corpus, with
// what proves its payload right.
type corpusStanza struct {
	file         string
	st           keys.Stanza
	shamir       bool // the payload is a 33-byte share, not the data key
	mac          string
	lastModified string
}

// corpusStanzas reads every PGP stanza of the corpus, in YAML, JSON and
// INI files, except in the tampered cases.
var corpusStanzas = sync.OnceValues(func() ([]corpusStanza, error) {
	paths, err := filepath.Glob(repoPath("testdata/sops-interop/cases/*/encrypted.*"))
	if err != nil {
		return nil, err
	}
	var out []corpusStanza
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		if strings.HasPrefix(name, "tamper-") {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var meta []tree.Item
		switch filepath.Ext(p) {
		case ".yaml":
			_, meta, err = yaml.Store{}.LoadEncrypted(data)
		case ".json":
			_, meta, err = json.New(-1).LoadEncrypted(data)
		case ".ini":
			_, meta, err = ini.Store{}.LoadEncrypted(data)
		default:
			continue
		}
		if err != nil {
			continue // some cases are deliberately broken files
		}
		m, err := metadata.FromTree(meta)
		if err != nil {
			continue
		}
		for _, g := range m.KeyGroups {
			for _, st := range g {
				if st.Type != keys.PGP {
					continue
				}
				out = append(out, corpusStanza{
					file:         name + "/" + filepath.Base(p),
					st:           st,
					shamir:       len(m.KeyGroups) > 1,
					mac:          m.MAC,
					lastModified: m.LastModifiedText(),
				})
			}
		}
	}
	return out, nil
})

func allCorpusStanzas(t *testing.T) []corpusStanza {
	t.Helper()
	list, err := corpusStanzas()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 6 {
		t.Fatalf("only %d PGP stanzas found in the corpus", len(list))
	}
	return list
}

// checkPayload proves payload is what cs wraps: the data key opens the
// file's MAC (AES-256-GCM with lastmodified as additional data, which a
// wrong key cannot pass); a Shamir share has the share's length.
func checkPayload(t *testing.T, cs corpusStanza, payload []byte) {
	t.Helper()
	if cs.shamir {
		if len(payload) != 33 {
			t.Fatalf("%s: share of %d bytes, want 33", cs.file, len(payload))
		}
		return
	}
	c, err := cipher.New(payload)
	if err != nil {
		t.Fatalf("%s: data key: %v", cs.file, err)
	}
	if _, err := c.DecryptMAC(cs.mac, cs.lastModified); err != nil {
		t.Fatalf("%s: the unwrapped key does not open the MAC: %v", cs.file, err)
	}
}

// requireGPG skips a test that needs gpg when there is none, except in CI,
// where gpg must be installed and its absence fails the test.
func requireGPG(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("gpg is required in CI: %v", err)
		}
		t.Skipf("gpg not installed: %v", err)
	}
}

// The GnuPG homes made by gnupgHome, shared by the tests (an import and an
// agent start take a while) and removed by TestMain.
var (
	homesMu sync.Mutex
	homes   = map[string]string{}
)

// gnupgHome returns a GnuPG home holding the named test keys (or the keys
// in the named .asc files), imported with the real gpg. Its path is short: gpg-agent's socket lives in it.
func gnupgHome(t testing.TB, names ...string) string {
	t.Helper()
	requireGPG(t)
	homesMu.Lock()
	defer homesMu.Unlock()
	id := strings.Join(names, "+")
	if dir, ok := homes[id]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "kgpg")
	if err != nil {
		t.Fatal(err)
	}
	homes[id] = dir
	for _, n := range names {
		file := n // a key file, or the name of a corpus key
		if !strings.HasSuffix(n, ".asc") {
			file = corpusKey(t, n).secFile
		}
		if out, err := gpgCommand(dir, nil, "--batch", "--import", file).CombinedOutput(); err != nil {
			t.Fatalf("importing %s: %v\n%s", n, err, out)
		}
	}
	return dir
}

// removeHomes stops the agents of the test GnuPG homes and deletes them.
func removeHomes() {
	homesMu.Lock()
	defer homesMu.Unlock()
	for _, dir := range homes {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = isolatedEnv([]string{GnuPGHomeEnv + "=" + dir})
		_ = cmd.Run()
		os.RemoveAll(dir)
	}
}

// gpgCommand is a gpg command on home, isolated from the user's own.
func gpgCommand(home string, stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.Command("gpg", args...)
	cmd.Env = isolatedEnv([]string{GnuPGHomeEnv + "=" + home})
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

// isolatedEnv is a process environment with nothing of the user's but
// PATH, plus extra.
func isolatedEnv(extra []string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}, extra...)
}

// isolatedRun is Env.Run for tests: RunCommand with an environment that
// holds nothing of the user's, so that no test can reach a real keyring.
func isolatedRun(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = isolatedEnv(extraEnv)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// vars is an environment for tests: only what is listed is set.
func vars(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// missingGPG is a SOPS_GPG_EXEC that does not exist.
func missingGPG(t testing.TB) string {
	return filepath.Join(t.TempDir(), "no-such-gpg")
}

// gpgEnv is an Env with gpg on home and the given extra variables.
func gpgEnv(t testing.TB, home string, kv ...string) Env {
	return Env{
		Getenv:  vars(append([]string{GnuPGHomeEnv, home}, kv...)...),
		HomeDir: t.TempDir(),
		Run:     isolatedRun,
	}
}

// goEnv is an Env without gpg, with the given extra variables.
func goEnv(t testing.TB, kv ...string) Env {
	return Env{
		Getenv:  vars(append([]string{GPGExecEnv, missingGPG(t), GnuPGHomeEnv, t.TempDir()}, kv...)...),
		HomeDir: t.TempDir(),
		Run:     isolatedRun,
	}
}

// countingRun wraps a Run and counts the runs.
func countingRun(run func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error), n *int) func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
	return func(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
		*n++
		return run(argv, extraEnv, stdin)
	}
}

// fakeTerminal answers prompts from a script and records them.
type fakeTerminal struct {
	mu      sync.Mutex
	answers []string
	prompts []string
}

func (f *fakeTerminal) ReadSecret(prompt string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, prompt)
	if len(f.answers) == 0 {
		return nil, io.EOF
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}

// mustNoIdentity fails unless err wraps keys.ErrNoIdentity.
func mustNoIdentity(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, keys.ErrNoIdentity) {
		t.Fatalf("error %v, want one wrapping ErrNoIdentity", err)
	}
}

// mustPlainError fails unless err is an error that does not claim
// ErrNoIdentity.
func mustPlainError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if errors.Is(err, keys.ErrNoIdentity) {
		t.Fatalf("error %v wraps ErrNoIdentity", err)
	}
}

// oneLine fails unless msg fits on one line.
func oneLine(t testing.TB, msg string) {
	t.Helper()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error message on several lines: %q", msg)
	}
}

func writeFile(t testing.TB, path string, content []byte) string {
	t.Helper()
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
