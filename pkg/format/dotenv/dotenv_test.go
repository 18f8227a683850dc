package dotenv

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/format"
	"github.com/kura-secrets/kura/pkg/tree"
)

func str(k, v string) tree.Item  { return tree.KeyItem(k, tree.Str(v)) }
func comment(c string) tree.Item { return tree.CommentItem(c, false) }

func TestLoadPlain(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     tree.Document
	}{
		{"empty", "", tree.Document{}},
		{"only newlines", "\n\n\n", tree.Document{}},
		{"pair", "A=1\n", tree.Document{str("A", "1")}},
		{"no final newline", "A=1\nB=2", tree.Document{str("A", "1"), str("B", "2")}},
		{"blank lines dropped", "\nA=1\n\n\nB=2\n\n", tree.Document{str("A", "1"), str("B", "2")}},
		{"first = splits", "A=b=c==\n", tree.Document{str("A", "b=c==")}},
		{"empty key and value", "=\n", tree.Document{str("", "")}},
		{"nothing trimmed", "  K = v \n", tree.Document{str("  K ", " v ")}},
		{"quotes kept", `Q="a b"` + "\n", tree.Document{str("Q", `"a b"`)}},
		{"export kept", "export X=1\n", tree.Document{str("export X", "1")}},
		{"escaped newline", `M=a\nb\\nc` + "\n", tree.Document{str("M", "a\nb\\\nc")}},
		{"escape only in values", `K\n=v\n` + "\n#c\\n\n", tree.Document{str(`K\n`, "v\n"), comment(`c\n`)}},
		{"CR kept", "A=1\r\n#c\r\n", tree.Document{str("A", "1\r"), comment("c\r")}},
		{"comment", "#x=1\n# y\n#\n", tree.Document{comment("x=1"), comment(" y"), comment("")}},
		{"hash in value", "H=a#b # c\n", tree.Document{str("H", "a#b # c")}},
		{"sops keys are data here", "sops_version=1\n", tree.Document{str("sops_version", "1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || !tree.ItemsEqual(docs[0], tc.want) {
				t.Fatalf("got %#v\nwant %#v", docs, tc.want)
			}
		})
	}
}

func TestLoadPlainErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want, secret string
	}{
		{"A=1\nsecretvalue\n", "line 2: invalid dotenv input line", "secretvalue"},
		{"A=1\n\n\n  # hidden\n", "line 4: invalid dotenv input line", "hidden"},
		{"\r\n", "line 1: invalid dotenv input line", ""},
		{"A=1\nB=2\nlast", "line 3: invalid dotenv input line", "last"},
	} {
		_, err := Store{}.LoadPlain([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
			continue
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%q: error %q shows the line", tc.in, err)
		}
	}
}

func TestEmitPlain(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.FixedZone("", 2*3600))
	// These are what sops 3.13.2 printed for `decrypt --output-type dotenv`
	// of a YAML file with the same values.
	doc := tree.Document{
		tree.KeyItem("a", tree.IntV(1)),
		tree.KeyItem("f", tree.FloatV(1)),
		tree.KeyItem("g", tree.FloatV(1e21)),
		tree.KeyItem("h", tree.FloatV(0.000001)),
		tree.KeyItem("b", tree.BoolV(true)),
		tree.KeyItem("n", tree.Value{}),
		tree.KeyItem("t", tree.TimeV(ts)),
		str("s", "multi\nline\n"),
		comment(" comment"),
		str("k", "v\r"),
		tree.KeyItem("big", tree.UintV(math.MaxUint64)),
	}
	want := "a=1\nf=1.0\ng=1E+21\nh=1E-06\nb=true\nn=<nil>\nt=2024-01-02T03:04:05+02:00\n" +
		"s=multi\\nline\\n\n# comment\nk=v\r\nbig=18446744073709551615\n"
	got, err := Store{}.EmitPlain([]tree.Document{doc, {str("second", "document")}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want)
	}

	if got, err := (Store{}).EmitPlain(nil); err != nil || len(got) != 0 {
		t.Fatalf("no documents: %q, %v", got, err)
	}
}

func TestEmitPlainComplex(t *testing.T) {
	for _, v := range []tree.Value{tree.MapV(nil), tree.ListV([]tree.Value{tree.Str("x")})} {
		_, err := Store{}.EmitPlain([]tree.Document{{str("ok", "1"), tree.KeyItem("nested", v)}})
		if err == nil || err.Error() != "cannot use complex value in dotenv file; offending key nested" {
			t.Errorf("%v: got %v", v.Kind, err)
		}
	}
}

func TestLoadEncrypted(t *testing.T) {
	in := "#c\nA=ENC[x]\nsops_version=3.13.2\nB=\nsops_age__list_0__map_enc=x\\ny\\n\nsops_age__list_0__map_recipient=age1\n"
	docs, meta, err := Store{}.LoadEncrypted([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc := tree.Document{comment("c"), str("A", "ENC[x]"), str("B", "")}
	if !tree.DocumentsEqual(docs, []tree.Document{wantDoc}) {
		t.Errorf("docs %#v", docs)
	}
	wantMeta := []tree.Item{
		tree.KeyItem("age", tree.ListV([]tree.Value{tree.MapV([]tree.Item{str("enc", "x\ny\n"), str("recipient", "age1")})})),
		str("version", "3.13.2"),
	}
	if !tree.ItemsEqual(meta, wantMeta) {
		t.Errorf("meta %#v", meta)
	}

	// Written back, the metadata goes after the data, in the tree's order.
	out, err := Store{}.EmitEncrypted(docs, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := "#c\nA=ENC[x]\nB=\nsops_age__list_0__map_enc=x\\ny\\n\nsops_age__list_0__map_recipient=age1\nsops_version=3.13.2\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestLoadEncryptedErrors(t *testing.T) {
	if _, _, err := (Store{}).LoadEncrypted([]byte("A=1\nsops=x\n")); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("no metadata: got %v", err)
	}
	if _, _, err := (Store{}).LoadEncrypted([]byte("A=1\nbad\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: got %v", err)
	}
	_, _, err := Store{}.LoadEncrypted([]byte("sops_a=1\nsops_a__map_b=2\n"))
	if err == nil || !strings.Contains(err.Error(), "type mismatch") {
		t.Errorf("bad metadata: got %v", err)
	}
}

func TestEmitEncrypted(t *testing.T) {
	meta := []tree.Item{
		str("lastmodified", "2026-11-28T20:05:01Z"),
		tree.KeyItem("mac_only_encrypted", tree.BoolV(true)),
		tree.KeyItem("shamir_threshold", tree.IntV(2)),
	}
	out, err := Store{}.EmitEncrypted(nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := "sops_lastmodified=2026-11-28T20:05:01Z\nsops_mac_only_encrypted=true\nsops_shamir_threshold=2\n"
	if string(out) != want {
		t.Errorf("got:\n%s", out)
	}

	_, err = Store{}.EmitEncrypted([]tree.Document{{str("A", "1")}, {str("sops_x", "1")}}, meta)
	if err == nil || !strings.Contains(err.Error(), `"sops_x"`) {
		t.Errorf("reserved key: got %v", err)
	}
}

func TestHasMetadataKey(t *testing.T) {
	for _, tc := range []struct {
		doc  tree.Document
		want bool
	}{
		{tree.Document{str("A", "1")}, false},
		{tree.Document{str("sops", "1")}, false},
		{tree.Document{comment("sops_x")}, false},
		{tree.Document{str("A", "1"), str("sops_", "")}, true},
		{tree.Document{str("sops_version", "3")}, true},
	} {
		if got := (Store{}).HasMetadataKey(tc.doc); got != tc.want {
			t.Errorf("%#v: got %v", tc.doc, got)
		}
	}
}

func TestEmitValue(t *testing.T) {
	got, err := Store{}.EmitValue(tree.Str("a\nb"))
	if err != nil || string(got) != "a\nb" {
		t.Errorf("string: %q, %v", got, err)
	}
	for _, v := range []tree.Value{tree.IntV(1), tree.BoolV(true), tree.ListV(nil), tree.MapV(nil), {}} {
		if _, err := (Store{}).EmitValue(v); err == nil || !strings.Contains(err.Error(), "only supports emitting strings") {
			t.Errorf("%v: got %v", v.Kind, err)
		}
	}
}
