package age

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The environment variables that say where identities are. They are read
// with the same meaning as sops 3.13.2 gives them.
const (
	// KeyEnv holds identities inline, several per line.
	KeyEnv = "SOPS_AGE_KEY"
	// KeyFileEnv is the path of an identity file, possibly itself
	// passphrase-encrypted with age.
	KeyFileEnv = "SOPS_AGE_KEY_FILE"
	// KeyCmdEnv is a command that prints identities.
	KeyCmdEnv = "SOPS_AGE_KEY_CMD"
	// SSHKeyFileEnv is the path of an SSH private key.
	SSHKeyFileEnv = "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
	// SSHKeyCmdEnv is a command that prints an unencrypted SSH private key.
	SSHKeyCmdEnv = "SOPS_AGE_SSH_PRIVATE_KEY_CMD"
	// RecipientEnv is not read but set, for the two commands above, to the
	// recipient whose stanza is being decrypted, so that a command can
	// return only the key it needs.
	RecipientEnv = "SOPS_AGE_RECIPIENT"
)

// Env is everything the age key source learns from outside the process:
// variables, well-known directories, commands and the terminal.
// [DefaultEnv] fills it from the real process; tests build their own.
//
// A nil func or empty string means "not available", never "look it up".
type Env struct {
	// Getenv returns an environment variable, or "" when it is unset.
	// Empty and unset are treated alike.
	Getenv func(key string) string
	// HomeDir is the user's home directory, where ~/.ssh/id_ed25519 and
	// ~/.ssh/id_rsa are looked for.
	HomeDir string
	// ConfigDir is the user configuration directory, holding the default
	// keys file sops/age/keys.txt. See [UserConfigDir].
	ConfigDir string
	// GOOS is the operating system, spelled as runtime.GOOS. It decides
	// how [Env.KeysPath] is spelled; empty means runtime.GOOS.
	GOOS string
	// Run runs argv (no shell) with extraEnv appended to the process
	// environment, and returns its standard output.
	Run func(argv []string, extraEnv []string) ([]byte, error)
	// Terminal asks the user for passphrases and plugin inputs. Nil means
	// there is nobody to ask, and prompting fails at once.
	Terminal Terminal
	// Stderr receives messages for the user, such as an age plugin asking
	// for a hardware key to be touched. Nil discards them.
	Stderr io.Writer
}

// DefaultEnv returns the Env of the running process. It only reads a few
// variables: the terminal is opened when a prompt is needed, not before.
func DefaultEnv() Env {
	home, err := os.UserHomeDir()
	if err != nil {
		home = ""
	}
	config, err := UserConfigDir(runtime.GOOS, os.Getenv)
	if err != nil {
		config = ""
	}
	return Env{
		Getenv:    os.Getenv,
		HomeDir:   home,
		ConfigDir: config,
		GOOS:      runtime.GOOS,
		Run:       runCommand,
		Terminal:  TTY(),
		Stderr:    os.Stderr,
	}
}

// runCommand is DefaultEnv's Run. Standard error goes to the user, so that
// a password manager's complaint is seen; standard input is not given, as
// in sops.
func runCommand(argv []string, extraEnv []string) ([]byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

func (e *Env) getenv(key string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(key)
}

func (e *Env) goos() string {
	if e.GOOS == "" {
		return runtime.GOOS
	}
	return e.GOOS
}

// keysFile is where the default keys file lives inside the user
// configuration directory.
const keysFile = "sops/age/keys.txt"

// KeysPath returns the default keys file, <ConfigDir>/sops/age/keys.txt, or
// "" when the configuration directory is unknown.
func (e Env) KeysPath() string {
	return keysPath(e.ConfigDir, e.goos())
}

func keysPath(dir, goos string) string {
	if dir == "" {
		return ""
	}
	if goos == runtime.GOOS {
		return filepath.Join(dir, filepath.FromSlash(keysFile))
	}
	// Spelling another system's path, for documentation and tests.
	sep := "/"
	if goos == "windows" {
		sep = `\`
	}
	return strings.TrimRight(dir, sep) + sep + strings.ReplaceAll(keysFile, "/", sep)
}

// DefaultKeysPath returns the default keys file of the running process,
// the one sops reads even when SOPS_AGE_KEY_FILE is set.
func DefaultKeysPath() (string, error) {
	dir, err := UserConfigDir(runtime.GOOS, os.Getenv)
	if err != nil {
		return "", err
	}
	return keysPath(dir, runtime.GOOS), nil
}

// UserConfigDir returns the user configuration directory as sops 3.13.2
// finds it on goos: os.UserConfigDir's answer, except that on macOS a
// non-empty XDG_CONFIG_HOME wins over ~/Library/Application Support (sops
// checks it by hand, because Go does not).
func UserConfigDir(goos string, getenv func(string) string) (string, error) {
	switch goos {
	case "windows":
		if dir := getenv("AppData"); dir != "" {
			return dir, nil
		}
		return "", errors.New("%AppData% is not defined")
	case "darwin", "ios":
		if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
			return dir, nil
		}
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("$HOME is not defined")
		}
		return home + "/Library/Application Support", nil
	case "plan9":
		home := getenv("home")
		if home == "" {
			return "", errors.New("$home is not defined")
		}
		return home + "/lib", nil
	default:
		if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
			if !strings.HasPrefix(dir, "/") {
				return "", errors.New("path in $XDG_CONFIG_HOME is relative")
			}
			return dir, nil
		}
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME are defined")
		}
		return home + "/.config", nil
	}
}
