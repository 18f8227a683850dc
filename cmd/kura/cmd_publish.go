package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/internal/bulk"
	"github.com/kura-secrets/kura/pkg/config"
	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/publish"
	"github.com/kura-secrets/kura/pkg/sopsfile"
)

// publishFlags are the flags of publish beyond those of bulkFlags.
type publishFlags struct {
	to             string
	dryRun         bool
	omitExtensions bool
	yes            bool
	order          string
}

func (a *app) publishCommand() *cobra.Command {
	var b bulkFlags
	var pf publishFlags
	cmd := &cobra.Command{
		Use:   "publish [--to TARGET] FILE...",
		Short: "Write decrypted files to HashiCorp Vault KV or AWS Secrets Manager",
		Long: `Decrypt each FILE with the usual key sources and write it as one secret:

  vault-kv://MOUNT/PATH        a Vault KV (version 2) secret whose data keys
                               are the file's top-level keys
  aws-secretsmanager://NAME    an AWS Secrets Manager secret whose string is
                               the file as JSON (created when missing)

With --recursive, every SOPS file below the directories is published, each
to the target its template names: {path} (relative path without
extensions), {dir}, {name} (base name without extensions), {ext} and {file}.
Without --to, the destination_rules of .sops.yaml that name a vault_path
choose the target, as for sops publish.

--dry-run shows each target and the key names, types and sizes, never a
value, and writes nothing. The plaintext never touches the disk: kura hands
it to its companion kura-kms, which holds the Vault and AWS clients. See
docs/publish.md.`,
		Example: `  kura publish secrets/app.enc.yaml --to vault-kv://secret/apps/app
  kura publish prod.enc.json --to aws-secretsmanager://prod/app
  kura publish --recursive secrets/ --to 'vault-kv://secret/apps/{dir}/{name}'
  kura publish --dry-run --recursive secrets/ --to 'aws-secretsmanager://{path}'
  kura publish secrets/app.enc.yaml          # target from .sops.yaml destination_rules`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.resolveGlobal(cmd); err != nil {
				return err
			}
			return a.publish(&b, &pf, args)
		},
	}
	b.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&pf.to, "to", "", "target URI or template: vault-kv://MOUNT/PATH or aws-secretsmanager://NAME, with {path} {dir} {name} {ext} {file} (default: .sops.yaml destination_rules)")
	fs.BoolVar(&pf.dryRun, "dry-run", false, "show each target and the key names, types and sizes (never values); write nothing")
	fs.BoolVar(&pf.omitExtensions, "omit-extensions", false, "with destination_rules: drop the file's extension from the secret's path (as sops publish does)")
	fs.BoolVarP(&pf.yes, "yes", "y", false, "accepted for compatibility with sops publish; kura never asks")
	fs.StringVar(&pf.order, "decryption-order", "", "comma-separated key types to try first, such as pgp,age (also SOPS_DECRYPTION_ORDER)")
	return cmd
}

// publishFile is one file to publish and the root its template variables
// are relative to.
type publishFile struct {
	target bulk.Target
	root   string
}

func (a *app) publish(b *bulkFlags, pf *publishFlags, args []string) error {
	if len(args) == 0 {
		return usageError{errors.New("no file given")}
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if pf.to == "" && len(cfg.DestinationRules) == 0 {
		return usageError{fmt.Errorf("no target to publish %s to: give --to vault-kv://MOUNT/PATH or --to aws-secretsmanager://NAME, or destination_rules in .sops.yaml", strings.Join(args, ", "))}
	}
	if pf.to != "" {
		// A malformed template fails before any file is read.
		probe, err := publish.Expand(pf.to, publish.VarsOf("dir/name.ext"))
		if err == nil {
			_, err = publish.Parse(probe)
		}
		if err != nil {
			return usageError{err}
		}
	}
	files, err := a.publishFiles(b, args)
	if err != nil {
		return err
	}
	if pf.to != "" {
		if err := checkTargets(pf.to, files); err != nil {
			return err
		}
	}
	order, err := a.decryptionOrder(pf.order)
	if err != nil {
		return err
	}
	comp := &publish.Companion{Stderr: a.stderr}
	if v := a.getenv("KURA_KMS_TIMEOUT"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			comp.Timeout = d
		}
	}
	defer comp.Close()
	roots := make(map[string]string, len(files))
	targets := make([]bulk.Target, len(files))
	for i, f := range files {
		targets[i] = f.target
		roots[f.target.Path] = f.root
	}
	t := a.runBulk(targets, b, func(target bulk.Target) outcome {
		return a.publishOne(target.Path, roots[target.Path], b, pf, cfg, order, comp)
	})
	return a.finish(t)
}

// publishFiles expands the arguments, remembering for each file the root
// of its relative path: the directory given, or the file's own directory.
func (a *app) publishFiles(b *bulkFlags, args []string) ([]publishFile, error) {
	var out []publishFile
	seen := map[string]bool{}
	for _, arg := range args {
		ts, err := bulk.Expand([]string{arg}, b.recursive)
		if err != nil {
			return nil, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: unwrapPathError(err)}
		}
		for _, t := range ts {
			key := t.Path
			if abs, err := filepath.Abs(t.Path); err == nil {
				key = abs
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			root := filepath.Dir(t.Path)
			if t.Found {
				root = arg
			}
			out = append(out, publishFile{target: t, root: root})
		}
	}
	if len(out) == 0 {
		return nil, &sopsfile.Error{Code: sopsfile.CodeNoFileSpecified, Err: errors.New("no SOPS file found below " + strings.Join(args, ", "))}
	}
	return out, nil
}

// relPath is a file's slash-separated path relative to its root.
func relPath(path, root string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(path)
	}
	return filepath.ToSlash(rel)
}

// checkTargets refuses a --to that would send two files to one secret:
// the second would silently replace the first.
func checkTargets(to string, files []publishFile) error {
	if !publish.IsTemplate(to) && len(files) > 1 {
		return usageError{fmt.Errorf("--to names one secret for %d files: use a template such as 'vault-kv://secret/{path}' (see kura publish --help)", len(files))}
	}
	first := map[string]string{}
	for _, f := range files {
		uri, err := publish.Expand(to, publish.VarsOf(relPath(f.target.Path, f.root)))
		if err != nil {
			return usageError{err}
		}
		t, err := publish.Parse(uri)
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", displayName(f.target.Path), err)}
		}
		if prev, ok := first[t.String()]; ok {
			return usageError{fmt.Errorf("%s and %s would both be published to %s: use a template that tells them apart, such as {file} or {path}.{ext}", prev, displayName(f.target.Path), t)}
		}
		first[t.String()] = displayName(f.target.Path)
	}
	return nil
}

// publishTarget is the target of one file: --to filled in for it, or its
// destination rule.
func publishTarget(pf *publishFlags, cfg *config.Config, path, root string) (publish.Target, error) {
	rel := relPath(path, root)
	if pf.to != "" {
		uri, err := publish.Expand(pf.to, publish.VarsOf(rel))
		if err != nil {
			return publish.Target{}, err
		}
		return publish.Parse(uri)
	}
	d, err := cfg.Destination(path)
	if err != nil {
		return publish.Target{}, fmt.Errorf("%w (give --to, or a destination rule whose path_regex matches)", err)
	}
	switch d.Kind() {
	case "vault":
	case "s3", "gcs":
		return publish.Target{}, fmt.Errorf("%s in %s is an %s destination, which kura publish does not support: it publishes to vault_path destinations, or to --to vault-kv://... and aws-secretsmanager://... targets", d.Field, cfg.Path, d.Kind())
	default:
		return publish.Target{}, fmt.Errorf("%s in %s names no destination", d.Field, cfg.Path)
	}
	name := rel
	if pf.omitExtensions || d.OmitExtensions {
		// As sops: the last extension only.
		name = strings.TrimSuffix(name, filepath.Ext(name))
	}
	version := d.VaultKVVersion
	if version == 0 {
		version = 2
	}
	if version != 1 && version != 2 {
		return publish.Target{}, fmt.Errorf("%s.vault_kv_version in %s is %d: Vault KV has versions 1 and 2", d.Field, cfg.Path, version)
	}
	mount := strings.Trim(d.VaultKVMountName, "/")
	if mount == "" {
		mount = "secret"
	}
	t := publish.Target{
		Kind:      publish.VaultKV,
		Mount:     mount,
		Path:      strings.Trim(strings.Trim(d.VaultPath, "/")+"/"+name, "/"),
		Address:   d.VaultAddress,
		KVVersion: version,
	}
	// Parse checks what the rule built, as --to is checked.
	return publish.Parse(t.String())
}

func (a *app) publishOne(path, root string, b *bulkFlags, pf *publishFlags, cfg *config.Config, order []keys.Type, comp *publish.Companion) outcome {
	l, err := a.loadEncrypted(path, b.inputType, cfg)
	if err != nil {
		return outcome{status: "failed", err: err}
	}
	t, err := publishTarget(pf, cfg, path, root)
	if err != nil {
		return outcome{status: "failed", err: &sopsfile.Error{Code: sopsfile.CodeGeneric, Err: err}}
	}
	st := &auditState{}
	if err := l.file.Decrypt(sopsfile.DecryptOptions{Sources: a.keySourcesFor(st), Order: order, ReadOnly: true}); err != nil {
		a.auditWith(st, "publish", path, auditOutcome(err), nil)
		return outcome{status: "failed", err: err}
	}
	doc, err := publish.Document(l.file.Docs)
	if err != nil {
		return outcome{status: "failed", err: &sopsfile.Error{Code: sopsfile.CodeErrorDumpingTree, Err: fmt.Errorf("%s: %w", t, err)}}
	}
	if pf.dryRun {
		var fields []string
		for _, f := range publish.Describe(l.file.Docs[0]) {
			fields = append(fields, f.String())
		}
		what := "no keys"
		if len(fields) > 0 {
			what = strings.Join(fields, ", ")
		}
		size := ""
		if t.Kind == publish.SecretsManager {
			size = fmt.Sprintf(" (secret string of %d bytes)", len(doc))
		}
		return outcome{status: "would publish", detail: fmt.Sprintf("to %s%s: %s", t, size, what)}
	}
	res, err := comp.Publish(t, doc)
	a.auditWith(st, "publish", path, auditOutcome(err), l)
	if err != nil {
		return outcome{status: "failed", err: err}
	}
	detail := "to " + res.Target
	switch {
	case res.Created && res.Version != "":
		detail += ", created, version " + res.Version
	case res.Created:
		detail += ", created"
	case res.Version != "":
		detail += ", version " + res.Version
	}
	return outcome{status: "published", detail: detail}
}
