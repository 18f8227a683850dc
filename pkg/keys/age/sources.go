package age

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kura-secrets/kura/internal/keyperm"
	"github.com/kura-secrets/kura/internal/shellwords"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// listSources reads the environment once and lists the identity sources
// that are set, in the order sops loads them (which only matters for the
// order of prompts).
func (i *Identities) listSources() []source {
	env := &i.env
	ui := newPluginUI(env.Terminal, env.Stderr)
	var list []source
	add := func(name string, perRecipient bool, load func(string) ([]age.Identity, error)) {
		list = append(list, source{name: name, perRecipient: perRecipient, load: load})
	}
	one := func(id age.Identity, err error) ([]age.Identity, error) {
		if err != nil {
			return nil, err
		}
		return []age.Identity{id}, nil
	}

	if path := env.getenv(SSHKeyFileEnv); path != "" {
		name := SSHKeyFileEnv + "=" + path
		add(name, false, func(string) ([]age.Identity, error) {
			return one(sshKeyFile(name, path, env.Terminal, env.Stderr))
		})
	}
	if cmd := env.getenv(SSHKeyCmdEnv); cmd != "" {
		add(SSHKeyCmdEnv, true, func(recipient string) ([]age.Identity, error) {
			out, err := env.runForRecipient(SSHKeyCmdEnv, cmd, recipient)
			if err != nil {
				return nil, err
			}
			return one(sshKeyOutput(SSHKeyCmdEnv, out))
		})
	}
	if env.HomeDir != "" {
		for _, file := range []string{"id_ed25519", "id_rsa"} {
			path := filepath.Join(env.HomeDir, ".ssh", file)
			add(path, false, func(string) ([]age.Identity, error) {
				// Like sops, skip the key on any Stat error, not only
				// when it does not exist.
				if _, err := os.Stat(path); err != nil {
					return nil, nil
				}
				return one(sshKeyFile(path, path, env.Terminal, env.Stderr))
			})
		}
	}
	if text := env.getenv(KeyEnv); text != "" {
		add(KeyEnv, false, func(string) ([]age.Identity, error) {
			return identityText(KeyEnv, "in "+KeyEnv, text, true, env.Terminal, ui)
		})
	}
	if path := env.getenv(KeyFileEnv); path != "" {
		name := KeyFileEnv + "=" + path
		add(name, false, func(string) ([]age.Identity, error) {
			text, err := readIdentityFile(name, path, env.Stderr)
			if err != nil {
				return nil, err
			}
			return identityText(name, path, text, false, env.Terminal, ui)
		})
	}
	if cmd := env.getenv(KeyCmdEnv); cmd != "" {
		add(KeyCmdEnv, true, func(recipient string) ([]age.Identity, error) {
			out, err := env.runForRecipient(KeyCmdEnv, cmd, recipient)
			if err != nil {
				return nil, err
			}
			return identityText(KeyCmdEnv, "printed by "+KeyCmdEnv, string(out), false, env.Terminal, ui)
		})
	}
	if path := env.KeysPath(); path != "" {
		add(path, false, func(string) ([]age.Identity, error) {
			text, err := readIdentityFile(path, path, env.Stderr)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return identityText(path, path, text, false, env.Terminal, ui)
		})
	}
	return list
}

// identityText turns identity text from the source name into identities:
// parsed, or, for a passphrase-encrypted file, one identity that opens it
// when first needed. where names the text for a passphrase prompt.
func identityText(name, where, text string, words bool, term Terminal, ui *plugin.ClientUI) ([]age.Identity, error) {
	if isAgeFile(text) {
		return []age.Identity{&encryptedIdentities{name: name, where: where, file: text, term: term, ui: ui}}, nil
	}
	ids, err := parseIdentities(text, words, ui)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ids, nil
}

// readIdentityFile reads an identity file, up to the size age accepts. A
// file others may read gets a warning on stderr.
func readIdentityFile(name, path string, stderr io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, pathless(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		keyperm.Check(path, st, stderr)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxIdentityFile+1))
	defer clear(b)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, pathless(err))
	}
	if len(b) > maxIdentityFile {
		return "", fmt.Errorf("%s: file too long for an identity file", name)
	}
	return string(b), nil
}

// pathless drops the path from a file error whose message already names
// the file, keeping what the error is (errors.Is still sees fs.ErrNotExist).
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// runForRecipient runs the command in the variable name with
// SOPS_AGE_RECIPIENT set, and returns what it printed. The command line is
// not repeated in errors: it may carry a token.
func (e *Env) runForRecipient(name, cmd, recipient string) ([]byte, error) {
	argv, err := shellwords.Split(cmd)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot split the command: %w", name, err)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: the command is empty", name)
	}
	if e.Run == nil {
		return nil, fmt.Errorf("%s: running commands is not available here", name)
	}
	out, err := e.Run(argv, []string{RecipientEnv + "=" + recipient})
	if err != nil {
		return nil, fmt.Errorf("%s: running %s: %w", name, argv[0], err)
	}
	if len(out) > maxIdentityFile {
		return nil, fmt.Errorf("%s: the command printed too much for an identity file", name)
	}
	return out, nil
}
