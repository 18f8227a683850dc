package metadata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestCorpusRoundTrip parses the metadata of every YAML file sops wrote and
// turns it back into a tree: it must be the tree sops wrote.
func TestCorpusRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "encrypted.yaml"))
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		if strings.HasPrefix(name, "tamper-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, meta, err := yaml.Store{Indent: 2}.LoadEncrypted(data)
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromTree(meta)
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != "3.13.2" {
				t.Errorf("version %q", m.Version)
			}
			if got := m.ToTree(); !tree.ItemsEqual(got, meta) {
				t.Errorf("ToTree differs\n got %+v\nwant %+v", got, meta)
			}
		})
	}
}

func TestFromTreeErrors(t *testing.T) {
	base := func(extra ...tree.Item) []tree.Item {
		return append([]tree.Item{
			tree.KeyItem("lastmodified", tree.Str("2024-01-02T03:04:05Z")),
			tree.KeyItem("mac", tree.Str("")),
			tree.KeyItem("version", tree.Str("3.13.2")),
		}, extra...)
	}
	age := tree.KeyItem("age", tree.ListV([]tree.Value{tree.MapV([]tree.Item{
		tree.KeyItem("enc", tree.Str("x")), tree.KeyItem("recipient", tree.Str("age1x")),
	})}))
	pgpNoDate := tree.KeyItem("pgp", tree.ListV([]tree.Value{tree.MapV([]tree.Item{
		tree.KeyItem("enc", tree.Str("x")), tree.KeyItem("fp", tree.Str("AB")),
	})}))
	for _, c := range []struct {
		name  string
		items []tree.Item
		want  string
	}{
		{"no keys", base(), "no keys"},
		{"pgp without created_at", base(pgpNoDate), "created_at"},
		{"two rules", base(age, tree.KeyItem("encrypted_regex", tree.Str("a")), tree.KeyItem("unencrypted_suffix", tree.Str("_u"))), "more than one"},
		{"bad threshold", base(age, tree.KeyItem("shamir_threshold", tree.Str("two"))), "not an integer"},
		{"bad lastmodified", append(base(age), tree.KeyItem("lastmodified", tree.Str("yesterday"))), "lastmodified"},
	} {
		_, err := FromTree(c.items)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	m, err := FromTree(base(age, tree.KeyItem("shamir_threshold", tree.Str("2")), tree.KeyItem("mac_only_encrypted", tree.Str("true"))))
	if err != nil {
		t.Fatal(err)
	}
	if m.ShamirThreshold != 2 || !m.Rules.MACOnlyEncrypted || m.Rules.UnencryptedSuffix != "_unencrypted" {
		t.Errorf("weak typing or default rule: %+v", m)
	}
	if len(m.KeyGroups) != 1 || m.KeyGroups[0][0].Type != keys.Age {
		t.Errorf("groups: %+v", m.KeyGroups)
	}
}
