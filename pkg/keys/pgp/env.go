package pgp

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The environment variables the PGP key source reads.
const (
	// GPGExecEnv is the gpg binary to run, as in sops; "gpg" when unset.
	GPGExecEnv = "SOPS_GPG_EXEC"
	// GnuPGHomeEnv is the GnuPG home. gpg reads it itself; kura reads it
	// to find the legacy pubring.gpg and secring.gpg, and to pass it on
	// when an Env does not come from the process.
	GnuPGHomeEnv = "GNUPGHOME"
	// KeyFileEnv lists OpenPGP key files, armored or binary, separated by
	// the OS list separator (":" or ";"). Secret keys in them unwrap
	// without gpg; public keys in them are recipients when gpg is absent.
	// It is kura's own: sops has no equivalent.
	KeyFileEnv = "KURA_PGP_KEY_FILE"
	// FingerprintEnv is the env form of --pgp: comma-separated
	// fingerprints to encrypt to. The command line reads it, and hands it
	// to [ParseRecipients]; this package does not look at it.
	FingerprintEnv = "SOPS_PGP_FP"
)

// Env is everything the PGP key source learns from outside the process:
// variables, the home directory, how to run gpg, the terminal and the
// clock. [DefaultEnv] fills it from the real process; tests build their own.
//
// A nil func or empty string means "not available", never "look it up".
type Env struct {
	// Getenv returns an environment variable, or "" when it is unset.
	Getenv func(key string) string
	// HomeDir is the user's home directory. The GnuPG home is
	// <HomeDir>/.gnupg when GNUPGHOME is unset.
	HomeDir string
	// Run runs argv (no shell) with extraEnv appended to the process
	// environment and stdin as its standard input, and returns what it
	// wrote to standard output and standard error. It returns an error
	// satisfying errors.Is(err, exec.ErrNotFound) or fs.ErrNotExist when
	// the program does not exist, and an *exec.ExitError when it ran
	// and failed. Nil means gpg is never run.
	Run func(argv, extraEnv []string, stdin []byte) (stdout, stderr []byte, err error)
	// Terminal asks for the passphrases of protected secret keys in key
	// files. Nil means there is nobody to ask, and such keys fail at once.
	// gpg asks for its own passphrases, through gpg-agent and pinentry.
	Terminal Terminal
	// Stderr receives messages for the user, such as "wrong passphrase".
	// Nil discards them.
	Stderr io.Writer
	// Now is the clock used to check whether a key has expired and to
	// date new stanzas. Nil means time.Now.
	Now func() time.Time
}

// DefaultEnv returns the Env of the running process. It reads nothing but
// $HOME: the terminal is opened when a prompt is needed, and gpg run when a
// key is.
func DefaultEnv() Env {
	home, err := os.UserHomeDir()
	if err != nil {
		home = ""
	}
	return Env{
		Getenv:   os.Getenv,
		HomeDir:  home,
		Run:      RunCommand,
		Terminal: TTY(),
		Stderr:   os.Stderr,
		Now:      time.Now,
	}
}

// RunCommand is DefaultEnv's Run. Standard output and standard error are
// captured, never passed through: gpg's status and log lines must not mix
// with what kura prints. gpg's own prompts go through pinentry, which
// finds the terminal by itself (see GPG_TTY in gpg-agent's manual).
func RunCommand(argv, extraEnv []string, stdin []byte) ([]byte, []byte, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	if len(extraEnv) > 0 {
		cmd.Env = append(os.Environ(), extraEnv...)
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

func (e *Env) getenv(key string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(key)
}

func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Env) stderr() io.Writer {
	if e.Stderr == nil {
		return io.Discard
	}
	return e.Stderr
}

// gpgBinary is the gpg to run: SOPS_GPG_EXEC, taken as one path (sops does
// not split it into words), or "gpg" from PATH.
func (e *Env) gpgBinary() string {
	if b := e.getenv(GPGExecEnv); b != "" {
		return b
	}
	return "gpg"
}

// gnupgHome is the GnuPG home as sops finds it: $GNUPGHOME, else
// ~/.gnupg. It is "" when neither is known.
func (e *Env) gnupgHome() string {
	if d := e.getenv(GnuPGHomeEnv); d != "" {
		return d
	}
	if e.HomeDir == "" {
		return ""
	}
	return filepath.Join(e.HomeDir, ".gnupg")
}

// gpgEnv is the environment gpg gets on top of the process's: GNUPGHOME
// when the Env has one, which for the real process changes nothing and for
// any other Env points gpg at the right keyring.
func (e *Env) gpgEnv() []string {
	if d := e.getenv(GnuPGHomeEnv); d != "" {
		return []string{GnuPGHomeEnv + "=" + d}
	}
	return nil
}

// keyFiles is the list in KURA_PGP_KEY_FILE, empty entries dropped.
func (e *Env) keyFiles() []string {
	var files []string
	for _, p := range filepath.SplitList(e.getenv(KeyFileEnv)) {
		if strings.TrimSpace(p) != "" {
			files = append(files, p)
		}
	}
	return files
}
