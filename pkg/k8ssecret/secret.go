// Package k8ssecret renders decrypted SOPS files as Kubernetes Secret
// manifests, and serves kura as a kustomize KRM function that generates
// them, so that a deploy never writes a plaintext file: the manifest goes
// to kubectl or kustomize on a pipe.
//
// A file becomes one Secret: each top-level key is a data key, and its
// value is the value's text (a dotenv value unquoted as a shell reads
// it; a nested map or list as JSON, which is how applications usually
// read structured secrets from a Secret). Keys must be valid Secret keys
// (letters, digits, '-', '_' and '.').
package k8ssecret

import (
	"bytes"
	"encoding/base64"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/tree"
)

// Entry is one data key of a Secret.
type Entry struct {
	Key   string
	Value []byte
}

// Options name and shape the Secret.
type Options struct {
	Name      string
	Namespace string
	// Type is the Secret's type; "" is Opaque.
	Type string
	// Base64 writes data: with base64 values instead of stringData:,
	// which a Secret needs for values that are not UTF-8.
	Base64 bool
	// Labels and Annotations are added to the metadata.
	Labels, Annotations map[string]string
}

// The patterns are compiled on first use: kura links this package, and
// every start would otherwise pay for them.
var (
	keyPattern  = lazyRegexp(`^[-._a-zA-Z0-9]+$`)
	namePattern = lazyRegexp(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	nsPattern   = lazyRegexp(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// Entries turns the first document of a decrypted file into data keys.
// dotenvValues says the values are dotenv text, to be unquoted.
func Entries(docs []tree.Document, dotenvValues bool) ([]Entry, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	var out []Entry
	seen := map[string]bool{}
	for _, it := range docs[0] {
		if it.IsComment() {
			continue
		}
		key, _ := it.Key.Canonical()
		if dotenvValues {
			key = dotenv.Name(key)
		}
		path := tree.FormatPath([]tree.PathStep{{Key: key}})
		if !keyPattern().MatchString(key) || len(key) > 253 {
			return nil, fmt.Errorf("%s: not a valid Secret key (letters, digits, '-', '_' and '.')", path)
		}
		if seen[key] {
			return nil, fmt.Errorf("%s: the key appears twice", path)
		}
		seen[key] = true
		v, err := valueText(it.Value, dotenvValues)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, Entry{Key: key, Value: v})
	}
	return out, nil
}

func valueText(v tree.Value, dotenvValues bool) ([]byte, error) {
	switch v.Kind {
	case tree.Map, tree.List:
		return stdjson.Marshal(plainValue(v))
	case tree.Null:
		return []byte{}, nil
	}
	s, _ := v.Canonical()
	if dotenvValues && v.Kind == tree.String {
		s = dotenv.Unquote(s)
	}
	return []byte(s), nil
}

// plainValue converts a value for encoding/json, comments left out.
func plainValue(v tree.Value) any {
	switch v.Kind {
	case tree.Map:
		m := orderedMap{}
		for _, it := range v.Items() {
			if it.IsComment() {
				continue
			}
			k, _ := it.Key.Canonical()
			m = append(m, kv{k, plainValue(it.Value)})
		}
		return m
	case tree.List:
		out := []any{}
		for _, e := range v.Elems() {
			if e.Kind != tree.Comment {
				out = append(out, plainValue(e))
			}
		}
		return out
	case tree.Null:
		return nil
	case tree.Int:
		return v.Int()
	case tree.Uint:
		return v.Uint()
	case tree.Float:
		return v.Float()
	case tree.Bool:
		return v.Bool()
	}
	s, _ := v.Canonical()
	return s
}

type kv struct {
	k string
	v any
}

// orderedMap keeps the file's key order in JSON.
type orderedMap []kv

func (m orderedMap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range m {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := stdjson.Marshal(e.k)
		v, err := stdjson.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Render writes the Secret manifest as YAML.
func Render(opts Options, entries []Entry) ([]byte, error) {
	n, err := Node(opts, entries)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Node builds the Secret as a YAML node, for the KRM function's list.
func Node(opts Options, entries []Entry) (*yaml.Node, error) {
	if !namePattern().MatchString(opts.Name) || len(opts.Name) > 253 {
		return nil, fmt.Errorf("secret name %q is not a valid Kubernetes name (lower-case letters, digits, '-' and '.')", opts.Name)
	}
	if opts.Namespace != "" && (!nsPattern().MatchString(opts.Namespace) || len(opts.Namespace) > 63) {
		return nil, fmt.Errorf("namespace %q is not a valid Kubernetes namespace", opts.Namespace)
	}
	typ := opts.Type
	if typ == "" {
		typ = "Opaque"
	}
	meta := mapping("name", str(opts.Name))
	if opts.Namespace != "" {
		meta.Content = append(meta.Content, str("namespace"), str(opts.Namespace))
	}
	for _, f := range []struct {
		name string
		m    map[string]string
	}{{"labels", opts.Labels}, {"annotations", opts.Annotations}} {
		if len(f.m) == 0 {
			continue
		}
		m := mapping()
		for _, k := range sortedKeys(f.m) {
			m.Content = append(m.Content, str(k), str(f.m[k]))
		}
		meta.Content = append(meta.Content, str(f.name), m)
	}
	data := mapping()
	field := "stringData"
	if opts.Base64 {
		field = "data"
	}
	for _, e := range entries {
		var v *yaml.Node
		switch {
		case opts.Base64:
			v = str(base64.StdEncoding.EncodeToString(e.Value))
		default:
			if !validUTF8Text(e.Value) {
				return nil, fmt.Errorf("[%q]: the value is not UTF-8 text: use data with base64 values", e.Key)
			}
			v = str(string(e.Value))
		}
		data.Content = append(data.Content, str(e.Key), v)
	}
	root := mapping(
		"apiVersion", str("v1"),
		"kind", str("Secret"),
		"metadata", meta,
		"type", str(typ),
		field, data,
	)
	return root, nil
}

func validUTF8Text(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

func mapping(kvs ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kvs); i += 2 {
		n.Content = append(n.Content, str(kvs[i].(string)), kvs[i+1].(*yaml.Node))
	}
	return n
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// Validate checks a manifest against what the API server requires of a
// v1 Secret, as far as a client can: apiVersion, kind, a valid name and
// namespace, valid keys, base64 data, string stringData, and no key in
// both. It is what the tests use where kubectl cannot reach a server.
func Validate(manifest []byte) error {
	var s struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name        string            `yaml:"name"`
			Namespace   string            `yaml:"namespace"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Type       string            `yaml:"type"`
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(manifest))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("not a Secret manifest: %w", err)
	}
	var errs []error
	if s.APIVersion != "v1" || s.Kind != "Secret" {
		errs = append(errs, fmt.Errorf("apiVersion/kind is %s/%s, want v1/Secret", s.APIVersion, s.Kind))
	}
	if !namePattern().MatchString(s.Metadata.Name) {
		errs = append(errs, fmt.Errorf("metadata.name %q is not valid", s.Metadata.Name))
	}
	if s.Metadata.Namespace != "" && !nsPattern().MatchString(s.Metadata.Namespace) {
		errs = append(errs, fmt.Errorf("metadata.namespace %q is not valid", s.Metadata.Namespace))
	}
	for k, v := range s.Data {
		if !keyPattern().MatchString(k) {
			errs = append(errs, fmt.Errorf("data key %s is not valid", strconv.Quote(k)))
		}
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			errs = append(errs, fmt.Errorf("data[%s] is not base64", strconv.Quote(k)))
		}
	}
	for k := range s.StringData {
		if !keyPattern().MatchString(k) {
			errs = append(errs, fmt.Errorf("stringData key %s is not valid", strconv.Quote(k)))
		}
		if _, ok := s.Data[k]; ok {
			errs = append(errs, fmt.Errorf("key %s is in data and stringData", strconv.Quote(k)))
		}
	}
	return errors.Join(errs...)
}
