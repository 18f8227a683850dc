package secretscan

import (
	"strings"
	"testing"
)

func TestPrivateKey(t *testing.T) {
	const begin = "-----BEGIN "
	rsa := pem("RSA PRIVATE KEY", 1)
	jsonEscaped := strings.ReplaceAll(pem("PRIVATE KEY", 2), "\n", `\n`)
	cases := []scanCase{
		{"rsa", rsa, at("private-key", 1, 1)},
		{"ec", pem("EC PRIVATE KEY", 3), h("private-key")},
		{"dsa", pem("DSA PRIVATE KEY", 4), h("private-key")},
		{"openssh", pem("OPENSSH PRIVATE KEY", 5), h("private-key")},
		{"pkcs8", pem("PRIVATE KEY", 6), h("private-key")},
		{"encrypted pkcs8", pem("ENCRYPTED PRIVATE KEY", 7), h("private-key")},
		{"pgp", begin + "PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n" + fake(b64, 64, 8) + "\n", h("private-key")},
		{"legacy encrypted pem", begin + "RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC," +
			strings.ToUpper(fake(hexLow, 32, 9)) + "\n\n" + fake(b64, 64, 10) + "\n", h("private-key")},
		{"yaml block, indented", "tls:\n  key: |\n    " + strings.ReplaceAll(pem("EC PRIVATE KEY", 11), "\n", "\n    "), at("private-key", 3, 5)},
		{"json escaped newlines", `{"key": "` + jsonEscaped + `"}`, at("private-key", 1, 10)},
		{"two keys", rsa + "\n" + rsa, []hit{{"private-key", 1, 1}, {"private-key", 7, 1}}},

		{"public key", pem("PUBLIC KEY", 12), nil},
		{"certificate", pem("CERTIFICATE", 13), nil},
		{"header without body", begin + "RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n", nil},
		{"header in code", `if strings.HasPrefix(s, "` + begin + `RSA PRIVATE KEY-----") {` + "\n\treturn parseRSA(s)\n}\n", nil},
		{"no dashes", "BEGIN RSA PRIVATE KEY\n" + fake(b64, 64, 14) + "\n", nil},
		{"prose", "Keep the private key out of git; a PRIVATE KEY header is easy to spot.\n", nil},
		{"lower case type", begin + "rsa PRIVATE KEY-----\n" + fake(b64, 64, 15) + "\n", nil},
	}
	runCases(t, mustNew(t, Options{}), cases)
}

func TestAgeSecretKey(t *testing.T) {
	const pre = "AGE-SECRET-KEY-"
	key := pre + "1" + fake(bech32U, 58, 20)
	cases := []scanCase{
		{"bare", key, at("age-secret-key", 1, 1)},
		{"keys.txt", "# created: 2024-01-01T00:00:00Z\n# public key: age1" + strings.ToLower(fake(bech32U, 58, 21)) + "\n" + key + "\n", at("age-secret-key", 3, 1)},
		{"post-quantum", pre + "PQ-1" + fake(bech32U, 58, 22), h("age-secret-key")},
		{"env", "SOPS_AGE_KEY=" + key + "\n", at("age-secret-key", 1, 14)},

		{"too short", pre + "1" + fake(bech32U, 57, 23), nil},
		{"too long", pre + "1" + fake(bech32U, 59, 24), nil},
		{"lower case", strings.ToLower(key), nil},
		{"not bech32 (B)", pre + "1" + fake(bech32U, 30, 25) + "B" + fake(bech32U, 27, 26), nil},
		{"glued", "X" + key, nil},
		{"fill", pre + "1" + strings.Repeat("Q", 58), nil},
		{"public key", "age1" + strings.ToLower(fake(bech32U, 58, 27)), nil},
	}
	runCases(t, mustNew(t, Options{}), cases)
}

func TestAWSAccessKeyID(t *testing.T) {
	var cases []scanCase
	for i, pre := range awsPrefixes {
		cases = append(cases, scanCase{pre, "id: " + pre + fake(b32, 16, uint64(30+i)) + "\n", at("aws-access-key-id", 1, 5)})
	}
	id := "AKIA" + fake(b32, 16, 40)
	cases = append(cases,
		scanCase{"credentials file", "[default]\naws_access_key_id = " + id + "\n", at("aws-access-key-id", 2, 21)},
		scanCase{"json", `{"AccessKeyId":"` + id + `"}`, at("aws-access-key-id", 1, 17)},

		scanCase{"15 chars", "AKIA" + fake(b32, 15, 41), nil},
		scanCase{"17 chars", "AKIA" + fake(b32, 17, 42), nil},
		scanCase{"not base32 (digit 0)", "AKIA" + fake(b32, 8, 43) + "0" + fake(b32, 7, 44), nil},
		scanCase{"lower case", "akia" + strings.ToLower(fake(b32, 16, 45)), nil},
		scanCase{"glued before", "X" + id, nil},
		scanCase{"glued after", id + "x", nil},
		scanCase{"unknown prefix", "AKIB" + fake(b32, 16, 46), nil},
		scanCase{"documentation example", "AKIA" + "IOSFODNN7" + "EXAMPLE", nil},
		scanCase{"fill", "AKIA" + strings.Repeat("X", 16), nil},
	)
	runCases(t, mustNew(t, Options{}), cases)
}

func TestAWSSecretAccessKey(t *testing.T) {
	secret := fake(b64, 40, 50)
	cases := []scanCase{
		{"credentials file", "[default]\naws_secret_access_key = " + secret + "\n", at("aws-secret-access-key", 2, 25)},
		{"env", "AWS_SECRET_ACCESS_KEY=" + secret, at("aws-secret-access-key", 1, 23)},
		{"yaml", "AWS_SECRET_ACCESS_KEY: '" + secret + "'", at("aws-secret-access-key", 1, 25)},
		{"sts json", `{"SecretAccessKey": "` + secret + `"}`, h("aws-secret-access-key")},
		{"terraform", `  aws_secret_key = "` + secret + `"`, h("aws-secret-access-key")},

		{"documentation example", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY", nil},
		{"reference", "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}", nil},
		{"fill", "aws_secret_access_key = " + strings.Repeat("x", 40), nil},
		{"key without secret", "aws_region_name = " + secret, nil},
		// Not 40 base64 characters: the generic rule still sees a secret.
		{"39 chars", "aws_secret_access_key = " + secret[:39], h("high-entropy")},
		{"secret without aws", "secret = " + secret, h("high-entropy")},
	}
	runCases(t, mustNew(t, Options{}), cases)
}

func TestGitHubToken(t *testing.T) {
	var cases []scanCase
	for i, pre := range []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"} {
		cases = append(cases, scanCase{pre, "token: " + pre + fake(alnum, 36, uint64(60+i)), at("github-token", 1, 8)})
	}
	pat := "github_pat_" + fake(alnum, 22, 66) + "_" + fake(alnum, 59, 67)
	cases = append(cases,
		scanCase{"fine-grained", "GITHUB_TOKEN=" + pat + "\n", at("github-token", 1, 14)},
		scanCase{"in url", "https://x-access-token:ghs_" + fake(alnum, 36, 68) + "@github.com/o/r.git", at("github-token", 1, 24)},

		scanCase{"35 chars", "ghp_" + fake(alnum, 35, 69), nil},
		scanCase{"unknown type", "ghx_" + fake(alnum, 36, 70), nil},
		scanCase{"glued", "xghp_" + fake(alnum, 36, 71), nil},
		scanCase{"trailing underscore", "ghp_" + fake(alnum, 36, 72) + "_x", nil},
		scanCase{"fill", "ghp_" + strings.Repeat("x", 36), nil},
		scanCase{"short fine-grained", "github_pat_" + fake(alnum, 81, 73), nil},
		scanCase{"dash in fine-grained", "github_pat_" + fake(alnum, 40, 74) + "-" + fake(alnum, 42, 75), nil},
		scanCase{"placeholder", "ghp_your_token_here", nil},
		scanCase{"prose", "the ghp_ prefix marks a classic token; see github_pat_ too", nil},
	)
	runCases(t, mustNew(t, Options{}), cases)
}

func TestGitLabToken(t *testing.T) {
	tok := "glpat-" + fake(b64url, 20, 80)
	runCases(t, mustNew(t, Options{}), []scanCase{
		{"bare", tok, at("gitlab-token", 1, 1)},
		{"env", "export GITLAB_TOKEN=" + tok, at("gitlab-token", 1, 21)},
		{"longer", "glpat-" + fake(b64url, 26, 81), h("gitlab-token")},

		{"19 chars", "glpat-" + fake(b64url, 19, 82), nil},
		{"fill", "glpat-" + strings.Repeat("x", 20), nil},
		{"glued", "xglpat-" + fake(b64url, 20, 83), nil},
		{"prefix only", "tokens start with glpat-", nil},
	})
}

func TestSlackToken(t *testing.T) {
	bot := "xoxb-" + fake(digits, 12, 90) + "-" + fake(digits, 13, 91) + "-" + fake(alnum, 24, 92)
	hook := "https://hooks.slack.com/services/T" + fake(upper+digits, 8, 93) + "/B" + fake(upper+digits, 10, 94) + "/" + fake(alnum, 24, 95)
	cases := []scanCase{
		{"bot", "SLACK_BOT_TOKEN=" + bot, at("slack-token", 1, 17)},
		{"webhook", "url: " + hook, at("slack-token", 1, 14)},
	}
	for i, typ := range "pars" {
		tok := "xox" + string(typ) + "-" + fake(digits, 11, uint64(96+i)) + "-" + fake(alnum, 32, uint64(100+i))
		cases = append(cases, scanCase{"xox" + string(typ), tok, h("slack-token")})
	}
	cases = append(cases,
		scanCase{"placeholder", "SLACK_TOKEN=xoxb-your-token-goes-in-this-place", nil},
		scanCase{"short", "xoxb-" + fake(digits, 6, 104) + "-" + fake(alnum, 6, 105), nil},
		scanCase{"unknown type", "xoxz-" + fake(digits, 12, 106) + "-" + fake(alnum, 24, 107), nil},
		scanCase{"no dash in body", "xoxb-" + fake(alnum, 30, 108), nil},
		scanCase{"documentation webhook", "https://hooks.slack.com/services/TXXXXXXXX/BXXXXXXXX/" + strings.Repeat("X", 24), nil},
		scanCase{"webhook without secret", "https://hooks.slack.com/services/T" + fake(upper+digits, 8, 109) + "/B" + fake(upper+digits, 10, 110), nil},
	)
	runCases(t, mustNew(t, Options{}), cases)
}

func TestStripeKey(t *testing.T) {
	runCases(t, mustNew(t, Options{}), []scanCase{
		{"secret", "STRIPE_KEY=sk_" + "live_" + fake(alnum, 24, 120), at("stripe-key", 1, 12)},
		{"restricted", "rk_" + "live_" + fake(alnum, 99, 121), at("stripe-key", 1, 1)},

		{"test key", "sk_" + "test_" + fake(alnum, 24, 122), nil},
		{"23 chars", "sk_" + "live_" + fake(alnum, 23, 123), nil},
		{"glued", "ask_" + "live_" + fake(alnum, 24, 124), nil},
		{"publishable", "pk_" + "live_" + fake(alnum, 24, 125), nil},
	})
}

func TestGoogleAPIKey(t *testing.T) {
	key := "AIza" + fake(b64url, 35, 130)
	runCases(t, mustNew(t, Options{}), []scanCase{
		{"bare", key, at("google-api-key", 1, 1)},
		{"js", `const firebase = {apiKey: "` + key + `"};`, at("google-api-key", 1, 28)},

		{"34 chars", "AIza" + fake(b64url, 34, 131), nil},
		{"36 chars", "AIza" + fake(b64url, 36, 132), nil},
		{"glued", "x" + key, nil},
		{"lower case prefix", "aiza" + fake(b64url, 35, 133), nil},
	})
}

func TestGCPServiceAccount(t *testing.T) {
	pk := strings.ReplaceAll(pem("PRIVATE KEY", 140), "\n", `\n`)
	sa := func(typ, key string) string {
		return "{\n" +
			`  "type": "` + typ + `",` + "\n" +
			`  "project_id": "kura-test",` + "\n" +
			`  "private_key_id": "` + fake(hexLow, 40, 141) + `",` + "\n" +
			`  "private_key": "` + key + `",` + "\n" +
			`  "client_email": "ci@kura-test.iam.gserviceaccount.com"` + "\n}\n"
	}
	s := mustNew(t, Options{})
	runCases(t, s, []scanCase{
		{"key file", sa("service_account", pk), at("gcp-service-account", 5, 3)},
		{"compact", `{"type":"service_account","private_key":"` + pk + `"}`, at("gcp-service-account", 1, 27)},

		{"redacted key", sa("service_account", "REDACTED"), nil},
		{"empty key", sa("service_account", ""), nil},
		{"sops ciphertext", sa("service_account", "ENC[AES256_GCM,data:"+fake(b64, 200, 142)+",type:str]"), nil},
		// Not a service account: the PEM key is still reported, as itself.
		{"other type", sa("authorized_user", pk), at("private-key", 5, 19)},
	})
	noGCP := mustNew(t, Options{DisabledRules: []string{"gcp-service-account"}})
	runCases(t, noGCP, []scanCase{{"disabled", sa("service_account", pk), at("private-key", 5, 19)}})
}

func TestJWT(t *testing.T) {
	tok := jwtOf(150)
	parts := strings.Split(tok, ".")
	runCases(t, mustNew(t, Options{}), []scanCase{
		{"bare", tok, at("jwt", 1, 1)},
		{"bearer header", "Authorization: Bearer " + tok, at("jwt", 1, 23)},
		{"query", "https://example.com/cb?id_token=" + tok + "&state=1", at("jwt", 1, 33)},

		{"header only", parts[0], nil},
		{"two segments", parts[0] + "." + parts[1], nil},
		{"unsigned", parts[0] + "." + parts[1] + ".", nil},
		{"short signature", parts[0] + "." + parts[1] + "." + fake(b64url, 10, 151), nil},
		{"short payload", parts[0] + ".eyJhIjox." + parts[2], nil},
		{"inside base64", "abc" + tok, nil},
	})
}
