package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kura-secrets/kura/internal/fakecloud/awslocal"
	"github.com/kura-secrets/kura/internal/fakecloud/azfake"
	"github.com/kura-secrets/kura/internal/fakecloud/gcpfake"
	"github.com/kura-secrets/kura/internal/fakecloud/vaultfake"
)

// pgpTestKeys are the PGP files of ../../testdata/keys each key-source
// script finds in $WORK/keys, beside those of testKeys.
var pgpTestKeys = []string{"pgp1.pub.asc", "pgp1.sec.asc", "pgp2.pub.asc", "pgp2.sec.asc"}

// TestKeySourceScripts runs the scripts of testdata/keysources/: kura
// with every key source, against local fakes of AWS KMS (local-kms, which
// must be installed), GCP KMS, Azure Key Vault and Vault transit, started
// once for all scripts, the real gpg and the real sops 3.13.2. kura runs
// kura-kms from testscript's command directory, where TestMain put both.
// With CI set, a missing local-kms, gpg or sops fails the test; elsewhere
// the scripts that need gpg check [exec:gpg] and those that need sops
// check [sops].
//
// Each script starts as TestScript's do (clean environment, the age test
// keys in $WORK/keys, $AGE1 and $AGE2), with the PGP test keys in
// $WORK/keys too, and an environment that points kura-kms and sops at the
// fakes (SSL_CERT_FILE is a bundle of the fakes' certificates) and holds:
//
//	$KMS_ARN $KMS_ALIAS_ARN $KMS_OTHER_ARN $KMS_MISSING_ARN $KMS_DISABLED_ARN
//	$KMS_ROLE_ARN $KMS_DENIED_ROLE_ARN  roles the fake STS grants and refuses
//	$AWS_PROFILE_KEY_ID $AWS_PROFILE_SECRET  credentials only a profile holds
//	$AWS_STATIC_KEY_ID $AWS_STATIC_SECRET  those of the environment
//	$AWS_KMS_ENDPOINT  AWS_ENDPOINT_URL_KMS's value
//	$GCP_KEY $GCP_OTHER_KEY $GCP_MISSING_KEY $GCP_NO_ACCESS_TOKEN
//	$GCP_TOKEN $GCP_ENDPOINT  GOOGLE_OAUTH_ACCESS_TOKEN's and SOPS_GCP_KMS_ENDPOINT's values
//	$GCP_CREDENTIALS_FILE  a service account key the fake trusts
//	$AZURE_VAULT  the vault's URL
//	$AZURE_KEY $AZURE_KEY_V  key kura-test without a version, and with the
//	                         older of its two ($AZURE_VERSION_OLD)
//	$AZURE_VERSION  kura-test's current version
//	$AZURE_OTHER_KEY $AZURE_MISSING_KEY $AZURE_FORBIDDEN_CLIENT_ID
//	$VAULT_KEY $VAULT_OTHER_KEY $VAULT_MISSING_KEY  engine transit
//	$VAULT_DEEP_KEY  engine secret/team/transit
//	$VAULT_NO_ACCESS_TOKEN $VAULT_GOOD_TOKEN  VAULT_TOKEN's value is the latter
//	$CLOSED_ADDR  a loopback host:port where nothing listens
//	$SILENT_ADDR  a loopback host:port that accepts connections and never answers
//	$PGP1 $PGP2  fingerprints
//	$GNUPGHOME $GNUPGHOME_BOTH  a GnuPG home with both secret keys
//	$GNUPGHOME_PGP2  one with pgp2's secret key only
//	$GNUPGHOME_PUB  one with both public keys only
//	$SOPS  the sops binary
//	$NOKMS_DIR  a directory that holds kura and no kura-kms
//	$KMS_DIR  the directory of kura-kms (testscript's command directory)
//
// Each script talks to Vault through a counting proxy of its own
// ($VAULT_ADDR, and the address in every $VAULT_*KEY), so that vaultcalls
// sees that script's requests only, though scripts run in parallel.
//
// Besides exitcode, sed, corrupt and envfile of TestScript, the scripts
// have within (a time limit on a command) and vaultcalls.
func TestKeySourceScripts(t *testing.T) {
	keysDir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	t.Cleanup(func() { t.Logf("key-source scripts took %v", time.Since(start).Round(time.Millisecond)) })
	aws := awslocal.Start(t)
	gcp := gcpfake.Start(t)
	az := azfake.Start(t)
	vault := vaultfake.Start(t)

	const gcpPrefix = "projects/kura-test/locations/global/keyRings/kura/cryptoKeys/"
	gcp.AddKey(gcpPrefix + "kura-test")
	gcp.AddKey(gcpPrefix + "kura-other")
	azOld := az.AddKey("kura-test")
	azCurrent := az.AddKey("kura-test")
	az.AddKey("kura-other")
	vault.AddKey("transit", "kura-test")
	vault.AddKey("transit", "kura-other")
	vault.AddKey("secret/team/transit", "kura-deep")
	const profileKeyID, profileSecret = "AKIAKURATESTPROFILE1", "kura-test-profile-secret-000000000000000"
	aws.AddCredentials(profileKeyID, profileSecret)
	closed, silent := gcpfake.ClosedEndpoint(t), gcpfake.SilentEndpoint(t)

	// One bundle for the two fakes that serve TLS: Go reads one
	// SSL_CERT_FILE.
	gcpCert, err := os.ReadFile(gcp.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "fakes-ca.pem")
	if err := os.WriteFile(bundle, append(append(gcpCert, '\n'), az.CertPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeEnv, err := mergeEnv(bundle, aws.Env(), gcp.Env(), az.Env(), vault.Env())
	if err != nil {
		t.Fatal(err)
	}

	homes := pgpHomes(t, keysDir)
	sops := awslocal.LookTool("sops")
	if sops == "" && os.Getenv("CI") != "" {
		t.Fatal("sops is not installed: go install github.com/getsops/sops/v3/cmd/sops@v3.13.2")
	}
	kmsBin, err := exec.LookPath("kura-kms")
	if err != nil {
		t.Fatalf("testscript did not put kura-kms on PATH: %v", err)
	}
	noKMS := noKMSDir(t)

	vars := map[string]string{
		"KMS_ARN":             aws.KeyARN,
		"KMS_ALIAS_ARN":       aws.AliasARN,
		"KMS_OTHER_ARN":       aws.OtherKeyARN,
		"KMS_MISSING_ARN":     aws.MissingKeyARN,
		"KMS_DISABLED_ARN":    aws.DisabledKeyARN,
		"KMS_ROLE_ARN":        awslocal.Role,
		"KMS_DENIED_ROLE_ARN": awslocal.DeniedRole,
		"AWS_PROFILE_KEY_ID":  profileKeyID,
		"AWS_PROFILE_SECRET":  profileSecret,
		"AWS_STATIC_KEY_ID":   awslocal.AccessKeyID,
		"AWS_STATIC_SECRET":   awslocal.SecretAccessKey,
		"AWS_KMS_ENDPOINT":    aws.Endpoint,

		"GCP_KEY":              gcpPrefix + "kura-test",
		"GCP_OTHER_KEY":        gcpPrefix + "kura-other",
		"GCP_MISSING_KEY":      gcpPrefix + "kura-missing",
		"GCP_NO_ACCESS_TOKEN":  gcp.NoAccessToken,
		"GCP_TOKEN":            gcp.Token,
		"GCP_ENDPOINT":         gcp.Endpoint,
		"GCP_CREDENTIALS_FILE": gcp.CredentialsFile(),

		"AZURE_VAULT":               az.VaultURL(),
		"AZURE_KEY":                 az.KeyURL("kura-test", ""),
		"AZURE_KEY_V":               az.KeyURL("kura-test", azOld),
		"AZURE_VERSION_OLD":         azOld,
		"AZURE_VERSION":             azCurrent,
		"AZURE_OTHER_KEY":           az.KeyURL("kura-other", ""),
		"AZURE_MISSING_KEY":         az.KeyURL("kura-missing", ""),
		"AZURE_FORBIDDEN_CLIENT_ID": azfake.ForbiddenClientID,

		"VAULT_NO_ACCESS_TOKEN": vault.NoAccessToken,
		"VAULT_GOOD_TOKEN":      vault.Token,
		"CLOSED_ADDR":           closed,
		"SILENT_ADDR":           silent,

		"PGP1":           readTrim(t, filepath.Join(keysDir, "pgp1.fingerprint")),
		"PGP2":           readTrim(t, filepath.Join(keysDir, "pgp2.fingerprint")),
		"GNUPGHOME":      homes.both,
		"GNUPGHOME_BOTH": homes.both,
		"GNUPGHOME_PGP2": homes.pgp2,
		"GNUPGHOME_PUB":  homes.pub,
		"SOPS":           sops,
		"NOKMS_DIR":      noKMS,
		"KMS_DIR":        filepath.Dir(kmsBin),
	}

	// The fakes' credentials are secrets too (hygiene_test.go).
	credentials := []secretRecord{
		{profileSecret, "AWS profile secret"},
		{awslocal.SecretAccessKey, "AWS secret access key"},
		{gcp.Token, "GCP access token"},
		{vault.Token, "Vault token"},
	}
	testscript.Run(t, testscript.Params{
		Dir:                filepath.Join("testdata", "keysources"),
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			if err := setupHygiene(e, keysDir, credentials); err != nil {
				return err
			}
			if err := setupScript(e, keysDir); err != nil {
				return err
			}
			if err := copyKeys(e, keysDir, pgpTestKeys); err != nil {
				return err
			}
			for _, kv := range fakeEnv {
				k, v, _ := strings.Cut(kv, "=")
				e.Setenv(k, v)
			}
			for k, v := range vars {
				if v != "" {
					e.Setenv(k, v)
				}
			}
			p := newVaultProxy(vault.Address)
			e.Defer(p.close)
			e.Values[vaultProxyKey{}] = p
			e.Setenv("VAULT_ADDR", p.URL())
			e.Setenv("VAULT_KEY", p.URL()+"/v1/transit/keys/kura-test")
			e.Setenv("VAULT_OTHER_KEY", p.URL()+"/v1/transit/keys/kura-other")
			e.Setenv("VAULT_MISSING_KEY", p.URL()+"/v1/transit/keys/kura-missing")
			e.Setenv("VAULT_DEEP_KEY", p.URL()+"/v1/secret/team/transit/keys/kura-deep")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sops":
				return sops != "", nil
			}
			return false, errors.New("unknown condition " + strconv.Quote(cond))
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":   cmdExitcode,
			"sed":        cmdSed,
			"corrupt":    cmdCorrupt,
			"envfile":    cmdEnvfile,
			"within":     cmdWithin,
			"vaultcalls": cmdVaultCalls,
		},
	})
}

// mergeEnv joins the fakes' environments: variables set to nothing are
// left out (the scripts' environment holds nothing of the user's),
// NO_PROXY lists become one, and SSL_CERT_FILE is the bundle of every
// fake's certificate. Two fakes setting one variable to different values
// is an error.
func mergeEnv(bundle string, envs ...[]string) ([]string, error) {
	out := map[string]string{}
	var order []string
	noProxy := map[string]bool{}
	var noProxyList []string
	for _, env := range envs {
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case v == "":
				continue
			case strings.EqualFold(k, "NO_PROXY"):
				for _, h := range strings.Split(v, ",") {
					if !noProxy[h] {
						noProxy[h] = true
						noProxyList = append(noProxyList, h)
					}
				}
				continue
			case k == "SSL_CERT_FILE":
				v = bundle
			}
			if old, ok := out[k]; ok && old != v {
				return nil, errors.New("two fakes set " + k + ": " + old + " and " + v)
			}
			if _, ok := out[k]; !ok {
				order = append(order, k)
			}
			out[k] = v
		}
	}
	var env []string
	for _, k := range order {
		env = append(env, k+"="+out[k])
	}
	np := strings.Join(noProxyList, ",")
	return append(env, "NO_PROXY="+np, "no_proxy="+np), nil
}

func readTrim(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func copyKeys(e *testscript.Env, keysDir string, names []string) error {
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(keysDir, name))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(e.WorkDir, "keys", name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// gnupg holds the GnuPG homes the scripts share.
type gnupg struct {
	both, pgp2, pub string
}

// pgpHomes imports the PGP test keys with the real gpg into short-named
// homes (gpg-agent's socket lives in them), and removes them, agents
// stopped, when the test ends. Without gpg it returns no homes, unless CI
// is set, where it fails.
func pgpHomes(t *testing.T, keysDir string) gnupg {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("gpg is not installed; .ci/run installs it")
		}
		t.Log("gpg is not installed: the scripts that need it are skipped")
		return gnupg{}
	}
	mk := func(files ...string) string {
		home, err := os.MkdirTemp("", "kura-ks-gpg-")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(home, 0o700)
		t.Cleanup(func() {
			exec.Command("gpgconf", "--homedir", home, "--kill", "all").Run()
			os.RemoveAll(home)
		})
		for _, f := range files {
			cmd := exec.Command("gpg", "--batch", "--quiet", "--homedir", home, "--import", filepath.Join(keysDir, f))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("importing %s: %v\n%s", f, err, out)
			}
		}
		return home
	}
	return gnupg{
		both: mk("pgp1.sec.asc", "pgp2.sec.asc"),
		pgp2: mk("pgp2.sec.asc"),
		pub:  mk("pgp1.pub.asc", "pgp2.pub.asc"),
	}
}

// noKMSDir returns a directory holding the test binary as kura and
// nothing else: kura run from there finds kura-kms on PATH only.
func noKMSDir(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "kura")
	if err := os.Link(self, dst); err != nil {
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// within SECONDS [exitcode N] PROGRAM [ARGS...] runs PROGRAM, as exec or
// exitcode would, and fails if it took more than SECONDS seconds.
func cmdWithin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: within seconds [exitcode n] program [args...]")
	}
	limit, err := strconv.ParseFloat(args[0], 64)
	if err != nil {
		ts.Fatalf("within: bad duration %q", args[0])
	}
	t0 := time.Now()
	if args[1] == "exitcode" {
		if neg {
			ts.Fatalf("unsupported: ! within ... exitcode")
		}
		cmdExitcode(ts, false, args[2:])
	} else {
		err := ts.Exec(args[1], args[2:]...)
		if err != nil && !neg {
			ts.Fatalf("%s: %v", args[1], err)
		}
		if err == nil && neg {
			ts.Fatalf("%s unexpectedly succeeded", args[1])
		}
	}
	took := time.Since(t0)
	ts.Logf("%s took %v", args[1], took.Round(time.Millisecond))
	if took > time.Duration(limit*float64(time.Second)) {
		ts.Fatalf("%s took %v, more than %vs", args[1], took.Round(time.Millisecond), args[0])
	}
}

// vaultProxy forwards a script's Vault requests to the shared fake and
// counts them.
type vaultProxy struct {
	srv    *httptest.Server
	mu     sync.Mutex
	counts map[string]int // "encrypt", "decrypt", "other"
}

type vaultProxyKey struct{}

func newVaultProxy(target string) *vaultProxy {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	p := &vaultProxy{counts: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.Transport = &http.Transport{Proxy: nil}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := "other"
		for _, o := range []string{"encrypt", "decrypt"} {
			if strings.Contains(r.URL.Path, "/"+o+"/") {
				op = o
			}
		}
		p.mu.Lock()
		p.counts[op]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	return p
}

func (p *vaultProxy) URL() string { return p.srv.URL }
func (p *vaultProxy) close()      { p.srv.Close() }

// take returns the number of requests of op since the last take.
func (p *vaultProxy) take(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.counts[op]
	p.counts[op] = 0
	return n
}

// vaultcalls OP N checks that the script sent N Vault transit requests of
// kind OP (encrypt or decrypt) since its last vaultcalls OP.
func cmdVaultCalls(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || (args[0] != "encrypt" && args[0] != "decrypt") {
		ts.Fatalf("usage: vaultcalls encrypt|decrypt n")
	}
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("vaultcalls: bad count %q", args[1])
	}
	p := ts.Value(vaultProxyKey{}).(*vaultProxy)
	if got := p.take(args[0]); got != want {
		ts.Fatalf("Vault received %d %s requests, want %d", got, args[0], want)
	}
}
