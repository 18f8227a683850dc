package age

import (
	"errors"
	"os"
	"runtime"
	"testing"

	"github.com/kura-secrets/kura/internal/terminal"

	"golang.org/x/term"
)

func TestUserConfigDir(t *testing.T) {
	tests := []struct {
		goos string
		env  []string
		want string // "" for an error
	}{
		{"linux", []string{"HOME", "/home/u"}, "/home/u/.config"},
		{"linux", []string{"HOME", "/home/u", "XDG_CONFIG_HOME", "/xdg"}, "/xdg"},
		{"linux", []string{"HOME", "/home/u", "XDG_CONFIG_HOME", "rel"}, ""},
		{"linux", nil, ""},
		{"freebsd", []string{"HOME", "/home/u"}, "/home/u/.config"},
		{"darwin", []string{"HOME", "/Users/u"}, "/Users/u/Library/Application Support"},
		// sops honours XDG_CONFIG_HOME on macOS, where Go does not.
		{"darwin", []string{"HOME", "/Users/u", "XDG_CONFIG_HOME", "/xdg"}, "/xdg"},
		{"darwin", nil, ""},
		{"windows", []string{"AppData", `C:\Users\u\AppData\Roaming`, "XDG_CONFIG_HOME", "/xdg"}, `C:\Users\u\AppData\Roaming`},
		{"windows", []string{"HOME", `C:\Users\u`}, ""},
	}
	for _, tt := range tests {
		got, err := UserConfigDir(tt.goos, vars(tt.env...))
		if tt.want == "" {
			if err == nil {
				t.Errorf("%s %q: got %q, want an error", tt.goos, tt.env, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %q: got %q, %v, want %q", tt.goos, tt.env, got, err, tt.want)
		}
	}
}

func TestKeysPath(t *testing.T) {
	if got := (Env{}).KeysPath(); got != "" {
		t.Errorf("no config dir: KeysPath() = %q", got)
	}
	tests := []struct{ goos, dir, want string }{
		{"windows", `C:\Users\u\AppData\Roaming`, `C:\Users\u\AppData\Roaming\sops\age\keys.txt`},
		{"linux", "/home/u/.config", "/home/u/.config/sops/age/keys.txt"},
		{"darwin", "/Users/u/Library/Application Support", "/Users/u/Library/Application Support/sops/age/keys.txt"},
	}
	for _, tt := range tests {
		if runtime.GOOS == "windows" && tt.goos != "windows" {
			continue
		}
		if got := (Env{GOOS: tt.goos, ConfigDir: tt.dir}).KeysPath(); got != tt.want {
			t.Errorf("%s: KeysPath() = %q, want %q", tt.goos, got, tt.want)
		}
	}
}

func TestDefaultEnv(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/kura/xdg")
	t.Setenv("HOME", "/kura/home")
	t.Setenv("AppData", `C:\kura\AppData`)
	env := DefaultEnv()
	if env.Getenv == nil || env.Run == nil || env.Terminal == nil || env.GOOS != runtime.GOOS {
		t.Fatalf("DefaultEnv() = %+v", env)
	}
	want, err := DefaultKeysPath()
	if err != nil {
		t.Fatal(err)
	}
	if env.KeysPath() != want {
		t.Errorf("KeysPath() = %q, DefaultKeysPath() = %q", env.KeysPath(), want)
	}
	if runtime.GOOS == "linux" && want != "/kura/xdg/sops/age/keys.txt" {
		t.Errorf("DefaultKeysPath() = %q", want)
	}
}

// TestTTYWithoutTerminal: where there is no terminal, as in CI, the real
// terminal refuses at once instead of reading from somewhere else.
func TestTTYWithoutTerminal(t *testing.T) {
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		f.Close()
		t.Skip("this process has a terminal")
	}
	if term.IsTerminal(int(os.Stdin.Fd())) || runtime.GOOS == "windows" {
		t.Skip("this process has a terminal")
	}
	for _, read := range []func(string) ([]byte, error){TTY().ReadSecret, TTY().ReadLine} {
		if _, err := read("Passphrase:"); !errors.Is(err, ErrNoTerminal) {
			t.Errorf("err = %v, want ErrNoTerminal", err)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := terminal.Printable("key \x1b[2J\n.txt:"); got != "key \uFFFD[2J\uFFFD.txt:" {
		t.Errorf("printable = %q", got)
	}
}
