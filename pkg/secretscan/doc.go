// Package secretscan finds plaintext secrets in file contents.
//
// It backs `kura scan`, the pre-commit guard: every staged or tracked file
// that is not SOPS-encrypted is handed to [Scanner.Scan], and a commit is
// refused when a [Finding] comes back. The point of kura is that secrets live
// in git only as SOPS ciphertext, so a credential that slipped in as
// plaintext is exactly the mistake this package exists to catch before it
// reaches history, where it can no longer be taken back.
//
// A Finding names the line, the column and the rule, never the secret: the
// report is printed to terminals and CI logs, and echoing the secret there
// would leak it a second time.
//
// # Rules
//
// Rules with a fixed shape (a vendor prefix, a PEM header) are matched
// precisely and report nearly no false positives:
//
//   - private-key: a PEM or OpenSSH private key block (RSA, EC, DSA,
//     OPENSSH, ENCRYPTED, plain PKCS#8, PGP PRIVATE KEY BLOCK). A header
//     alone, with no key body after it, is documentation and is not reported.
//   - age-secret-key: an age identity, AGE-SECRET-KEY-1… or the post-quantum
//     AGE-SECRET-KEY-PQ-1…, with 58 upper-case bech32 characters.
//   - aws-access-key-id: AKIA, ASIA, AGPA, AIDA, AROA, ANPA, ANVA or AIPA
//     and 16 characters of [A-Z2-7], as a whole word.
//   - aws-secret-access-key: 40 base64 characters assigned to a key whose
//     name mentions both aws and secret (aws_secret_access_key, …).
//   - github-token: ghp_, gho_, ghu_, ghs_, ghr_ and 36+ alphanumerics;
//     github_pat_ and 82+ of [A-Za-z0-9_].
//   - gitlab-token: glpat- and 20+ of [A-Za-z0-9_-].
//   - slack-token: xoxb-, xoxp-, xoxa-, xoxr-, xoxs- tokens and
//     hooks.slack.com/services/T…/B…/… webhook URLs.
//   - stripe-key: sk_live_ or rk_live_ and 24+ alphanumerics.
//   - google-api-key: AIza and 35 of [0-9A-Za-z_-].
//   - gcp-service-account: JSON with "type": "service_account" and a
//     "private_key"; reported at the private_key line.
//   - jwt: three base64url segments, the first starting with eyJ.
//
// Two rules look at values assigned to keys whose names suggest a secret
// (password, passwd, passphrase, pwd, …pass, secret, token, api_key/apikey,
// access_key, private_key, auth, credential; case, '_', '-' and '.' are
// ignored), written as YAML `key: value`, JSON `"key": "value"`, dotenv or
// shell `KEY=value` / `export KEY=value`, INI/TOML `key = value`, Go
// `key := "value"`, or XML `<key>value</key>`:
//
//   - generic-password: the key names a password (password, passwd,
//     passphrase, pwd, or ends in pass).
//   - high-entropy: any other secret-looking key.
//
// Both report a value only if it looks generated, because a secret-looking
// key holds a reference, a template or code far more often than a secret:
//
//   - at least [DefaultMinSecretLength] bytes, with no white space;
//   - a Shannon entropy of at least [DefaultEntropyThreshold] bits per byte,
//     or [DefaultHexEntropyThreshold] for hexadecimal values, whose alphabet
//     carries only 4 bits per character;
//   - not a placeholder: changeme, xxxx, <…>, ${VAR}, $VAR, {{ … }},
//     %(name)s, REPLACE_ME, your-…-here, EXAMPLE, test, 123456, …;
//   - not a reference: ENC[…] or anything naming AES256_GCM, vault:, arn:,
//     urn:, op://, URLs, file and secret-store paths, host names, UUIDs;
//   - not code: unquoted values with brackets, a leading & or *, or a
//     trailing , or ; (literal secrets in code are quoted);
//   - not words: values must hold letters and digits, or mix cases; values
//     that read as CamelCase words or SCREAMING_SNAKE constants, and values
//     that themselves contain a keyword (token = accessToken2), are names;
//   - not under a key that names a secret without holding one
//     (secretKeyRef, password_file, token_url, access_key_id, auth_type,
//     NextToken, …) or that says auth for something else (author,
//     authority, authentication).
//
// Entropy alone cannot tell a 16-byte token from a 16-byte phrase — both
// have mostly distinct bytes — so the structural checks do most of the
// work. TestEntropyDefaults measures what they cost: about 0.6% of random
// 20-byte base64 tokens and 0.05% of 32-byte ones go unreported.
//
// When a value matches both a precise rule and a generic one (GITHUB_TOKEN=
// ghp_…), only the precise rule is reported.
//
// SOPS ciphertexts, ENC[AES256_GCM,data:…], never produce a finding, even
// where their base64 happens to contain something token-shaped.
//
// # Allowlisting
//
// A line containing the marker kura:allow (usually in a comment, anywhere on
// the line) produces no finding; for a multi-line private key block the
// marker belongs on the BEGIN line, where the finding is reported.
//
// [Options.AllowPatterns] holds regular expressions; a finding whose matched
// text (the token, the assigned value, or the whole PEM block) matches one
// is dropped — for known test fixtures. The matched text is used internally
// only and never returned.
//
// [Options.DisabledRules] turns rules off by ID.
//
// # Performance
//
// `kura scan` runs on every commit over whole trees of small config files,
// so Scan never runs a regular expression over the content. Each rule has a
// cheap literal anchor ("PRIVATE KEY", 'A' for AKIA…/AIza…/AGE-…, 'J' for
// eyJ, "gh", "glpat-", "xox", …) found with bytes.Index or bytes.IndexByte,
// and the precise check runs only at the anchor. The key-based rules find
// their keyword stems in a single pass over the bytes with two 256-entry
// tables (case-insensitively, without copying the content), and parse a
// key and value only around a stem. Every check is linear in the content,
// adversarial content included, and clean content costs no allocation.
// Content with a NUL byte in its first 8 KiB is treated as binary and
// skipped.
package secretscan
