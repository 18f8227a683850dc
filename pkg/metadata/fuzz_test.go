package metadata

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/pkg/format/json"
)

// FuzzFromTree parses the metadata block of arbitrary JSON files (the
// corpus's encrypted JSON files are the seeds): FromTree must not panic,
// and what it accepts must survive writing and reading again: after one
// pass through ToTree (which normalises timestamps and weak types), a
// second pass changes nothing.
func FuzzFromTree(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "encrypted.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"sops":{"age":[{"recipient":"age1x","enc":"e"}],"lastmodified":"2024-01-01T00:00:00.5+01:00","mac":"m","shamir_threshold":"2","mac_only_encrypted":"true","version":"3.13.2"}}`))
	f.Add([]byte(`{"sops":{"key_groups":[{"pgp":[{"fp":"F","enc":"e","created_at":"x"}]},{"kms":[{"arn":"a","enc":"e","context":{"k":"v"}}]}],"shamir_threshold":2,"version":"3.13.2","encrypted_regex":"("}}`))
	f.Add([]byte(`{"sops":{"hc_vault":[{"vault_address":"http://v","engine_path":"transit","key_name":"k","enc":"e"}],"azure_kv":[{"vault_url":"u","name":"n","version":"v","enc":"e"}],"gcp_kms":[{"resource_id":"r","enc":"e"}]}}`))
	store := json.New(json.TabIndent)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, meta, err := store.LoadEncrypted(data)
		if err != nil {
			return
		}
		m, err := FromTree(meta)
		if err != nil {
			return
		}
		m1, err := FromTree(m.ToTree())
		if err != nil {
			t.Fatalf("FromTree refuses what ToTree wrote: %v", err)
		}
		m2, err := FromTree(m1.ToTree())
		if err != nil {
			t.Fatalf("FromTree refuses what ToTree wrote: %v", err)
		}
		if !reflect.DeepEqual(m1, m2) {
			t.Fatalf("not stable through ToTree and FromTree:\n%+v\n%+v", m1, m2)
		}
	})
}
