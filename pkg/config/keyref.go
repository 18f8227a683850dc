package config

import (
	"fmt"
	"strings"
)

// Key types of KeyRef, named as in a file's sops metadata.
const (
	TypeAge     = "age"
	TypePGP     = "pgp"
	TypeKMS     = "kms"
	TypeGCPKMS  = "gcp_kms"
	TypeAzureKV = "azure_kv"
	TypeVault   = "hc_vault"
	TypeHCKMS   = "hckms"
)

// KeyRef is one key string of the file with where it was written, so that
// a caller holding the key parsers can report a bad key at its line.
type KeyRef struct {
	// Type is the key's metadata type name: "age", "pgp", "kms",
	// "gcp_kms", "azure_kv", "hc_vault" or "hckms".
	Type string
	// Value is the key string after the same normalisation as the
	// corresponding CreationRule or KeyGroup field: trimmed, spaces
	// removed for pgp, kms and gcp_kms. A key group's KMS entry with a
	// role is given as "ARN+ROLE_ARN", the form of the kms rule field,
	// and an Azure entry as its URL (AzureKey.URL), so that one parser
	// serves both layouts.
	Value string
	// Line and Column locate the key (1-based). For a piece of a
	// comma-separated string they point at the piece when the scalar is
	// written on one line without escapes, and at the scalar otherwise;
	// a key reached through an alias is located at the alias.
	Line, Column int
	// Field is the key's path, e.g. "creation_rules[1].key_groups[0].age[2]".
	// The last index is the key's position in the field's resulting list
	// (as in CreationRule.Age), which is its list index unless list items
	// hold several comma-separated keys.
	Field string
}

// Error is a problem found in a config file, located by line, column and
// field path. Its text is "line L: FIELD: message".
type Error struct {
	Line, Column int
	// Field is the path of the field at fault, e.g.
	// "creation_rules[0].key_groups[1]"; "" for the document itself.
	Field string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KeyRefs lists the rule's key strings in file order, those of key groups
// and merged groups included, duplicates included (each was written, and
// each may be wrong).
func (r *CreationRule) KeyRefs() []KeyRef {
	return append([]KeyRef(nil), r.keyRefs...)
}

// KeyRefs lists the key strings of every creation rule, then of every
// destination rule's recreation_rule.
func (c *Config) KeyRefs() []KeyRef {
	var out []KeyRef
	for i := range c.CreationRules {
		out = append(out, c.CreationRules[i].keyRefs...)
	}
	for i := range c.DestinationRules {
		out = append(out, c.DestinationRules[i].RecreationRule.keyRefs...)
	}
	return out
}

// Validate calls check for each of the rule's key strings and returns the
// first failure as an *Error located at the key. Checking only the rule
// that matched lets a command go on when another rule names a key this
// machine cannot use.
func (r *CreationRule) Validate(check func(KeyRef) error) error {
	return validate(r.keyRefs, check)
}

// Validate calls check for each key string of the file (see KeyRefs) and
// returns the first failure as an *Error located at the key, e.g.
// `line 4: creation_rules[0].age[1]: unknown recipient type`.
func (c *Config) Validate(check func(KeyRef) error) error {
	return validate(c.KeyRefs(), check)
}

func validate(refs []KeyRef, check func(KeyRef) error) error {
	for _, k := range refs {
		if err := check(k); err != nil {
			return &Error{Line: k.Line, Column: k.Column, Field: k.Field, Err: err}
		}
	}
	return nil
}
