package pgp

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// TestOutputStaysCaptured: running the real gpg through RunCommand, as
// DefaultEnv does, nothing reaches kura's own standard output or error,
// neither the payload nor gpg's status and log lines.
func TestOutputStaysCaptured(t *testing.T) {
	home := gnupgHome(t, "pgp1")
	k1, k2 := corpusKey(t, "pgp1"), corpusKey(t, "pgp2")
	ok, wrong := corpusStanzaFor(t, k1), corpusStanzaFor(t, k2)

	stdout, stderr := capture(t, func() {
		src := NewSource(Env{Getenv: vars(GnuPGHomeEnv, home), Run: RunCommand})
		payload, err := src.Unwrap(&ok.st)
		if err != nil {
			t.Error(err)
			return
		}
		checkPayload(t, ok, payload)
		_, err = src.Unwrap(&wrong.st)
		mustNoIdentity(t, err)
	})
	if stdout != "" || stderr != "" {
		t.Errorf("gpg wrote to kura's stdout %q, stderr %q", stdout, stderr)
	}
}

// capture runs f with os.Stdout and os.Stderr redirected, and returns what
// was written to them.
func capture(t *testing.T, f func()) (string, string) {
	t.Helper()
	read := func(r *os.File, out *string, done chan<- struct{}) {
		b, _ := io.ReadAll(r)
		*out = string(b)
		close(done)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	rOut, wOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rErr, wErr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr string
	doneOut, doneErr := make(chan struct{}), make(chan struct{})
	go read(rOut, &stdout, doneOut)
	go read(rErr, &stderr, doneErr)
	os.Stdout, os.Stderr = wOut, wErr
	defer func() {
		os.Stdout, os.Stderr = oldOut, oldErr
	}()
	f()
	os.Stdout, os.Stderr = oldOut, oldErr
	wOut.Close()
	wErr.Close()
	<-doneOut
	<-doneErr
	return stdout, stderr
}

// TestEnv covers how the Env's variables are read.
func TestEnv(t *testing.T) {
	e := Env{Getenv: vars(), HomeDir: "/home/u"}
	if got := e.gpgBinary(); got != "gpg" {
		t.Errorf("default gpg %q", got)
	}
	if got := e.gnupgHome(); got != filepath.Join("/home/u", ".gnupg") {
		t.Errorf("default GnuPG home %q", got)
	}
	if got := e.gpgEnv(); got != nil {
		t.Errorf("extra env %q, want none without GNUPGHOME", got)
	}
	if got := (&Env{}).gnupgHome(); got != "" {
		t.Errorf("GnuPG home without HOME or GNUPGHOME: %q", got)
	}
	sep := string(os.PathListSeparator)
	e = Env{Getenv: vars(GPGExecEnv, "/opt/gpg2", GnuPGHomeEnv, "/g", KeyFileEnv, sep+"a.asc"+sep+" "+sep+"b.gpg"+sep)}
	if e.gpgBinary() != "/opt/gpg2" || e.gnupgHome() != "/g" {
		t.Errorf("gpg %q, home %q", e.gpgBinary(), e.gnupgHome())
	}
	if got := e.gpgEnv(); !slices.Equal(got, []string{"GNUPGHOME=/g"}) {
		t.Errorf("extra env %q", got)
	}
	if got := e.keyFiles(); !slices.Equal(got, []string{"a.asc", "b.gpg"}) {
		t.Errorf("key files %q", got)
	}

	d := DefaultEnv()
	if d.Getenv == nil || d.Run == nil || d.Terminal == nil || d.Stderr == nil || d.Now == nil {
		t.Errorf("DefaultEnv leaves something out: %+v", d)
	}
}

// TestRunCommand: RunCommand passes standard input and extra variables,
// and reports a missing program as such.
func TestRunCommand(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil || runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	out, _, err := RunCommand([]string{"sh", "-c", `cat; printf %s "$KURA_X"; echo oops >&2`}, []string{"KURA_X=y"}, []byte("in:"))
	if err != nil || string(out) != "in:y" {
		t.Fatalf("%q, %v", out, err)
	}
	_, _, err = RunCommand([]string{filepath.Join(t.TempDir(), "none")}, nil, nil)
	if err == nil {
		t.Fatal("no error for a missing program")
	}
	src := NewSource(Env{Run: RunCommand, Getenv: vars(GPGExecEnv, filepath.Join(t.TempDir(), "none"))})
	if _, _, res := src.run([]string{"--version"}, nil); res.outcome != gpgUnavailable {
		t.Errorf("outcome %v", res.outcome)
	}
}
