package kurakms

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/vault/api"

	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
	"github.com/kura-secrets/kura/pkg/publish"
)

// publishVault writes the document as one Vault KV secret: its top-level
// keys are the secret's data keys (publish.KVData). KV version 2 goes
// through the client's KVv2 helper (PUT MOUNT/data/PATH), version 1
// through KVv1 (PUT MOUNT/PATH). The address is the target's, or
// VAULT_ADDR; the token is VAULT_TOKEN, or ~/.vault-token.
func publishVault(ctx context.Context, t publish.Target, doc json.RawMessage) (*kmsproto.Published, error) {
	data, err := publish.KVData(doc)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: %v", t, err)
	}
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: the Vault client settings in the environment are wrong: %s", t, oneLine(cfg.Error.Error(), nil))
	}
	if t.Address != "" {
		cfg.Address = t.Address
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s: cannot set up a Vault client: %s", t, oneLine(err.Error(), nil))
	}
	token := client.Token()
	if token == "" {
		if token, err = vaultTokenFile(); err != nil {
			return nil, kmsproto.Errorf(kmsproto.NoCredentials, "%s: reading the Vault token: %v", t, err)
		}
		if token == "" {
			return nil, kmsproto.Errorf(kmsproto.NoCredentials, "%s: no Vault token: set VAULT_TOKEN or run `vault login` (which writes ~/.vault-token)", t)
		}
		client.SetToken(token)
	}
	out := &kmsproto.Published{Target: t.String()}
	if t.KVVersion == 1 {
		err = client.KVv1(t.Mount).Put(ctx, t.Path, data)
	} else {
		var s *api.KVSecret
		s, err = client.KVv2(t.Mount).Put(ctx, t.Path, data)
		if err == nil && s != nil && s.VersionMetadata != nil {
			out.Version = strconv.Itoa(s.VersionMetadata.Version)
			out.Created = s.VersionMetadata.Version == 1
		}
	}
	if err != nil {
		return nil, vaultFailure(ctx, t, cfg.Address, err, token)
	}
	return out, nil
}

// vaultTokenFile reads ~/.vault-token, where `vault login` keeps the
// token; a missing file means no token.
func vaultTokenFile() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", nil
	}
	b, err := os.ReadFile(filepath.Join(home, ".vault-token"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", errors.New("~/.vault-token: " + errors.Unwrap(err).Error())
	}
	return strings.TrimSpace(string(b)), nil
}

// vaultFailure classifies an error of the Vault client in one line that
// names the target and never the token or the data.
func vaultFailure(ctx context.Context, t publish.Target, address string, err error, token string) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		detail := oneLine(vaultErrors(re.Errors), []string{token})
		if detail == "" {
			detail = http.StatusText(re.StatusCode)
		}
		lower := strings.ToLower(detail)
		code := re.StatusCode
		switch {
		case code == http.StatusForbidden || code == http.StatusUnauthorized:
			if strings.Contains(lower, "invalid token") {
				return kmsproto.Errorf(kmsproto.AccessDenied, "%s: Vault does not accept the token: it is invalid or expired (HTTP %d)", t, code)
			}
			return kmsproto.Errorf(kmsproto.AccessDenied, "%s: permission denied: the Vault token may not write this secret (HTTP %d: %s)", t, code, detail)
		case code == http.StatusNotFound:
			return kmsproto.Errorf(kmsproto.NotFound, "%s: Vault has no KV engine mounted at %s/ (HTTP %d: %s)", t, t.Mount, code, detail)
		case code == http.StatusServiceUnavailable && strings.Contains(lower, "sealed"):
			return kmsproto.Errorf(kmsproto.Unreachable, "%s: Vault is sealed (HTTP %d)", t, code)
		case code >= 500 || code == http.StatusTooManyRequests:
			return kmsproto.Errorf(kmsproto.Unreachable, "%s: Vault is unavailable (HTTP %d: %s)", t, code, detail)
		case code == http.StatusBadRequest:
			return kmsproto.Errorf(kmsproto.Invalid, "%s: Vault refused the secret (HTTP %d: %s)", t, code, detail)
		}
		return kmsproto.Errorf(kmsproto.Internal, "%s: Vault failed the write (HTTP %d: %s)", t, code, detail)
	}
	if errors.Is(err, api.ErrSecretNotFound) {
		return kmsproto.Errorf(kmsproto.Internal, "%s: Vault answered the write with no version: is %s/ a KV version 2 engine? (use kv_version=1 for version 1)", t, t.Mount)
	}
	host := address
	if u, perr := url.Parse(address); perr == nil && u.Host != "" {
		host = u.Host
	}
	var ne net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Vault at %s did not answer in time", t, host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return kmsproto.Errorf(kmsproto.Unreachable, "%s: connection refused: no Vault server listens at %s", t, host)
	case errors.As(err, &ne) && ne.Timeout():
		return kmsproto.Errorf(kmsproto.Timeout, "%s: Vault at %s did not answer in time", t, host)
	}
	return kmsproto.Errorf(kmsproto.Unreachable, "%s: cannot reach Vault at %s: %s", t, host, oneLine(innermost(err), []string{token}))
}

// multiError is the heading of Vault's multi-error texts.
var multiError = regexp.MustCompile(`^\d+ errors? occurred:`)

// vaultErrors joins Vault's error texts, unfolding its multi-error form
// ("1 error occurred:\n\t* permission denied\n\n") into its items.
func vaultErrors(errs []string) string {
	var items []string
	for _, e := range errs {
		e = multiError.ReplaceAllString(strings.TrimSpace(e), "")
		for _, it := range strings.Split(e, "\n") {
			it = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(it), "* "))
			if it != "" {
				items = append(items, it)
			}
		}
	}
	return strings.Join(items, "; ")
}

// innermost is the text of the deepest wrapped error: the cause without
// the URL and operation the outer layers repeat.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
