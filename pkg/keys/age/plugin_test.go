package age

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/kura-secrets/kura/pkg/keys"
)

const testPluginName = "kuratest"

// runTestPlugin is age-plugin-kuratest. Its recipients and identities carry
// an X25519 recipient or identity string as their data, and it wraps and
// unwraps with those, after asking for a PIN when KURATEST_PIN is set, and
// showing a message when KURATEST_MESSAGE is.
func runTestPlugin() int {
	p, err := plugin.New(testPluginName)
	if err != nil {
		return 1
	}
	interact := func() error {
		if msg := os.Getenv("KURATEST_MESSAGE"); msg != "" {
			if err := p.DisplayMessage(msg); err != nil {
				return err
			}
		}
		if pin := os.Getenv("KURATEST_PIN"); pin != "" {
			v, err := p.RequestValue("PIN?", true)
			if err != nil {
				return err
			}
			if v != pin {
				return errors.New("wrong PIN")
			}
		}
		return nil
	}
	p.HandleRecipient(func(data []byte) (age.Recipient, error) {
		r, err := age.ParseX25519Recipient(string(data))
		if err != nil {
			return nil, err
		}
		return wrapFunc(func(fileKey []byte) ([]*age.Stanza, error) {
			if err := interact(); err != nil {
				return nil, err
			}
			return r.Wrap(fileKey)
		}), nil
	})
	p.HandleIdentity(func(data []byte) (age.Identity, error) {
		id, err := age.ParseX25519Identity(string(data))
		if err != nil {
			return nil, err
		}
		return unwrapFunc(func(stanzas []*age.Stanza) ([]byte, error) {
			if err := interact(); err != nil {
				return nil, err
			}
			return id.Unwrap(stanzas)
		}), nil
	})
	return p.Main()
}

type wrapFunc func([]byte) ([]*age.Stanza, error)

func (f wrapFunc) Wrap(k []byte) ([]*age.Stanza, error) { return f(k) }

type unwrapFunc func([]*age.Stanza) ([]byte, error)

func (f unwrapFunc) Unwrap(s []*age.Stanza) ([]byte, error) { return f(s) }

// installTestPlugin puts age-plugin-kuratest on PATH.
func installTestPlugin(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test plugin is a symlink")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "age-plugin-"+testPluginName)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// TestPlugin wraps for a plugin recipient and unwraps with a plugin
// identity, through a real plugin process, and checks that a plugin asking
// for input with no terminal fails at once instead of waiting.
func TestPlugin(t *testing.T) {
	installTestPlugin(t)
	native, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	recipient := plugin.EncodeRecipient(testPluginName, []byte(native.Recipient().String()))
	identity := plugin.EncodeIdentity(testPluginName, []byte(native.String()))
	payload := []byte("0123456789abcdef0123456789abcdef")

	tests := []struct {
		name    string
		pin     string
		message string
		term    *fakeTerminal // nil: no terminal
		wantErr bool
	}{
		{name: "no interaction"},
		{name: "PIN from the terminal", pin: "1234", term: &fakeTerminal{answers: []string{"1234", "1234"}}},
		{name: "PIN with no terminal", pin: "1234", wantErr: true},
		{name: "message", message: "touch your token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KURATEST_PIN", tt.pin)
			t.Setenv("KURATEST_MESSAGE", tt.message)
			var term Terminal
			if tt.term != nil {
				term = tt.term
			}
			var stderr bytes.Buffer
			start := time.Now()

			r, err := parseRecipient(recipient, newPluginUI(term, &stderr))
			if err != nil {
				t.Fatal(err)
			}
			s, err := r.Wrap(payload)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Wrap succeeded without the PIN")
				}
				// Encrypt natively to test Unwrap's refusal as well.
				s, err = mustParse(t, native.Recipient().String()).Wrap(payload)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantErr && s.Recipient != recipient {
				t.Errorf("stanza recipient = %q", s.Recipient)
			}
			checkArmor(t, s.Enc)

			ids := NewIdentities(Env{Getenv: vars(KeyEnv, identity), Terminal: term, Stderr: &stderr})
			got, err := ids.Unwrap(&s)
			if tt.wantErr {
				if err == nil || errors.Is(err, keys.ErrNoIdentity) {
					t.Fatalf("Unwrap without the PIN: err = %v", err)
				}
				if d := time.Since(start); d > 4*time.Second {
					t.Errorf("took %v: something waited for input", d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatal("wrong payload")
			}
			if tt.term != nil && (len(tt.term.prompts) != 2 || !strings.Contains(tt.term.prompts[0], "PIN?")) {
				t.Errorf("prompts = %q", tt.term.prompts)
			}
			if tt.message != "" && !strings.Contains(stderr.String(), "age-plugin-kuratest: "+tt.message) {
				t.Errorf("stderr = %q", stderr.String())
			}
		})
	}

	t.Run("plugin not installed", func(t *testing.T) {
		r, err := ParseRecipient(plugin.EncodeRecipient("kuramissing", []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Wrap(payload)
		if _, ok := errors.AsType[*plugin.NotFoundError](err); !ok {
			t.Fatalf("err = %v, want plugin.NotFoundError", err)
		}
	})
}

func mustParse(t *testing.T, s string) keys.Recipient {
	t.Helper()
	r, err := ParseRecipient(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPluginUIWithoutTerminal: every input callback refuses at once.
func TestPluginUIWithoutTerminal(t *testing.T) {
	ui := newPluginUI(nil, nil)
	if _, err := ui.RequestValue("x", "PIN?", true); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("RequestValue: %v", err)
	}
	if _, err := ui.RequestValue("x", "name?", false); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("RequestValue: %v", err)
	}
	if _, err := ui.Confirm("x", "sure?", "yes", "no"); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("Confirm: %v", err)
	}
	if err := ui.DisplayMessage("x", "hello"); err != nil {
		t.Errorf("DisplayMessage: %v", err)
	}
	ui.WaitTimer("x")
}

func TestPluginUIConfirm(t *testing.T) {
	tests := []struct {
		yes, no string
		answers []string
		want    bool
		wantErr bool
	}{
		{"ok", "", []string{""}, true, false},
		{"a", "b", []string{"1"}, true, false},
		{"a", "b", []string{"2"}, false, false},
		{"a", "b", []string{"x", "2"}, false, false},
		{"a", "b", []string{"x", "y", "z", "1"}, false, true},
		{"a", "b", nil, false, true},
	}
	for _, tt := range tests {
		term := &fakeTerminal{answers: tt.answers}
		got, err := newPluginUI(term, nil).Confirm("x", "sure?", tt.yes, tt.no)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("Confirm(%q, %q) with %q = %v, %v", tt.yes, tt.no, tt.answers, got, err)
		}
	}
}
