package k8ssecret

import (
	"errors"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func TestEntries(t *testing.T) {
	doc := tree.Document{
		tree.CommentItem(" c", false),
		tree.KeyItem("export TOKEN", tree.Str(`"a b\n"`)),
		tree.KeyItem("n", tree.IntV(5)),
		tree.KeyItem("nested", tree.MapV([]tree.Item{tree.KeyItem("z", tree.IntV(1)), tree.KeyItem("a", tree.ListV([]tree.Value{tree.Str("x"), tree.BoolV(true)}))})),
		tree.KeyItem("empty", tree.Value{}),
	}
	got, err := Entries([]tree.Document{doc}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"TOKEN", []byte("a b\n")}, {"n", []byte("5")}, {"nested", []byte(`{"z":1,"a":["x",true]}`)}, {"empty", []byte{}}}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Value) != string(want[i].Value) {
			t.Errorf("entry %d: got %s=%q, want %s=%q", i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
	}
	for _, bad := range []tree.Document{
		{tree.KeyItem("a key", tree.Str("x"))},
		{tree.KeyItem("k", tree.Str("x")), tree.KeyItem("k", tree.Str("y"))},
	} {
		if _, err := Entries([]tree.Document{bad}, false); err == nil {
			t.Errorf("%v: no error", bad)
		} else if strings.Contains(err.Error(), `"x"`) {
			t.Errorf("the error names a value: %v", err)
		}
	}
}

func TestRender(t *testing.T) {
	entries := []Entry{{"bin", []byte{0xff, 0}}}
	if _, err := Render(Options{Name: "x"}, entries); err == nil {
		t.Error("binary value in stringData: no error")
	}
	out, err := Render(Options{Name: "x", Base64: true, Labels: map[string]string{"b": "2", "a": "1"}}, entries)
	if err != nil {
		t.Fatal(err)
	}
	want := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\n    b: \"2\"\ntype: Opaque\ndata:\n  bin: /wA=\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	if err := Validate(out); err != nil {
		t.Error(err)
	}
	for _, o := range []Options{{Name: ""}, {Name: "UPPER"}, {Name: "x", Namespace: "a.b"}} {
		if _, err := Render(o, nil); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct{ manifest, want string }{
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\nstringData: {a: b}\n", ""},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n", "want v1/Secret"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: Not_OK}\n", "metadata.name"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok, namespace: a.b}\n", "metadata.namespace"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\ndata: {a: '***'}\n", "not base64"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\ndata: {'a b': YQ==}\n", "not valid"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\ndata: {a: YQ==}\nstringData: {a: b}\n", "in data and stringData"},
		{"apiVersion: v1\nkind: Secret\nmetadata: {name: ok}\nunknown: 1\n", "not a Secret manifest"},
	} {
		err := Validate([]byte(c.manifest))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.manifest, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want %q", c.manifest, err, c.want)
		}
	}
}

func TestRunKRMErrors(t *testing.T) {
	open := func(path string) ([]Entry, error) {
		if path == "bad" {
			return nil, errors.New("bad: cannot decrypt")
		}
		return []Entry{{"k", []byte("v")}}, nil
	}
	fc := "functionConfig:\n  apiVersion: kura.dev/v1\n  kind: KuraSecret\n  metadata: {name: s}\n"
	for _, c := range []struct{ in, want string }{
		{"[]", "not a ResourceList"},
		{"kind: List\n", "not a ResourceList"},
		{"kind: ResourceList\n", "no functionConfig"},
		{"kind: ResourceList\nfunctionConfig: {apiVersion: v1, kind: ConfigMap}\n", "want kura.dev/v1 KuraSecret"},
		{"kind: ResourceList\n" + fc, "lists no files"},
		{"kind: ResourceList\n" + fc + "  files: [bad]\n", "bad: cannot decrypt"},
		{"kind: ResourceList\n" + fc + "  files: [a, b]\n", `key "k" is also in a`},
		{"kind: ResourceList\nitems: {}\n" + fc + "  files: [a]\n", "items is not a list"},
	} {
		_, err := RunKRM([]byte(c.in), open)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzRunKRM(f *testing.F) {
	f.Add([]byte("kind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: kura.dev/v1\n  kind: KuraSecret\n  metadata: {name: s}\n  files: [a]\n"))
	f.Add([]byte("kind: ResourceList\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := RunKRM(in, func(string) ([]Entry, error) { return []Entry{{"k", []byte("v")}}, nil })
		if err == nil && !strings.Contains(string(out), "kind: Secret") {
			t.Fatalf("no Secret in the output:\n%s", out)
		}
	})
}
