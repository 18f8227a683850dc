package hcvault

import (
	"fmt"
	"os"
	"strings"
)

// AllowlistEnv names the variable that limits the Vault addresses kura
// talks to, as in sops 3.13.2: "all" (the default, also when it is unset
// or empty), "none", or a comma-separated list of URL prefixes. Each
// prefix, and the address checked, gets a trailing "/" if it has none,
// so "https://vault.example.com" allows https://vault.example.com but not
// https://vault.example.com.evil.net or https://vault.example.com:8200.
const AllowlistEnv = "SOPS_HC_VAULT_ALLOWLIST"

type allowlist struct {
	all      bool
	prefixes []string
}

func readAllowlist() (allowlist, error) {
	return parseAllowlist(os.Getenv(AllowlistEnv))
}

func parseAllowlist(s string) (allowlist, error) {
	switch s {
	case "", "all":
		return allowlist{all: true}, nil
	case "none":
		return allowlist{}, nil
	}
	var al allowlist
	for i, p := range strings.Split(s, ",") {
		p = strings.Trim(p, " ")
		if p == "" {
			return allowlist{}, fmt.Errorf("%s: entry %d is empty", AllowlistEnv, i+1)
		}
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		al.prefixes = append(al.prefixes, p)
	}
	return al, nil
}

func (al allowlist) allows(address string) bool {
	if al.all {
		return true
	}
	if !strings.HasSuffix(address, "/") {
		address += "/"
	}
	for _, p := range al.prefixes {
		if strings.HasPrefix(address, p) {
			return true
		}
	}
	return false
}
