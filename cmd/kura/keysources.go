package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/age"
	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/keyservice/forward"
	"github.com/kura-secrets/kura/pkg/keys/pgp"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// keyFlags name master keys on the command line, as sops names them.
type keyFlags struct {
	age, pgp, kms, awsProfile, encryptionContext, gcpKMS, azureKV, vault, hckms string
}

func (k *keyFlags) register(fs *pflag.FlagSet) {
	fs.VarP((*listFlag)(&k.age), "age", "a", "comma-separated age recipients (age1... or ssh-... public keys; also SOPS_AGE_RECIPIENTS)")
	fs.VarP((*listFlag)(&k.pgp), "pgp", "p", "comma-separated PGP fingerprints (also SOPS_PGP_FP)")
	fs.VarP((*listFlag)(&k.kms), "kms", "k", "comma-separated AWS KMS key ARNs, each optionally +ROLE_ARN (also SOPS_KMS_ARN)")
	fs.StringVar(&k.awsProfile, "aws-profile", "", "AWS profile for the --kms keys")
	fs.StringVar(&k.encryptionContext, "encryption-context", "", "AWS KMS encryption context for the --kms keys: comma-separated key:value pairs")
	fs.Var((*listFlag)(&k.gcpKMS), "gcp-kms", "comma-separated GCP KMS key resource IDs (also SOPS_GCP_KMS_IDS)")
	fs.Var((*listFlag)(&k.azureKV), "azure-kv", "comma-separated Azure Key Vault key URLs (also SOPS_AZURE_KEYVAULT_URLS)")
	fs.Var((*listFlag)(&k.vault), "hc-vault-transit", "comma-separated HashiCorp Vault transit key URIs (also SOPS_VAULT_URIS)")
	fs.Var((*listFlag)(&k.hckms), "hckms", "comma-separated HuaweiCloud KMS keys, REGION:KEY-UUID, served by a kura-keysource-hckms companion (also SOPS_HUAWEICLOUD_KMS_IDS)")
}

// listFlag is a comma-separated key list that may also be given several
// times (--age A --age B), as sops's groups command takes it.
type listFlag string

func (l *listFlag) String() string { return string(*l) }
func (l *listFlag) Type() string   { return "string" }
func (l *listFlag) Set(v string) error {
	if *l != "" {
		v = string(*l) + "," + v
	}
	*l = listFlag(v)
	return nil
}

// withEnv fills empty flags from their environment variables.
func (k keyFlags) withEnv(getenv func(string) string) keyFlags {
	for _, f := range []struct {
		dst *string
		env string
	}{
		{&k.age, "SOPS_AGE_RECIPIENTS"}, {&k.pgp, "SOPS_PGP_FP"}, {&k.kms, "SOPS_KMS_ARN"},
		{&k.gcpKMS, "SOPS_GCP_KMS_IDS"}, {&k.azureKV, "SOPS_AZURE_KEYVAULT_URLS"}, {&k.vault, "SOPS_VAULT_URIS"},
		{&k.hckms, "SOPS_HUAWEICLOUD_KMS_IDS"},
	} {
		if *f.dst == "" {
			*f.dst = getenv(f.env)
		}
	}
	return k
}

func (k keyFlags) any() bool {
	return k.age != "" || k.pgp != "" || k.kms != "" || k.gcpKMS != "" || k.azureKV != "" || k.vault != "" || k.hckms != ""
}

// cloud returns the companion source, created on first use. Its processes
// end when the run ends (app.close).
func (a *app) cloud() *companion.Source {
	a.cloudOnce.Do(func() {
		a.companion = &companion.Source{Stderr: a.stderr}
		if v := a.getenv("KURA_KMS_TIMEOUT"); v != "" {
			if d, err := time.ParseDuration(v); err == nil && d > 0 {
				a.companion.Timeout = d
			} else {
				a.warnf("ignoring KURA_KMS_TIMEOUT=%q: not a duration such as 10s", v)
			}
		}
	})
	return a.companion
}

// unwrappers returns the key sources that can unwrap data keys on this
// machine. Nothing is started or read until a stanza needs it.
func (a *app) unwrappers() map[keys.Type]keys.Unwrapper {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unwrap != nil {
		return a.unwrap
	}
	cloud := a.cloud()
	a.unwrap = map[keys.Type]keys.Unwrapper{
		keys.Age:     age.NewIdentities(age.DefaultEnv()),
		keys.PGP:     pgp.NewSource(pgp.DefaultEnv()),
		keys.KMS:     cloud,
		keys.GCPKMS:  cloud,
		keys.AzureKV: cloud,
		keys.Vault:   cloud,
		keys.HCKMS:   cloud,
	}
	if r := a.keyServiceRouter(); r != nil {
		for t, u := range a.unwrap {
			a.unwrap[t] = r.Unwrapper(u)
		}
	}
	return a.unwrap
}

// splitList splits a comma-separated key list as sops does: pieces are
// trimmed and empty ones dropped.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// keySpec lists master keys by type, before they become recipients.
type keySpec struct {
	kms               []keys.Stanza
	gcp, azure, vault []string
	hckms             []string
	pgp, age          []string
}

// recipients turns a spec into recipients in sops's order: kms, gcp_kms,
// hckms, azure_kv, pgp, hc_vault, age.
func (a *app) recipients(s keySpec) ([]keys.Recipient, error) {
	var out []keys.Recipient
	cloud := a.cloud()
	for _, st := range s.kms {
		out = append(out, a.routed(cloud.Recipient(st), st))
	}
	parsed := []struct {
		list  []string
		parse func(string) (keys.Stanza, error)
	}{
		{s.gcp, companion.ParseGCP}, {s.hckms, companion.ParseHCKMS}, {s.azure, companion.ParseAzure},
	}
	for _, p := range parsed {
		for _, v := range p.list {
			st, err := p.parse(v)
			if err != nil {
				return nil, err
			}
			out = append(out, a.routed(cloud.Recipient(st), st))
		}
	}
	for _, fp := range s.pgp {
		r, err := a.cachedRecipient("pgp", fp, pgp.ParseRecipient)
		if err != nil {
			return nil, err
		}
		out = append(out, a.routed(r, keys.Stanza{Type: keys.PGP, Fingerprint: r.Identity()}))
	}
	for _, v := range s.vault {
		st, err := companion.ParseVault(v)
		if err != nil {
			return nil, err
		}
		out = append(out, a.routed(cloud.Recipient(st), st))
	}
	for _, v := range s.age {
		r, err := a.cachedRecipient("age", v, age.ParseRecipient)
		if err != nil {
			return nil, err
		}
		out = append(out, a.routed(r, keys.Stanza{Type: keys.Age, Recipient: r.Identity()}))
	}
	return dedupRecipients(out), nil
}

// cachedRecipient parses a recipient once per run: a PGP recipient looks
// its public key up in gpg on first use, which a run over many files
// should pay once.
func (a *app) cachedRecipient(kind, s string, parse func(string) (keys.Recipient, error)) (keys.Recipient, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := kind + "\x00" + s
	if r, ok := a.recipientCache[k]; ok {
		return r, nil
	}
	r, err := parse(s)
	if err != nil {
		return nil, err
	}
	if a.recipientCache == nil {
		a.recipientCache = map[string]keys.Recipient{}
	}
	a.recipientCache[k] = r
	return r, nil
}

// stanzaRecipient returns a recipient for a key already in a file, to wrap
// a new data key or share for it.
func (a *app) stanzaRecipient(st keys.Stanza) (keys.Recipient, error) {
	var (
		r   keys.Recipient
		err error
	)
	switch st.Type {
	case keys.Age:
		r, err = a.cachedRecipient("age", st.Recipient, age.ParseRecipient)
	case keys.PGP:
		r, err = a.cachedRecipient("pgp", st.Fingerprint, pgp.ParseRecipient)
	default:
		st.Enc, st.CreatedAt = "", ""
		r = a.cloud().Recipient(st)
	}
	if err != nil {
		return nil, err
	}
	return a.routed(r, st), nil
}

// dedupRecipients drops keys named twice: they would wrap the same key
// twice for the same person.
func dedupRecipients(rs []keys.Recipient) []keys.Recipient {
	seen := map[string]bool{}
	out := rs[:0]
	for _, r := range rs {
		if !seen[r.Identity()] {
			seen[r.Identity()] = true
			out = append(out, r)
		}
	}
	return out
}

// recipientGroups works out the key groups to encrypt for: the keys named
// by flags or their environment variables, all in one group, if any;
// otherwise those of the matching creation rule.
func (a *app) recipientGroups(flags keyFlags, rule *config.CreationRule) ([][]keys.Recipient, error) {
	k := flags.withEnv(a.getenv)
	ctx, err := companion.ParseEncryptionContext(k.encryptionContext)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeInvalidEncryptionCtx, Err: err}
	}
	if k.any() {
		rs, err := a.flagGroup(k)
		if err != nil {
			return nil, err
		}
		return [][]keys.Recipient{rs}, nil
	}
	if rule == nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeGeneric,
			Err:  errors.New("no keys to encrypt for: no .sops.yaml creation rule, and no --age, --pgp, --kms, --gcp-kms, --azure-kv or --hc-vault-transit given"),
			Hint: "make a key with age-keygen and pass its public key: kura encrypt --age age1... FILE"}
	}
	return a.ruleGroups(rule, ctx)
}

// checkKeyRef checks the syntax of an age recipient or PGP fingerprint
// in .sops.yaml; the config package checks the cloud keys itself.
func checkKeyRef(k config.KeyRef) error {
	switch k.Type {
	case config.TypeAge:
		_, err := age.ParseRecipient(k.Value)
		return err
	case config.TypePGP:
		_, err := pgp.ParseRecipient(k.Value)
		return err
	}
	return nil
}

// flagGroup returns the recipients that key flags name, as one group.
func (a *app) flagGroup(k keyFlags) ([]keys.Recipient, error) {
	ctx, err := companion.ParseEncryptionContext(k.encryptionContext)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeInvalidEncryptionCtx, Err: err}
	}
	kms, err := companion.ParseKMSList(k.kms, ctx, k.awsProfile)
	if err != nil {
		return nil, err
	}
	return a.recipients(keySpec{
		kms: kms, gcp: splitList(k.gcpKMS), hckms: splitList(k.hckms), azure: splitList(k.azureKV),
		pgp: splitList(k.pgp), vault: splitList(k.vault), age: splitList(k.age),
	})
}

// ruleGroups returns the key groups a creation rule names: its key_groups,
// or one group of its single-key fields. context is the encryption
// context for the rule's kms keys (key groups carry their own).
func (a *app) ruleGroups(rule *config.CreationRule, ctx map[string]string) ([][]keys.Recipient, error) {
	// Check the rule's age and PGP key strings first, so a typo is
	// reported with its line in .sops.yaml.
	if err := rule.Validate(checkKeyRef); err != nil {
		return nil, fmt.Errorf(".sops.yaml: %w", err)
	}
	if len(rule.KeyGroups) > 0 {
		var groups [][]keys.Recipient
		for i, g := range rule.KeyGroups {
			spec := keySpec{gcp: g.GCPKMS, hckms: g.HCKMS, vault: g.Vault, pgp: g.PGP, age: g.Age}
			for _, kk := range g.KMS {
				st, err := companion.ParseKMS(kk.ARN, kk.Context, kk.AWSProfile)
				if err != nil {
					return nil, fmt.Errorf("creation rule %d, key group %d: %w", rule.Index, i, err)
				}
				if kk.Role != "" {
					st.Role = kk.Role
				}
				spec.kms = append(spec.kms, st)
			}
			for _, az := range g.AzureKeyVault {
				u := strings.TrimSuffix(az.VaultURL, "/") + "/keys/" + az.Key
				if az.Version != "" {
					u += "/" + az.Version
				}
				spec.azure = append(spec.azure, u)
			}
			rs, err := a.recipients(spec)
			if err != nil {
				return nil, fmt.Errorf("creation rule %d, key group %d: %w", rule.Index, i, err)
			}
			if len(rs) == 0 {
				return nil, fmt.Errorf("creation rule %d, key group %d names no keys", rule.Index, i)
			}
			groups = append(groups, rs)
		}
		return groups, nil
	}
	var kms []keys.Stanza
	for _, arn := range rule.KMS {
		st, err := companion.ParseKMS(arn, ctx, rule.AWSProfile)
		if err != nil {
			return nil, fmt.Errorf("creation rule %d: %w", rule.Index, err)
		}
		kms = append(kms, st)
	}
	rs, err := a.recipients(keySpec{kms: kms, gcp: rule.GCPKMS, hckms: rule.HCKMS, azure: rule.AzureKeyVault, pgp: rule.PGP, vault: rule.VaultURIs, age: rule.Age})
	if err != nil {
		return nil, fmt.Errorf("creation rule %d: %w", rule.Index, err)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("creation rule %d names no keys, and none were given on the command line", rule.Index)
	}
	return [][]keys.Recipient{rs}, nil
}

// decryptionOrder reads --decryption-order, or SOPS_DECRYPTION_ORDER
// when the flag is empty. Unknown names are ignored with a warning, as
// sops ignores them silently; a name given twice is an error.
func (a *app) decryptionOrder(flag string) ([]keys.Type, error) {
	text := flag
	if text == "" {
		text = a.getenv("SOPS_DECRYPTION_ORDER")
	}
	order, unknown, err := keys.ParseOrder(text)
	if err != nil {
		return nil, &sopsfile.Error{Code: sopsfile.CodeDuplicateDecryptionKey, Err: err}
	}
	for _, name := range unknown {
		a.warnf("ignoring %q in the decryption order: not a key type (known: age, pgp, kms, gcp_kms, azure_kv, hc_vault, hckms)", name)
	}
	return order, nil
}

// --- key services: --keyservice and --enable-local-keyservice -----------
//
// As in sops, every wrap and unwrap goes to the local key sources first
// (unless --enable-local-keyservice=false), then to each --keyservice in
// order; the first that succeeds wins. The gRPC calls are kura-kms's
// (pkg/keys/keyservice/forward), so kura links no gRPC.

// keyServiceFlags are the key service flags, and the router they make.
type keyServiceFlags struct {
	uris  []string
	local bool
	// localFlag tells whether --enable-local-keyservice was given, else
	// SOPS_ENABLE_LOCAL_KEYSERVICE applies.
	localFlag *pflag.Flag

	once   sync.Once
	router *forward.Router
}

func (a *app) addKeyServiceFlags(fs *pflag.FlagSet) {
	k := &a.global.keyService
	fs.StringArrayVar(&k.uris, "keyservice", nil, "a key service to wrap and unwrap data keys with, unix:///path or tcp://host:port, after the local key sources; repeatable (also SOPS_KEYSERVICE, comma-separated)")
	fs.BoolVar(&k.local, "enable-local-keyservice", true, "use this machine's key sources; false sends every key to the --keyservice services only (also SOPS_ENABLE_LOCAL_KEYSERVICE)")
	k.localFlag = fs.Lookup("enable-local-keyservice")
}

// keyServiceRouter returns the router for the key service flags, or nil
// when kura uses its local key sources only (the default).
func (a *app) keyServiceRouter() *forward.Router {
	k := &a.global.keyService
	k.once.Do(func() {
		local := k.local
		if (k.localFlag == nil || !k.localFlag.Changed) && a.getenv("SOPS_ENABLE_LOCAL_KEYSERVICE") != "" {
			v, err := strconv.ParseBool(a.getenv("SOPS_ENABLE_LOCAL_KEYSERVICE"))
			if err != nil {
				a.warnf("ignoring SOPS_ENABLE_LOCAL_KEYSERVICE=%q: not true or false", a.getenv("SOPS_ENABLE_LOCAL_KEYSERVICE"))
			} else {
				local = v
			}
		}
		uris := k.uris
		if len(uris) == 0 {
			uris = splitList(a.getenv("SOPS_KEYSERVICE"))
		}
		var services []forward.URI
		for _, s := range uris {
			u, err := forward.ParseURI(s)
			if err != nil {
				// sops skips such a URI with a warning too.
				a.warnf("ignoring --keyservice: %v", err)
				continue
			}
			services = append(services, u)
		}
		if local && len(services) == 0 {
			return
		}
		k.router = &forward.Router{Services: services, Local: local, Stderr: a.stderr, Timeout: a.cloud().Timeout}
	})
	return k.router
}

// routed sends a recipient's wraps through the key services when any is
// configured. st names the key for them.
func (a *app) routed(r keys.Recipient, st keys.Stanza) keys.Recipient {
	router := a.keyServiceRouter()
	if router == nil {
		return r
	}
	return router.Recipient(r, st)
}
