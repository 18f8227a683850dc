package publish

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func TestVarsAndExpand(t *testing.T) {
	tests := []struct {
		rel, template, want string
	}{
		{"prod/eu/db.enc.yaml", "vault-kv://secret/apps/{dir}/{name}", "vault-kv://secret/apps/prod/eu/db"},
		{"prod/eu/db.enc.yaml", "vault-kv://secret/{path}", "vault-kv://secret/prod/eu/db"},
		{"prod/eu/db.enc.yaml", "aws-secretsmanager://{path}.{ext}", "aws-secretsmanager://prod/eu/db.enc.yaml"},
		{"prod/eu/db.enc.yaml", "aws-secretsmanager://x/{file}", "aws-secretsmanager://x/db.enc.yaml"},
		{"db.yaml", "vault-kv://secret/apps/{dir}/{name}", "vault-kv://secret/apps/db"},
		{"db", "vault-kv://secret/{name}-{ext}", "vault-kv://secret/db-"},
		{".env.enc", "vault-kv://secret/{name}", "vault-kv://secret/.env"},
		{"a/.env", "vault-kv://secret/{path}", "vault-kv://secret/a/.env"},
		{"./a//b.json", "vault-kv://secret/{path}", "vault-kv://secret/a/b"},
		{"x.yaml", "vault-kv://secret/{name}?address=http://v:8200", "vault-kv://secret/x?address=http://v:8200"},
		{"x.yaml", "vault-kv://secret/fixed", "vault-kv://secret/fixed"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.template, VarsOf(tt.rel))
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q, %q) = %q, %v; want %q", tt.template, tt.rel, got, err, tt.want)
		}
	}
	v := VarsOf("prod/eu/db.enc.yaml")
	if want := (Vars{Path: "prod/eu/db", Dir: "prod/eu", Name: "db", Ext: "enc.yaml", File: "db.enc.yaml"}); v != want {
		t.Errorf("VarsOf = %+v, want %+v", v, want)
	}
	for _, bad := range []string{"vault-kv://secret/{nme}", "vault-kv://secret/{name", "vault-kv://secret/name}", "vault-kv://{}"} {
		if _, err := Expand(bad, v); err == nil {
			t.Errorf("Expand(%q) succeeded", bad)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		uri  string
		want Target
		str  string // String(), when not uri
	}{
		{"vault-kv://secret/apps/web", Target{Kind: VaultKV, Mount: "secret", Path: "apps/web", KVVersion: 2}, ""},
		{"vault-kv://secret//apps/web/", Target{Kind: VaultKV, Mount: "secret", Path: "apps/web", KVVersion: 2}, "vault-kv://secret/apps/web"},
		{"vault-kv://team/kv/apps/web?mount=team/kv", Target{Kind: VaultKV, Mount: "team/kv", Path: "apps/web", KVVersion: 2}, ""},
		{"vault-kv://kv1/a?kv_version=1&address=https://v.example:8200", Target{Kind: VaultKV, Mount: "kv1", Path: "a", KVVersion: 1, Address: "https://v.example:8200"}, "vault-kv://kv1/a?address=https://v.example:8200&kv_version=1"},
		{"aws-secretsmanager://prod/app", Target{Kind: SecretsManager, Name: "prod/app"}, ""},
		{"aws-secretsmanager://prod/app?region=eu-west-1", Target{Kind: SecretsManager, Name: "prod/app", Region: "eu-west-1"}, ""},
		{"aws-secretsmanager://arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-AbCdEf", Target{Kind: SecretsManager, Name: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app-AbCdEf"}, ""},
	}
	for _, tt := range tests {
		got, err := Parse(tt.uri)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.uri, got, err, tt.want)
			continue
		}
		str := tt.str
		if str == "" {
			str = tt.uri
		}
		if got.String() != str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.uri, got.String(), str)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
	for _, bad := range []string{
		"secret/apps/web", "s3://bucket/key", "vault-kv://secret", "vault-kv://secret/", "vault-kv://secret/../sys/x",
		"vault-kv://secret/a?kv_version=3", "vault-kv://secret/a?mount=other", "vault-kv://secret/a?address=vault:8200",
		"vault-kv://secret/a?bogus=1", "vault-kv://secret/a?mount=secret&mount=secret", "vault-kv://secret/a\x01b",
		"aws-secretsmanager://", "aws-secretsmanager://bad name", "aws-secretsmanager://a?region=Mars", "aws-secretsmanager://a?mount=x",
	} {
		if got, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, got)
		}
	}
}

// doc builds a document: db (map), token, port, ratio, on, none, hosts
// (list), with comments in between.
func doc() tree.Document {
	return tree.Document{
		tree.CommentItem(" top", false),
		tree.KeyItem("db", tree.MapV([]tree.Item{tree.KeyItem("user", tree.Str("admin")), tree.CommentItem(" c", false), tree.KeyItem("password", tree.Str("s3cr3t"))})),
		tree.KeyItem("token", tree.Str("tok-123")),
		tree.KeyItem("port", tree.IntV(5432)),
		tree.KeyItem("ratio", tree.FloatV(0.5)),
		tree.KeyItem("on", tree.BoolV(true)),
		tree.KeyItem("none", tree.Value{}),
		tree.KeyItem("hosts", tree.ListV([]tree.Value{tree.Str("a"), tree.CommentV(" c", false), tree.Str("b")})),
	}
}

func TestDocumentAndKVData(t *testing.T) {
	tests := []struct {
		name string
		docs []tree.Document
		json string         // Document's result
		kv   map[string]any // KVData of it
	}{
		{
			name: "all kinds",
			docs: []tree.Document{doc()},
			json: `{"db":{"user":"admin","password":"s3cr3t"},"token":"tok-123","port":5432,"ratio":0.5,"on":true,"none":null,"hosts":["a","b"]}`,
			kv: map[string]any{
				"db":    map[string]any{"user": "admin", "password": "s3cr3t"},
				"token": "tok-123", "port": json.Number("5432"), "ratio": json.Number("0.5"), "on": true, "none": nil,
				"hosts": []any{"a", "b"},
			},
		},
		{name: "empty", docs: []tree.Document{{}}, json: `{}`, kv: map[string]any{}},
		{
			name: "big numbers kept as written",
			docs: []tree.Document{{tree.KeyItem("n", tree.IntV(9007199254740993))}},
			json: `{"n":9007199254740993}`,
			kv:   map[string]any{"n": json.Number("9007199254740993")},
		},
		{
			name: "strings escaped",
			docs: []tree.Document{{tree.KeyItem("k\"ey", tree.Str("line\n\"q\" <b>"))}},
			json: `{"k\"ey":"line\n\"q\" \u003cb\u003e"}`,
			kv:   map[string]any{"k\"ey": "line\n\"q\" <b>"},
		},
	}
	for _, tt := range tests {
		b, err := Document(tt.docs)
		if err != nil || string(b) != tt.json {
			t.Errorf("%s: Document = %s, %v; want %s", tt.name, b, err, tt.json)
			continue
		}
		kv, err := KVData(b)
		if err != nil || !reflect.DeepEqual(kv, tt.kv) {
			t.Errorf("%s: KVData = %#v, %v; want %#v", tt.name, kv, err, tt.kv)
		}
	}
	if _, err := Document(nil); err == nil {
		t.Error("Document(no documents) succeeded")
	}
	if _, err := Document([]tree.Document{doc(), doc()}); err == nil || !strings.Contains(err.Error(), "2 YAML documents") {
		t.Errorf("Document(two documents) = %v", err)
	}
	for _, bad := range []string{`[1,2]`, `"s"`, `{"a":1} {"b":2}`, `{`, ``} {
		if _, err := KVData([]byte(bad)); err == nil {
			t.Errorf("KVData(%q) succeeded", bad)
		}
	}
}

func TestDescribe(t *testing.T) {
	var got []string
	for _, f := range Describe(doc()) {
		got = append(got, f.String())
	}
	want := []string{"db (object, 2 keys)", "token (string, 7 bytes)", "port (number)", "ratio (number)", "on (boolean)", "none (null)", "hosts (array, 2 items)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	for _, s := range got {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "tok-123") || strings.Contains(s, "admin") {
			t.Errorf("Describe shows a value: %s", s)
		}
	}
	odd := Describe(tree.Document{tree.KeyItem("a, b", tree.Str("x")), tree.KeyItem("", tree.Str(""))})
	if odd[0].String() != `"a, b" (string, 1 byte)` || odd[1].String() != `"" (string, 0 bytes)` {
		t.Errorf("Describe quotes = %q, %q", odd[0], odd[1])
	}
}
