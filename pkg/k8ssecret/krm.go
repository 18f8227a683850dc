package k8ssecret

import (
	"bytes"
	"errors"
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// The KRM function. kustomize (or kpt) runs it with a ResourceList on
// standard input whose functionConfig is a generator:
//
//	apiVersion: kura.dev/v1
//	kind: KuraSecret
//	metadata:
//	  name: app-secrets          # the Secret's name
//	  namespace: prod            # optional
//	  annotations:
//	    config.kubernetes.io/function: |
//	      exec:
//	        path: ./kura-krm.sh
//	files:                       # SOPS files, relative to the kustomization
//	  - secrets.enc.yaml
//	type: Opaque                 # optional
//	base64: false                # true: data with base64 values
//
// and it answers with the same list plus the Secret. The plaintext exists
// only in memory and on kustomize's pipe.

// GeneratorAPIVersion and GeneratorKind identify kura's generator.
const (
	GeneratorAPIVersion = "kura.dev/v1"
	GeneratorKind       = "KuraSecret"
)

// generator is the functionConfig.
type generator struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Files  []string `yaml:"files"`
	Type   string   `yaml:"type"`
	Base64 bool     `yaml:"base64"`
}

// RunKRM reads a ResourceList and returns it with the generated Secret
// added to its items. open decrypts one file into its entries.
func RunKRM(in []byte, open func(path string) ([]Entry, error)) ([]byte, error) {
	var list yaml.Node
	if err := yaml.Unmarshal(in, &list); err != nil {
		return nil, fmt.Errorf("reading the ResourceList: %w", err)
	}
	if list.Kind != yaml.DocumentNode || len(list.Content) != 1 || list.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the input is not a ResourceList")
	}
	root := list.Content[0]
	if kind := field(root, "kind"); kind == nil || kind.Value != "ResourceList" {
		return nil, errors.New("the input is not a ResourceList (kind: ResourceList)")
	}
	fc := field(root, "functionConfig")
	if fc == nil {
		return nil, errors.New("the ResourceList has no functionConfig: kura's generator is a KuraSecret")
	}
	var g generator
	if err := fc.Decode(&g); err != nil {
		return nil, fmt.Errorf("reading the %s: %w", GeneratorKind, err)
	}
	if g.APIVersion != GeneratorAPIVersion || g.Kind != GeneratorKind {
		return nil, fmt.Errorf("the functionConfig is %s %s, want %s %s", g.APIVersion, g.Kind, GeneratorAPIVersion, GeneratorKind)
	}
	if len(g.Files) == 0 {
		return nil, fmt.Errorf("%s %s lists no files", GeneratorKind, g.Metadata.Name)
	}
	var entries []Entry
	from := map[string]string{}
	for _, f := range g.Files {
		es, err := open(f)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if prev, ok := from[e.Key]; ok {
				return nil, fmt.Errorf("%s: key %q is also in %s", f, e.Key, prev)
			}
			from[e.Key] = f
			entries = append(entries, e)
		}
	}
	labels := g.Metadata.Labels
	annotations := map[string]string{}
	for k, v := range g.Metadata.Annotations {
		if k != "config.kubernetes.io/function" && k != "config.kubernetes.io/local-config" && k != "internal.config.kubernetes.io/path" {
			annotations[k] = v
		}
	}
	secret, err := Node(Options{Name: g.Metadata.Name, Namespace: g.Metadata.Namespace, Type: g.Type, Base64: g.Base64, Labels: labels, Annotations: annotations}, entries)
	if err != nil {
		return nil, err
	}
	items := field(root, "items")
	if items == nil {
		items = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, str("items"), items)
	}
	if items.Kind != yaml.SequenceNode {
		return nil, errors.New("the ResourceList's items is not a list")
	}
	items.Content = append(items.Content, secret)
	items.Style = 0 // "items: []" in the input was flow style: write a block list

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&list); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func field(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
