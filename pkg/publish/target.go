// Package publish is the part of `kura publish` that lives in kura: the
// target URIs (vault-kv://, aws-secretsmanager://), the path templates of
// recursive runs, the conversion of a decrypted file into the JSON
// document a secret store receives, the description --dry-run prints, and
// the client that hands the document to the companion kura-kms, which
// holds the stores' SDKs (docs/key-source-protocol.md, "publish").
//
// Nothing here links a cloud SDK: kura's start-up cost stays that of its
// own code.
package publish

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Kind is a kind of target: the scheme of its URI.
type Kind string

// The target kinds.
const (
	// VaultKV is a secret of a HashiCorp Vault KV engine (version 2 by
	// default, 1 with kv_version=1).
	VaultKV Kind = "vault-kv"
	// SecretsManager is an AWS Secrets Manager secret.
	SecretsManager Kind = "aws-secretsmanager"
)

// Kinds lists the target kinds.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

var Kinds = []Kind{VaultKV, SecretsManager}

// Target is where a document is published.
type Target struct {
	Kind Kind

	// Vault KV: the engine's mount path and the secret's path below it,
	// without leading or trailing slashes; the Vault address ("" means
	// VAULT_ADDR) and the engine version, 1 or 2.
	Mount, Path, Address string
	KVVersion            int

	// Secrets Manager: the secret's name (or ARN) and the region (""
	// means the SDK's: AWS_REGION, the profile's).
	Name, Region string
}

// Parse reads a target URI:
//
//	vault-kv://MOUNT/PATH[?mount=M&address=URL&kv_version=1|2]
//	aws-secretsmanager://NAME[?region=R]
//
// MOUNT is the first segment of the path unless mount= names a mount of
// several segments, which must then begin the path. Runs of slashes count
// as one.
func Parse(uri string) (Target, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Target{}, fmt.Errorf("%q is not a target URI: use vault-kv://MOUNT/PATH or aws-secretsmanager://NAME", uri)
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Target{}, fmt.Errorf("%s: the query is malformed: %v", uri, err)
	}
	param := func(name string) string { return q.Get(name) }
	checkParams := func(allowed ...string) error {
		for k, v := range q {
			if !slices.Contains(allowed, k) {
				return fmt.Errorf("%s: unknown parameter %q (known: %s)", uri, k, strings.Join(allowed, ", "))
			}
			if len(v) > 1 {
				return fmt.Errorf("%s: parameter %q given twice", uri, k)
			}
		}
		return nil
	}
	switch Kind(scheme) {
	case VaultKV:
		if err := checkParams("mount", "address", "kv_version"); err != nil {
			return Target{}, err
		}
		t := Target{Kind: VaultKV, Address: param("address"), KVVersion: 2}
		if v := param("kv_version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || (n != 1 && n != 2) {
				return Target{}, fmt.Errorf("%s: kv_version must be 1 or 2", uri)
			}
			t.KVVersion = n
		}
		if t.Address != "" {
			a, err := url.Parse(t.Address)
			if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Host == "" {
				return Target{}, fmt.Errorf("%s: address must be a Vault URL such as https://vault.example.com:8200", uri)
			}
		}
		segs := segments(rest)
		for _, s := range segs {
			if s == "." || s == ".." || !printable(s) {
				return Target{}, fmt.Errorf("%s: the path may not hold %q segments or control characters", uri, s)
			}
		}
		nMount := 1
		if m := param("mount"); m != "" {
			ms := segments(m)
			if len(ms) == 0 || len(ms) > len(segs) || strings.Join(segs[:len(ms)], "/") != strings.Join(ms, "/") {
				return Target{}, fmt.Errorf("%s: the path does not begin with the mount %q", uri, m)
			}
			nMount = len(ms)
		}
		if len(segs) <= nMount {
			return Target{}, fmt.Errorf("%s: name a secret below the mount: vault-kv://MOUNT/PATH", uri)
		}
		t.Mount = strings.Join(segs[:nMount], "/")
		t.Path = strings.Join(segs[nMount:], "/")
		return t, nil
	case SecretsManager:
		if err := checkParams("region"); err != nil {
			return Target{}, err
		}
		t := Target{Kind: SecretsManager, Name: collapseSlashes(rest), Region: param("region")}
		if !(len(t.Name) <= 512 && secretName().MatchString(t.Name)) && !secretARN().MatchString(t.Name) {
			return Target{}, fmt.Errorf("%s: a secret name is 1 to 512 letters, digits and /_+=.@- (or a secret's ARN)", uri)
		}
		if t.Region != "" && !region().MatchString(t.Region) {
			return Target{}, fmt.Errorf("%s: %q is not an AWS region", uri, t.Region)
		}
		return t, nil
	}
	return Target{}, fmt.Errorf("%s: unknown target kind %q: use vault-kv://MOUNT/PATH or aws-secretsmanager://NAME", uri, scheme)
}

var (
	// Compiled on first use, as kura links this package. (A {1,512}
	// repeat in secretName would compile into a program that cost every
	// kura start 8 ms: the length is checked apart.)
	secretName = lazyRegexp(`^[A-Za-z0-9/_+=.@-]+$`)
	secretARN  = lazyRegexp(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`)
	region     = lazyRegexp(`^[a-z]{2}(-[a-z0-9]+)+$`)
)

// String is the target's URI in the form Parse reads, with the parameters
// that differ from the defaults.
func (t Target) String() string {
	q := map[string]string{}
	var b strings.Builder
	b.WriteString(string(t.Kind) + "://")
	switch t.Kind {
	case VaultKV:
		b.WriteString(t.Mount + "/" + t.Path)
		if strings.Contains(t.Mount, "/") {
			q["mount"] = t.Mount
		}
		if t.Address != "" {
			q["address"] = t.Address
		}
		if t.KVVersion == 1 {
			q["kv_version"] = "1"
		}
	case SecretsManager:
		b.WriteString(t.Name)
		if t.Region != "" {
			q["region"] = t.Region
		}
	}
	b.WriteString(queryString([]string{"mount", "address", "kv_version", "region"}, q))
	return b.String()
}

// segments splits a path on slashes, dropping empty segments.
func segments(p string) []string {
	var out []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// collapseSlashes turns runs of slashes into one.
func collapseSlashes(s string) string {
	for strings.Contains(s, "//") {
		s = strings.ReplaceAll(s, "//", "/")
	}
	return s
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// queryString writes parameters in a fixed order, escaping only what
// would end or confuse a query value, so that an address stays readable.
func queryString(names []string, q map[string]string) string {
	var parts []string
	esc := strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20", "=", "%3D")
	for _, n := range names {
		if v, ok := q[n]; ok {
			parts = append(parts, n+"="+esc.Replace(v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}
