package age

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kura-secrets/kura/pkg/keys"
)

// repo is the repository root, relative to this package.
const repo = "../../.."

func readRepoFile(t testing.TB, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The two test identities of the corpus.
type testKey struct {
	name      string
	recipient string // age1….pub, trimmed
	file      string // path of the identity file (age-keygen output)
	identity  string // the AGE-SECRET-KEY-1… line
}

func corpusKey(t testing.TB, name string) testKey {
	t.Helper()
	text := readRepoFile(t, "testdata/keys/"+name+".txt")
	k := testKey{
		name:      name,
		recipient: strings.TrimSpace(readRepoFile(t, "testdata/keys/"+name+".pub")),
		file:      filepath.Join(repo, "testdata", "keys", name+".txt"),
	}
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "AGE-SECRET-KEY-1") {
			k.identity = strings.TrimSpace(line)
		}
	}
	if k.identity == "" {
		t.Fatalf("no identity in %s", k.file)
	}
	return k
}

// corpusFile is the part of a sops-written encrypted.yaml these tests use.
type corpusFile struct {
	name         string
	stanzas      []keys.Stanza // every age stanza, in flat lists or key groups
	groups       bool          // Shamir key groups: payloads are shares
	mac          string
	lastmodified string
}

type yamlAge struct {
	Enc       string `yaml:"enc"`
	Recipient string `yaml:"recipient"`
}

// corpusFiles reads every YAML case of the interop corpus that has age
// stanzas, except the tampered ones.
var corpusFiles = sync.OnceValues(func() ([]corpusFile, error) {
	paths, err := filepath.Glob(filepath.Join(repo, "testdata", "sops-interop", "cases", "*", "encrypted.yaml"))
	if err != nil {
		return nil, err
	}
	var files []corpusFile
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		if strings.HasPrefix(name, "tamper-") {
			continue
		}
		f, err := readCorpusFile(p)
		if err != nil {
			// Some cases are deliberately not valid YAML documents of
			// one map (multi-document, errors); they are not needed.
			continue
		}
		if len(f.stanzas) > 0 {
			f.name = name
			files = append(files, f)
		}
	}
	return files, nil
})

func readCorpusFile(path string) (corpusFile, error) {
	var f corpusFile
	b, err := os.ReadFile(path)
	if err != nil {
		return f, err
	}
	var doc struct {
		Sops struct {
			Age          []yamlAge                 `yaml:"age"`
			KeyGroups    []struct{ Age []yamlAge } `yaml:"key_groups"`
			MAC          string                    `yaml:"mac"`
			LastModified string                    `yaml:"lastmodified"`
		} `yaml:"sops"`
	}
	// Only the first document: sops puts its metadata in each.
	if err := yaml.NewDecoder(strings.NewReader(string(b))).Decode(&doc); err != nil {
		return f, err
	}
	add := func(list []yamlAge) {
		for _, a := range list {
			f.stanzas = append(f.stanzas, keys.Stanza{Type: keys.Age, Recipient: a.Recipient, Enc: a.Enc})
		}
	}
	add(doc.Sops.Age)
	for _, g := range doc.Sops.KeyGroups {
		add(g.Age)
		f.groups = true
	}
	f.mac, f.lastmodified = doc.Sops.MAC, doc.Sops.LastModified
	return f, nil
}

var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:([^,]*),iv:([^,]*),tag:([^,]*),type:str\]$`)

// checkDataKey proves key is the file's data key: the MAC, which sops
// encrypts with it (AAD: lastmodified), must decrypt. A wrong key of the
// right length cannot pass GCM's tag check.
func checkDataKey(t *testing.T, f corpusFile, key []byte) {
	t.Helper()
	m := encRE.FindStringSubmatch(f.mac)
	if m == nil {
		t.Fatalf("%s: unexpected mac %q", f.name, f.mac)
	}
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	data, iv, tag := dec(m[1]), dec(m[2]), dec(m[3])
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatalf("%s: data key: %v", f.name, err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gcm.Open(nil, iv, append(data, tag...), []byte(f.lastmodified)); err != nil {
		t.Fatalf("%s: the unwrapped key does not open the MAC: %v", f.name, err)
	}
}

// vars is an environment for tests: only what is listed is set.
func vars(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// fakeTerminal answers prompts from a script and records them.
type fakeTerminal struct {
	mu      sync.Mutex
	answers []string
	prompts []string
}

func (f *fakeTerminal) ReadSecret(prompt string) ([]byte, error) { return f.next(prompt) }
func (f *fakeTerminal) ReadLine(prompt string) ([]byte, error)   { return f.next(prompt) }

func (f *fakeTerminal) next(prompt string) ([]byte, error) {
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

func writeFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
