package secretscan

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestKeyedPositives(t *testing.T) {
	tok := fake(b64, 24, 200)
	pw := fake(alnum+"!@#%^&*", 20, 201)
	cases := []scanCase{
		{"yaml password", "db:\n  password: " + pw + "\n", at("generic-password", 2, 13)},
		{"yaml quoted", "db:\n  db_password: \"" + pw + "\"\n", at("generic-password", 2, 17)},
		{"yaml single quoted, comment", "pass: '" + pw + "' # rotate yearly\n", at("generic-password", 1, 8)},
		{"yaml list item", "users:\n  - name: bob\n    passwd: " + pw + "\n", at("generic-password", 3, 13)},
		{"json", `{"apiKey": "` + tok + `"}`, at("high-entropy", 1, 13)},
		{"minified json", `{"user":"bob","password":"` + pw + `","port":5432}`, at("generic-password", 1, 27)},
		{"dotenv", "DB_PASS=" + pw + "\n", at("generic-password", 1, 9)},
		{"export", "export API_TOKEN=" + tok + "\n", at("high-entropy", 1, 18)},
		{"export quoted", `export API_TOKEN="` + tok + `"`, at("high-entropy", 1, 19)},
		{"ini", "[oauth]\nclient_secret = " + tok + "\n", at("high-entropy", 2, 17)},
		{"toml", `token = "` + tok + `"`, at("high-entropy", 1, 10)},
		{"go", `apiKey := "` + tok + `"`, at("high-entropy", 1, 12)},
		{"python", `API_KEY = '` + tok + `'`, at("high-entropy", 1, 12)},
		{"ruby hash", `:access_key => "` + tok + `"`, at("high-entropy", 1, 17)},
		{"xml", "<password>" + pw + "</password>", at("generic-password", 1, 11)},
		{"xml attribute", `<add key="x" password="` + pw + `"/>`, at("generic-password", 1, 24)},
		{"properties", "spring.datasource.password=" + pw, at("generic-password", 1, 28)},
		{"cli flag", "mysql --password=" + pw + " -h db", at("generic-password", 1, 18)},
		{"authorization header", "Authorization: Basic " + tok, at("high-entropy", 1, 22)},
		{"camel case private key", "privateKey: " + tok, h("high-entropy")},
		{"credentials", "credentials: " + tok, h("high-entropy")},
		{"passphrase", "GPG_PASSPHRASE=" + pw, h("generic-password")},
		{"pwd", "PWD_ADMIN=" + pw, h("generic-password")},
		{"hex secret", "SECRET_KEY_BASE=" + fake(hexLow, 64, 202), h("high-entropy")},
		{"k8s secret data", "data:\n  password: " + fake(b64, 28, 208) + "=\n", h("generic-password")},
		{"CRLF", "password: " + pw + "\r\nuser: bob\r\n", at("generic-password", 1, 11)},
		{"connection string", `ConnectionStrings__Db="Server=db;User Id=sa;Password=` + pw + `;"`, at("generic-password", 1, 54)},
		{"query string", "dsn: postgres://db/app?user=bob&password=" + tok + "&sslmode=require", at("generic-password", 1, 42)},
		// A value holding another assignment: the inner one is judged.
		{"nested assignment", "token=" + fake(alnum, 6, 209) + ";password=" + pw, at("generic-password", 1, 23)},
		{"nested assignment, random outer", "token=" + tok + ";password=" + pw, at("generic-password", 1, 41)},
		{"two on a line", `{"token":"` + tok + `","secret":"` + pw + `"}`, []hit{{"high-entropy", 1, 11}, {"high-entropy", 1, 47}}},
	}
	runCases(t, mustNew(t, Options{}), cases)
}

func TestKeyedNegatives(t *testing.T) {
	tok := fake(b64, 24, 210)
	cases := []scanCase{
		{"changeme", "password: changeme", nil},
		{"long changeme", "password: changeme-changeme-123", nil},
		{"env reference", "password: ${DB_PASSWORD}", nil},
		{"env reference with default", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-postgres123}", nil},
		{"actions secret", "token: ${{ secrets.GITHUB_TOKEN }}", nil},
		{"shell variable", "PASSWORD=$DB_PASSWORD_2024", nil},
		{"command substitution", "TOKEN=$(vault read -field=token secret/ci2)", nil},
		{"angle placeholder", "token: <your-token-here>", nil},
		{"angle placeholder with digits", "api_key: <API_KEY_FROM_STEP_2>", nil},
		{"x fill", "token: xxxxxxxxxxxxxxxxxxxx", nil},
		{"x fill with digits", "token: xxxxxxxxxxxxxxxxxxxx1", nil},
		{"replace me", "secret: REPLACE_ME", nil},
		{"replace me long", "secret: REPLACE_ME_WITH_REAL_SECRET_2", nil},
		{"helm template", "password: {{ .Values.password }}", nil},
		{"helm template quoted", `password: "{{ .Values.db.password2 }}"`, nil},
		{"sops ciphertext", "password: ENC[AES256_GCM,data:" + fake(b64, 32, 211) + "=,iv:" + fake(b64, 43, 212) + "=,tag:" + fake(b64, 22, 213) + "==,type:str]", nil},
		{"empty", "password:", nil},
		{"empty quoted", `password: ""`, nil},
		{"block scalar", "password: |\n  hunter2\n", nil},
		{"secretKeyRef", "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: db-credentials-2024\n        key: password\n", nil},
		{"secret name", "secretName: my-app-tls-secret-2024", nil},
		{"password file", "password_file: /run/secrets/db_password2", nil},
		{"token url", "token_url: https://auth.example.com/oauth2/v1/token", nil},
		{"auth flag", "auth: true\nauth_enabled: false\n", nil},
		{"auth method", "auth_method: kubernetes-2024-role", nil},
		{"identifier", "token: cfg.AuthToken", nil},
		{"java class", "authProvider2: io.kura.auth.OidcProviderFactory", nil},
		{"call", "password = os.getenv(\"DB_PASSWORD_2\")", nil},
		{"go call", "token := mintToken(ctx, user2, scopeAll)", nil},
		{"comparison", `if token == "` + tok + `" {`, nil},
		{"words", "password: correcthorsebatterystaple", nil},
		{"sentence", `password: "my password is long enough 123"`, nil},
		{"repetitive hex", "secret: 1a2b1a2b1a2b1a2b1a2b1a2b", nil},
		{"short", "password: hunter2", nil},
		{"15 chars", "password: " + fake(alnum, 15, 214), nil},
		{"arn", "token: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-db-AbCdEf", nil},
		{"vault reference", "secret: vault:secret/data/db#password2", nil},
		{"secret manager path", "api_key: projects/my-project-123/secrets/api-key/versions/3", nil},
		{"1password", "token: op://vault/item2/credential", nil},
		{"path", "private_key: ~/.ssh/id_ed25519", nil},
		{"windows path", `credential: C:\Users\bob2\creds.json`, nil},
		{"key id", "access_key_id: " + tok, nil},
		{"key in value only", "name: my-secret-" + tok, nil},
		{"python format", `password: "%(db_password)s2"`, nil},
		{"example", "api_key: sk-example-0123abcdEFGH4567", nil},
		{"not a key", "the password " + tok, nil},
		{"cpp path", "auth::Token::" + tok, nil},
		{"numbers", "token_ttl: 3600000000000000000", nil},
		{"number value", "password: 12345678901234567890", nil},
		{"uuid", "ChangeToken: " + fake(hexLow, 8, 203) + "-" + fake(hexLow, 4, 204) + "-4" + fake(hexLow, 3, 205) + "-a" + fake(hexLow, 3, 206) + "-" + fake(hexLow, 12, 207), nil},
		{"go struct field", "\tCredentialSource: credSourceEc2Metadata2x,", nil},
		{"go composite literal", "Authenticated: &v3rbacpb.Principal_Authenticated{Name: n},", nil},
		{"statement", "secret = computeSecret2(abc, def);", nil},
		{"index", "token = tokens[idx2].Value1Abc", nil},
		{"named after the key", "amzSecurityTokenKey = v4Internal.AmzSecurityTokenKey2", nil},
		{"field copy", "c.googleauthconfig2 = googleauthconfig2", nil},
		{"value says token", `"token": "my-api-token-2024-prod"`, nil},
		{"query parameter", "GET /?Action=Describe&Token=abc123&Version=2014-01-01", nil},
		{"yaml alias", "password: *defaultPassword2", nil},
		{"random fixture", `secretKey = "q+jcrXGc+0zWN6uzclKVhvMmRandom"`, nil},
		{"enum constant", `ClientPasswordAuthTypePostgresScramSha256 = "POSTGRES_SCRAM_SHA_256"`, nil},
		{"camel case value", `AuthMethodX509clientCertificate = "X509ClientCertificateMethod"`, nil},
		{"timestamp", `"PasswordChanged": "2016-09-24T16:18:07Z"`, nil},
		{"ipv6 authority", `proxy_auth: "[fe80::1%25en0]:8443"`, nil},
		{"host name", `authHost2: "traffic-director-c2p.xds.googleapis.com"`, nil},
		{"host and port", `token_host: db-2.internal:5432`, nil},
		{"query", `oauth: 2.0:oob&response_type=code&client_id=app2`, nil},
		{"jwt-shaped", `const tokenValue = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjI1MjQ2MDgwMDB9.sig"`, nil},
		{"pagination", `"NextToken": "` + tok + `"`, nil},
		{"authority", `authority: "userinfo@host2:10001"`, nil},
		{"go selector", "server.TLS.ClientAuth = tls.RequireAndVerifyClientCert", nil},
		{"words without digits", `LimitToken: "MaxNumberOfDomains"`, nil},
		{"urn", "Token: `urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2`", nil},
		{"escaped query", `"url": "https://x/auth?a=urn:ietf:wg:oauth:2.0:oob\u0026response_type=code\u0026scope=x"`, nil},
		{"letters only, random", "api_key: " + fake(upper+lowerAZ, 24, 230), h("high-entropy")},
	}
	runCases(t, mustNew(t, Options{}), cases)
}

func TestKeyedOptions(t *testing.T) {
	pw := fake(alnum, 12, 220)
	in := "password: " + pw
	if got := mustNew(t, Options{}).Scan([]byte(in)); got != nil {
		t.Fatalf("12-byte password found by default: %v", got)
	}
	if got := mustNew(t, Options{MinSecretLength: 8}).Scan([]byte(in)); !matches(got, h("generic-password")) {
		t.Fatalf("MinSecretLength 8: %v", got)
	}
	long := "secret: " + fake(b64, 40, 221)
	if got := mustNew(t, Options{EntropyThreshold: 7.9}).Scan([]byte(long)); got != nil {
		t.Fatalf("EntropyThreshold 7.9: %v", got)
	}
	hex := "secret: " + fake(hexLow, 40, 222)
	if got := mustNew(t, Options{HexEntropyThreshold: 3.99}).Scan([]byte(hex)); got != nil {
		t.Fatalf("HexEntropyThreshold 3.99: %v", got)
	}
	if got := mustNew(t, Options{DisabledRules: []string{"high-entropy"}}).Scan([]byte(long + "\n" + in[:10] + fake(alnum, 20, 223))); !matches(got, at("generic-password", 2, 11)) {
		t.Fatalf("high-entropy disabled: %v", got)
	}
}

// TestEntropyDefaults backs the numbers in shannon's and wordy's comments:
// with the default thresholds and the structural checks, nearly every
// random token is reported, and patterned fill has low entropy.
func TestEntropyDefaults(t *testing.T) {
	s := mustNew(t, Options{})
	for _, c := range []struct {
		alphabet  string
		threshold float64
	}{{b64, DefaultEntropyThreshold}, {alnum, DefaultEntropyThreshold}, {hexLow, DefaultHexEntropyThreshold}} {
		for _, n := range []int{20, 32} {
			const draws = 10000
			lowEntropy, missed := 0, 0
			// Raw draws, not fake's: every random token counts, including
			// those without a digit or with a placeholder word.
			r := rand.New(rand.NewPCG(uint64(n), uint64(len(c.alphabet))))
			for range draws {
				v := make([]byte, n)
				for i := range v {
					v[i] = c.alphabet[r.IntN(len(c.alphabet))]
				}
				if shannon(v) < c.threshold {
					lowEntropy++
				}
				if !s.randomValue(v) {
					missed++
				}
			}
			t.Logf("%d-byte tokens over %d symbols: %.2f%% under the entropy threshold, %.2f%% not reported",
				n, len(c.alphabet), 100*float64(lowEntropy)/draws, 100*float64(missed)/draws)
			limit := draws / 100 // 1% at 20 bytes
			if n == 32 {
				limit = draws / 500 // 0.2% at 32 bytes
			}
			if missed > limit {
				t.Errorf("%d of %d random %d-byte tokens over %q are not reported", missed, draws, n, c.alphabet)
			}
		}
	}
	for _, v := range []string{strings.Repeat("x", 20), strings.Repeat("0", 20), strings.Repeat("abc", 7), strings.Repeat("deadbeef", 3), strings.Repeat("a1", 10)} {
		if e := shannon([]byte(v)); e >= 2.5 {
			t.Errorf("shannon(%q) = %.2f, want < 2.5", v, e)
		}
	}
}

func TestClassifyKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want keyKind
	}{
		{"password", kindPassword}, {"DB_PASSWORD", kindPassword}, {"dbPass", kindPassword}, {"user.passwd", kindPassword},
		{"pwd", kindPassword}, {"gpg-passphrase", kindPassword},
		{"secret", kindSecret}, {"clientSecret", kindSecret}, {"API_KEY", kindSecret}, {"apiKey", kindSecret}, {"api-key", kindSecret},
		{"access_key", kindSecret}, {"privateKey", kindSecret}, {"Authorization", kindSecret}, {"auth_token", kindSecret}, {"credentials", kindSecret},
		{"aws_secret_access_key", kindAWSSecret}, {"AWS_SECRET_ACCESS_KEY", kindAWSSecret}, {"SecretAccessKey", kindAWSSecret}, {"aws_secret_key", kindAWSSecret},
		{"secretKeyRef", kindNone}, {"secretName", kindNone}, {"password_file", kindNone}, {"token_url", kindNone}, {"access_key_id", kindNone},
		{"auth_type", kindNone}, {"passwordHash", kindNone}, {"key", kindNone}, {"monkey", kindNone}, {"name", kindNone}, {"passenger", kindNone},
		{"oauth", kindSecret}, {"authKey", kindSecret}, {"proxy_authorization", kindSecret},
		{"authority", kindNone}, {"author", kindNone}, {"authentication_mode2", kindNone}, {"NextToken", kindNone}, {"nextPageToken", kindNone},
		{"ContinuationToken", kindNone}, {"PasswordLastUsed", kindNone}, {"token_expires_at", kindNone},
	} {
		if got := classifyKey([]byte(c.key)); got != c.want {
			t.Errorf("classifyKey(%q) = %d, want %d", c.key, got, c.want)
		}
	}
}
