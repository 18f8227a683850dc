// Package decrypt is kura's API for Go programs that read SOPS files: a
// deploy tool, an operator, a test. It does what `kura decrypt` does, with
// the same key sources found the same way (SOPS_AGE_KEY_FILE and the other
// age variables, the user's gpg or an armored secret key for PGP, and the
// cloud keys through the kura-kms companion, which must then be on PATH),
// and returns the plaintext in the file's own format, as sops's decrypt
// package does, so that code written for that package needs only its
// import path changed.
//
// A program that wants the values rather than text can use Tree.
package decrypt

import (
	"fmt"
	"os"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/format/binary"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/format/ini"
	"github.com/kura-secrets/kura/pkg/format/json"
	"github.com/kura-secrets/kura/pkg/format/toml"
	"github.com/kura-secrets/kura/pkg/format/yaml"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/age"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/pgp"
	"github.com/kura-secrets/kura/pkg/sopsfile"
	"github.com/kura-secrets/kura/pkg/tree"
)

// File decrypts the SOPS file at path and returns its plaintext. format
// is "yaml", "json", "dotenv", "ini", "toml" or "binary"; "" takes it from
// the file name, as the kura command does.
func File(path, format string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	if format == "" {
		format = formatOf(path, data)
	}
	out, err := Data(data, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// Data decrypts the content of a SOPS file in the given format ("yaml",
// "json", "dotenv", "ini", "toml" or "binary") and returns its plaintext
// in that format, as `kura decrypt` prints it.
func Data(data []byte, format string) ([]byte, error) {
	store, f, err := storeFor(format)
	if err != nil {
		return nil, err
	}
	docs, err := decryptDocs(data, store, f)
	if err != nil {
		return nil, err
	}
	out, err := store.EmitPlain(docs)
	if err != nil {
		return nil, fmt.Errorf("decrypt: writing the plaintext: %w", err)
	}
	return out, nil
}

// Tree decrypts the content of a SOPS file and returns its documents: a
// YAML file may hold several, every other format one. A dotenv value is
// returned as written (quotes included); dotenv.Unquote gives what it
// means.
func Tree(data []byte, format string) ([]tree.Document, error) {
	store, f, err := storeFor(format)
	if err != nil {
		return nil, err
	}
	return decryptDocs(data, store, f)
}

func decryptDocs(data []byte, store format.Store, f format.Format) ([]tree.Document, error) {
	file, err := sopsfile.Load(data, store, f == format.Binary)
	if err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	cloud := &companion.Source{Stderr: os.Stderr}
	defer cloud.Close()
	sources := map[keys.Type]keys.Unwrapper{
		keys.Age:     age.NewIdentities(age.DefaultEnv()),
		keys.PGP:     pgp.NewSource(pgp.DefaultEnv()),
		keys.KMS:     cloud,
		keys.GCPKMS:  cloud,
		keys.AzureKV: cloud,
		keys.Vault:   cloud,
		keys.HCKMS:   cloud,
	}
	if err := file.Decrypt(sopsfile.DecryptOptions{Sources: sources, ReadOnly: true}); err != nil {
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	// A library runs inside long-lived programs: the data key is zeroed
	// once the values are out.
	file.Forget()
	tree.DetachComments(file.Docs)
	return file.Docs, nil
}

// formatOf is the format of a file from its name and, for a .toml file
// that sops encrypted as binary, its content.
func formatOf(path string, data []byte) string {
	return format.OfEncrypted(format.FromPath(path), data).String()
}

func storeFor(name string) (format.Store, format.Format, error) {
	f, ok := format.Parse(name)
	if !ok {
		return nil, 0, fmt.Errorf("decrypt: unknown format %q (want yaml, json, dotenv, ini, toml or binary)", name)
	}
	switch f {
	case format.YAML:
		return yaml.Store{}, f, nil
	case format.JSON:
		return json.New(json.TabIndent), f, nil
	case format.Dotenv:
		return dotenv.Store{}, f, nil
	case format.INI:
		return ini.Store{}, f, nil
	case format.TOML:
		return toml.Store{}, f, nil
	}
	return binary.New(json.TabIndent), f, nil
}
