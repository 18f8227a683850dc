package yaml

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/internal/corpus"
	"github.com/kura-secrets/kura/internal/storetest"
	"github.com/kura-secrets/kura/pkg/tree"
	yaml "go.yaml.in/yaml/v3"
)

// TestEncryptedFilesReemit loads every YAML file sops wrote in the corpus
// and writes it again: the bytes must be identical, which shows that kura
// writes ENC values, comments and the metadata block as sops does.
func TestEncryptedFilesReemit(t *testing.T) {
	var files, indent2 []string
	for _, f := range storetest.EncryptedFiles(t, ".yaml") {
		switch name := storetest.Name(f); {
		case strings.HasPrefix(name, "tamper-truncated"):
			if _, _, err := (Store{}).LoadEncrypted(storetest.Read(t, f)); err == nil {
				t.Errorf("%s: a truncated file loaded without error", name)
			}
		case strings.Contains(name, "indent"):
			indent2 = append(indent2, f)
		default:
			files = append(files, f)
		}
	}
	if len(files) < 20 || len(indent2) != 1 {
		t.Fatalf("found %d encrypted YAML files and %d with indent 2", len(files), len(indent2))
	}
	storetest.CheckEncrypted(t, Store{}, files)
	storetest.CheckEncrypted(t, Store{Indent: 2}, indent2)
}

// stripInline forgets which comments were inline, as decrypting an
// encrypted comment does.
func stripInline(items []tree.Item) {
	for i := range items {
		items[i].Key.Inline = false
		stripValue(&items[i].Value)
	}
}

func stripValue(v *tree.Value) {
	v.Inline = false
	stripInline(v.Items())
	for i := range v.Elems() {
		stripValue(&v.Elems()[i])
	}
}

// TestPlainRoundtrips checks the store's half of every YAML roundtrip row
// whose comments sops encrypts (so decryption forgets which were inline):
// loading the input and emitting it gives what sops decrypt printed.
func TestPlainRoundtrips(t *testing.T) {
	rows, err := corpus.Rows()
	if err != nil {
		t.Fatal(err)
	}
	clearComments := map[string]bool{}
	for _, r := range rows {
		if strings.Contains(r["encrypt_command"], "comment-regex") || strings.Contains(r["encrypt_command"], "encrypted-regex") || r["config"] != "-" {
			clearComments[r["case"]] = true
		}
	}
	var cases []storetest.PlainCase
	for _, c := range storetest.PlainCases(t, "yaml", ".yaml") {
		if !clearComments[c.Name] {
			cases = append(cases, c)
		}
	}
	if len(cases) < 10 {
		t.Fatalf("only %d rows", len(cases))
	}
	storetest.CheckPlain(t, Store{}, cases, func(docs []tree.Document) {
		for _, d := range docs {
			stripInline(d)
		}
	})
}

// encodeNode is what SOPS does for every scalar: encode the Go value and
// parse the text back.
func encodeNode(t *testing.T, v any) *yaml.Node {
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		t.Fatal(err)
	}
	return &n
}

func marshalIn(t *testing.T, key, value *yaml.Node) string {
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		key, value,
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "list"},
		{Kind: yaml.SequenceNode, Content: []*yaml.Node{value}},
	}}
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(4)
	if err := e.Encode(doc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var tricky = []string{
	"", " ", "  padded  ", "a", "hello world", "yes", "no", "on", "off", "y", "n", "Y", "true", "True", "TRUE", "false",
	"null", "Null", "~", "<<", "<", "=", "-", "--", "---", "- a", "-a", "+", "+1", "-1", "1", "01", "0x1F", "0o17", "0b101",
	"1_000", "1.5", ".5", ".", ".inf", ".nan", "-.inf", "+.inf", "1e3", "1E3", "6.02e+23", "12:30:00", "1:20", "190:20:30",
	"2024-01-02", "2024-1-2", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "12345678901234567890",
	"99999999999999999999", "a: b", "a:b", "a #b", "a#b", "#a", "&a", "*a", "!a", "|a", "a|", ">a", "%a", "@a", "`a",
	"'a'", "\"a\"", "{a}", "[a]", "a,b", "?", "? a", "a\tb", "tab\there\nnewline", "line1\nline2\n", "trailing \n",
	"\n", "\n\n", "a\n\n", " leading\nx", "x\n leading", "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]",
	"Grüße", "日本語", "🔐🚀 secret 👩‍💻", "\x01", "\u2028", "\u0085", "\ufeffbom", "a\u00a0b", "https://x.example.com:8443/p?q=1&r=2",
	"host:port", "pa$$w0rd", "ends with spaces   ", "\x80invalid", "\xff\xfe", "0755", "-0", "+0", "0.", "1.", "-.5",
	"2024-03-15T10:20:30Z", "1e400", "0x", "0xZZ", "- ", "a ", " a", "\ta", "a\t", "\\", "\\n", "key: value # comment",
	strings.Repeat("long ", 40), strings.Repeat("x", 200),
	// Starting like a number but holding a byte no number has: styled
	// without the library (mayResolveNumeric).
	"3R1f83RQ+sB98hFq0aBbTaM47jmGPyU4", "9fCZ/08MNoS0E", "1g", "0xG1", "1:2g", "-a b", "+x", "1 #c", "1: x", "1 - x",
	"2001-12-14T21:59:43.10Q", "1-2-3", "-", "- x", "0o8", "1\n2", "1\nabc\n", "5'", "7\"", "1,2", "1[a]", "1 ", " 1",
}

// TestScalarNodeMatchesEncode checks that stringNode gives the output SOPS
// gets from yaml.v3's Encode round trip, as a key, a value and a list
// element.
func TestScalarNodeMatchesEncode(t *testing.T) {
	// "<<" is the one string whose output changed after v3.0.4, the
	// version sops uses: check it against sops's output.
	if got, want := marshalIn(t, stringNode("<<"), stringNode("<<")), "!!merge <<: !!merge <<\nlist:\n    - !!merge <<\n"; got != want {
		t.Errorf("\"<<\": got %q, want %q", got, want)
	}
	for _, s := range tricky {
		if s == "<<" {
			continue
		}
		want := marshalIn(t, encodeNode(t, s), encodeNode(t, s))
		got := marshalIn(t, stringNode(s), stringNode(s))
		if got != want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", s, got, want)
		}
	}
}

func FuzzScalarNodeMatchesEncode(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var n yaml.Node
		if n.Encode(s) != nil || s == "<<" {
			return
		}
		want := marshalIn(t, encodeNode(t, s), encodeNode(t, s))
		got := marshalIn(t, stringNode(s), stringNode(s))
		if got != want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", s, got, want)
		}
	})
}

// FuzzLoadPlain feeds arbitrary bytes to the loader: it must never panic,
// and what it loads must emit and load again to the same tree.
func FuzzLoadPlain(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(), "cases", "*", "*.yaml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := Store{}.LoadPlain(data)
		if err != nil || hasNonStringKey(docs) {
			// Non-string keys cannot be encrypted, and two spellings of
			// one number (00 and 0000) emit as the same key.
			return
		}
		out, err := Store{}.EmitPlain(docs)
		if err != nil {
			return
		}
		if _, err := (Store{}).LoadPlain(out); err != nil && len(docs) > 0 {
			t.Fatalf("re-loading emitted YAML failed: %v\ninput %q\nemitted %q", err, data, out)
		}
	})
}

func hasNonStringKey(docs []tree.Document) bool {
	var walk func(items []tree.Item) bool
	var value func(v tree.Value) bool
	value = func(v tree.Value) bool {
		switch v.Kind {
		case tree.Map:
			return walk(v.Items())
		case tree.List:
			for _, e := range v.Elems() {
				if value(e) {
					return true
				}
			}
		}
		return false
	}
	walk = func(items []tree.Item) bool {
		for _, it := range items {
			if !it.IsComment() && it.Key.Kind != tree.String {
				return true
			}
			if value(it.Value) {
				return true
			}
		}
		return false
	}
	for _, d := range docs {
		if walk(d) {
			return true
		}
	}
	return false
}
