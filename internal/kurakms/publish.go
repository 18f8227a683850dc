package kurakms

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"

	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
	"github.com/kura-secrets/kura/pkg/publish"
)

// Publisher answers kura's publish requests: it writes a decrypted
// document to HashiCorp Vault KV (publish_vault.go) or AWS Secrets
// Manager (publish_secretsmanager.go), with credentials from each
// service's usual places.
type Publisher struct{}

// NewPublisher returns the publisher kura-kms serves.
func NewPublisher() *Publisher { return &Publisher{} }

// Schemes lists the target kinds.
func (p *Publisher) Schemes() []string {
	out := make([]string, len(publish.Kinds))
	for i, k := range publish.Kinds {
		out[i] = string(k)
	}
	return out
}

// Publish writes doc to target.
func (p *Publisher) Publish(ctx context.Context, target string, doc json.RawMessage) (*kmsproto.Published, error) {
	t, err := publish.Parse(target)
	if err != nil {
		return nil, kmsproto.Errorf(kmsproto.Invalid, "%s", oneLine(err.Error(), nil))
	}
	switch t.Kind {
	case publish.VaultKV:
		return publishVault(ctx, t, doc)
	case publish.SecretsManager:
		return publishSecretsManager(ctx, t, doc)
	}
	return nil, kmsproto.Errorf(kmsproto.Unsupported, "%s: unknown target kind", t)
}

// maxDetail bounds the text of a service quoted in a message.
const maxDetail = 300

// oneLine makes text fit on one line of a message: whitespace runs become
// one space, secrets are cut out, and long text is shortened.
func oneLine(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if len(s) > maxDetail {
		cut := maxDetail
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
