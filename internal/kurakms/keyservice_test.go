package kurakms

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/keyservice"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestForwardThroughKeyservice runs kura's whole path in-process: a
// key-source protocol request naming a key service goes to the forwarder,
// over gRPC on a Unix socket to the key service handler, which uses the
// age identity of SOPS_AGE_KEY_FILE.
func TestForwardThroughKeyservice(t *testing.T) {
	keysDir, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "keys"))
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("SOPS_AGE_KEY_FILE", filepath.Join(keysDir, "age1.txt"))
	age1 := readTrim(t, filepath.Join(keysDir, "age1.pub"))
	age2 := readTrim(t, filepath.Join(keysDir, "age2.pub"))

	sock := filepath.Join(t.TempDir(), "ks.sock")
	lis, err := listenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v, %v", st.Mode(), err)
	}
	var logBuf syncBuffer
	srv := keyservice.NewServer()
	keyservice.Register(srv, newKeyserviceHandler(log.New(&logBuf, "", 0)))
	go srv.Serve(lis)
	defer srv.Stop()

	fwd := newForwarder(os.Getenv, io.Discard)
	defer fwd.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	go func() {
		kmsproto.Serve(inR, outW, map[keys.Type]kmsproto.Provider{kmsproto.KeyServiceType: fwd}, nil)
		outW.Close()
	}()
	defer inW.Close()
	out := bufio.NewScanner(outR)
	call := func(req kmsproto.Request) kmsproto.Response {
		t.Helper()
		b, _ := json.Marshal(req)
		inW.Write(append(b, '\n'))
		if !out.Scan() {
			t.Fatal("no response")
		}
		var resp kmsproto.Response
		if err := json.Unmarshal(out.Bytes(), &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	uri := "unix://" + sock

	hello := call(kmsproto.Request{ID: 1, Op: kmsproto.OpHello, Version: kmsproto.Version})
	if strings.Join(hello.Types, ",") != string(kmsproto.KeyServiceType) {
		t.Errorf("hello types %v", hello.Types)
	}

	payload := kmsproto.EncodePayload([]byte("0123456789abcdef0123456789abcdef"))
	w := call(kmsproto.Request{ID: 2, Op: kmsproto.OpWrap, KeyService: uri, Key: &kmsproto.Key{Type: "age", Recipient: age1}, Payload: payload})
	if w.Error != nil || w.Key == nil || !strings.Contains(w.Key.Enc, "BEGIN AGE ENCRYPTED FILE") || w.Key.CreatedAt != "" {
		t.Fatalf("wrap: %+v %+v", w.Key, w.Error)
	}
	u := call(kmsproto.Request{ID: 3, Op: kmsproto.OpUnwrap, KeyService: uri, Key: w.Key})
	if u.Error != nil || u.Payload != payload {
		t.Fatalf("unwrap: %+v", u)
	}

	// age2's data key: the server holds no identity for it, which the
	// client learns as a missing credential.
	w2 := call(kmsproto.Request{ID: 4, Op: kmsproto.OpWrap, KeyService: uri, Key: &kmsproto.Key{Type: "age", Recipient: age2}, Payload: payload})
	u2 := call(kmsproto.Request{ID: 5, Op: kmsproto.OpUnwrap, KeyService: uri, Key: w2.Key})
	if u2.Error == nil || u2.Error.Kind != kmsproto.NoCredentials || !strings.Contains(u2.Error.Message, "key service "+uri) {
		t.Errorf("unwrap for age2: %+v", u2.Error)
	}
	// A key type the server does not serve.
	u3 := call(kmsproto.Request{ID: 6, Op: kmsproto.OpUnwrap, KeyService: uri, Key: &kmsproto.Key{Type: "hckms", KeyID: "r:k", Enc: "x"}})
	if u3.Error == nil || u3.Error.Kind != kmsproto.Unsupported {
		t.Errorf("hckms: %+v", u3.Error)
	}
	// A service that is not there.
	u4 := call(kmsproto.Request{ID: 7, Op: kmsproto.OpUnwrap, KeyService: uri + ".gone", Key: w.Key})
	if u4.Error == nil || u4.Error.Kind != kmsproto.Unreachable {
		t.Errorf("no service: %+v", u4.Error)
	}

	logs := logBuf.String()
	for _, want := range []string{
		"encrypt age " + age1 + " from unix: ok",
		"decrypt age " + age1 + " from unix: ok",
		"decrypt age " + age2 + " from unix: failed: ",
		"decrypt hckms r:k from unix: failed: ",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "AGE-SECRET-KEY") || strings.Contains(logs, "0123456789abcdef") || strings.Contains(logs, "BEGIN AGE") {
		t.Errorf("the log holds key material:\n%s", logs)
	}
	if n := strings.Count(logs, "\n"); n != 5 {
		t.Errorf("%d log lines for 5 requests:\n%s", n, logs)
	}
}

func TestTCPNeedsMutualTLS(t *testing.T) {
	var stderr bytes.Buffer
	if code := keyserviceMain([]string{"--network", "tcp", "--address", "127.0.0.1:0", "--tls-cert", "c"}, io.Discard, &stderr); code != 2 {
		t.Errorf("exit %d", code)
	}
	if s := stderr.String(); !strings.HasPrefix(s, "kura keyservice: error: refusing to serve on TCP without mutual TLS") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr %q", s)
	}
}

func readTrim(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
