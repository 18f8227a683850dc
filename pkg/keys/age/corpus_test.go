package age

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
)

// identitySource puts one identity file's content where one of the sources
// finds it, and returns the Env and a check to run afterwards.
type identitySource struct {
	name  string
	setup func(t *testing.T, k testKey) (Env, func(t *testing.T))
}

var identitySources = []identitySource{
	{KeyEnv, func(t *testing.T, k testKey) (Env, func(*testing.T)) {
		return Env{Getenv: vars(KeyEnv, k.identity)}, nil
	}},
	{KeyFileEnv, func(t *testing.T, k testKey) (Env, func(*testing.T)) {
		return Env{Getenv: vars(KeyFileEnv, k.file)}, nil
	}},
	{KeyCmdEnv, func(t *testing.T, k testKey) (Env, func(*testing.T)) {
		var got []string // the SOPS_AGE_RECIPIENT of each run
		env := Env{
			Getenv: vars(KeyCmdEnv, `password-store show "age/kura test"`),
			Run: func(argv, extra []string) ([]byte, error) {
				if want := []string{"password-store", "show", "age/kura test"}; !slices.Equal(argv, want) {
					t.Errorf("argv = %q, want %q", argv, want)
				}
				if len(extra) != 1 || !strings.HasPrefix(extra[0], RecipientEnv+"=") {
					t.Fatalf("extra env = %q", extra)
				}
				got = append(got, strings.TrimPrefix(extra[0], RecipientEnv+"="))
				return []byte(readRepoFile(t, "testdata/keys/"+k.name+".txt")), nil
			},
		}
		return env, func(t *testing.T) {
			// Run once per recipient, and told which one.
			if len(got) == 0 || len(got) != len(slices.Compact(slices.Sorted(slices.Values(got)))) {
				t.Errorf("command runs for recipients %q: want one per recipient", got)
			}
		}
	}},
	{"default keys file", func(t *testing.T, k testKey) (Env, func(*testing.T)) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "sops", "age", "keys.txt"), readRepoFile(t, "testdata/keys/"+k.name+".txt"))
		return Env{Getenv: vars(), ConfigDir: dir}, nil
	}},
}

// TestCorpusUnwrap unwraps every age stanza sops 3.13.2 wrote in the
// corpus, with each identity from each source, and checks the result is
// the data key by opening the file's MAC with it.
func TestCorpusUnwrap(t *testing.T) {
	files, err := corpusFiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d corpus files with age stanzas found", len(files))
	}
	for _, name := range []string{"age1", "age2"} {
		k := corpusKey(t, name)
		for _, src := range identitySources {
			t.Run(name+"/"+src.name, func(t *testing.T) {
				env, check := src.setup(t, k)
				ids := NewIdentities(env)
				opened := 0
				for _, f := range files {
					for _, s := range f.stanzas {
						if s.Recipient != k.recipient {
							continue
						}
						payload, err := ids.Unwrap(&s)
						if err != nil {
							t.Fatalf("%s: %v", f.name, err)
						}
						opened++
						if f.groups {
							// A Shamir share: one x-coordinate byte more.
							if len(payload) != 33 {
								t.Errorf("%s: share is %d bytes", f.name, len(payload))
							}
							continue
						}
						checkDataKey(t, f, payload)
					}
				}
				if opened == 0 {
					t.Fatalf("no stanza for %s in the corpus", name)
				}
				if check != nil {
					check(t)
				}
			})
		}
	}
}

// TestCorpusSameKeyForBothRecipients: a file for age1 and age2 wraps one
// data key twice.
func TestCorpusSameKeyForBothRecipients(t *testing.T) {
	f, err := readCorpusFile(filepath.Join(repo, "testdata", "sops-interop", "cases", "keys-multi-recipient", "encrypted.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	ids := NewIdentities(Env{Getenv: vars(KeyFileEnv, filepath.Join(repo, "testdata", "keys", "age-all-identities.txt"))})
	var got [][]byte
	for _, s := range f.stanzas {
		if s.Recipient != k1.recipient && s.Recipient != k2.recipient {
			continue
		}
		p, err := ids.Unwrap(&s)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if len(got) != 2 || string(got[0]) != string(got[1]) || len(got[0]) != 32 {
		t.Fatalf("got %d payloads, want the same 32-byte key twice", len(got))
	}
	f.name = "keys-multi-recipient"
	checkDataKey(t, f, got[0])
}

// TestCorpusWrongIdentity: holding only the other identity is "not mine".
func TestCorpusWrongIdentity(t *testing.T) {
	f, err := readCorpusFile(filepath.Join(repo, "testdata", "sops-interop", "cases", "yaml-scalars", "encrypted.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := corpusKey(t, "age1"), corpusKey(t, "age2")
	if len(f.stanzas) != 1 || f.stanzas[0].Recipient != k1.recipient {
		t.Fatalf("yaml-scalars should be for age1 only")
	}
	for _, src := range identitySources {
		t.Run(src.name, func(t *testing.T) {
			env, _ := src.setup(t, k2)
			_, err := NewIdentities(env).Unwrap(&f.stanzas[0])
			if !errors.Is(err, keys.ErrNoIdentity) {
				t.Fatalf("err = %v, want ErrNoIdentity", err)
			}
			if !strings.Contains(err.Error(), k1.recipient) {
				t.Errorf("error %q does not name the recipient", err)
			}
			if strings.Contains(err.Error(), k2.identity) {
				t.Errorf("error shows the identity")
			}
		})
	}
}

// TestCorpusTampered: a changed character in the wrapped key is an error,
// whatever it hits, and never a payload.
func TestCorpusTampered(t *testing.T) {
	f, err := readCorpusFile(filepath.Join(repo, "testdata", "sops-interop", "cases", "tamper-age-stanza", "encrypted.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ids := NewIdentities(Env{Getenv: vars(KeyEnv, corpusKey(t, "age1").identity)})
	p, err := ids.Unwrap(&f.stanzas[0])
	if err == nil {
		t.Fatalf("tampered stanza unwrapped to %d bytes", len(p))
	}
	// The identity matched: this is damage, not "not mine".
	if errors.Is(err, keys.ErrNoIdentity) {
		t.Fatalf("err = %v, want a decryption error", err)
	}
}
