package ini

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
func section(name string, items ...tree.Item) tree.Item {
	return tree.KeyItem(name, tree.MapV(append([]tree.Item{}, items...)))
}

func TestLoadPlain(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     tree.Document
	}{
		{"empty", "", tree.Document{section("DEFAULT")}},
		{"DEFAULT is always first", "[a]\nk=v\n", tree.Document{section("DEFAULT"), section("a", str("k", "v"))}},
		{
			// ini-basic: a key's comment goes after the key.
			"keys outside sections",
			"; top\nglobal = on\n[db]\n# hash\nhost = h\n",
			tree.Document{section("DEFAULT", str("global", "on"), comment("top")), section("db", str("host", "h"), comment("hash"))},
		},
		{
			// ini-multi-recipient: a section's comment starts its map.
			"section comment",
			"; shared\n[smtp] ; same line\nhost = h\n",
			tree.Document{section("DEFAULT"), section("smtp", comment("shared\n; same line"), str("host", "h"))},
		},
		{
			"values",
			"a = \"quoted value\"\nb = 'single'\nc = `back`\nd =\ne = v ; inline\nf: colon\ng = a=b\nh = \"\"\"multi\nline\"\"\"\n",
			tree.Document{section("DEFAULT",
				str("a", "quoted value"), str("b", "single"), str("c", "back"), str("d", ""),
				str("e", "v"), comment("inline"), str("f", "colon"), str("g", "a=b"), str("h", "multi\nline"))},
		},
		{"duplicate keys keep the last value", "k = 1\nj = 2\nk = 3\n", tree.Document{section("DEFAULT", str("k", "3"), str("j", "2"))}},
		{"repeated sections stay apart", "[a]\nk=1\n[a]\nk=2\n", tree.Document{section("DEFAULT"), section("a", str("k", "1")), section("a", str("k", "2"))}},
		{"comment marks stripped", "#  x\nk1 = 1\n;;; y\nk2 = 2\n; #z\nk3 = 3\n", tree.Document{section("DEFAULT",
			str("k1", "1"), comment("x"), str("k2", "2"), comment("y"), str("k3", "3"), comment("#z"))}},
		{"byte order mark", "\uFEFFk = v\n", tree.Document{section("DEFAULT", str("k", "v"))}},
		{"sops is data here", "[sops]\nversion = 1\n", tree.Document{section("DEFAULT"), section("sops", str("version", "1"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := Store{}.LoadPlain([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != 1 || !tree.ItemsEqual(docs[0], tc.want) {
				t.Fatalf("got  %#v\nwant %#v", docs[0], tc.want)
			}
		})
	}
}

func TestLoadPlainErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want, secret string
	}{
		{"[s]\nflag\n", "line 2: key-value delimiter not found", ""},
		{"a = 1\n= hunter2\n", "line 2: empty key name", "hunter2"},
		{"[password hunter2\n", "line 1: unclosed section header", "hunter2"},
		{"k = \"\"\"hunter2\nmore\n", `line 1: missing closing """ of a multi-line value`, "hunter2"},
		{"\"key hunter2\n", "line 1: missing closing quote of a key name", "hunter2"},
		{"`key` hunter2\n", "line 1: key-value delimiter not found", "hunter2"},
		{"[]\n", "empty section name", ""},
		{"\"\" = hunter2\n", "empty key name", "hunter2"},
	} {
		_, err := Store{}.LoadPlain([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
			continue
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("%q: error %q shows the value", tc.in, err)
		}
	}
}

func TestEmitPlainConverted(t *testing.T) {
	// A tree as sops 3.13.2 loads it from YAML, and what it printed for
	// `decrypt --output-type ini`: scalars in flat form, nested values in
	// Go's formatting of sops's own tree, and the library's quoting.
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.FixedZone("", 2*3600))
	doc := tree.Document{
		tree.CommentItem(" top-level comments are dropped", false),
		section("top",
			tree.KeyItem("a", tree.IntV(1)),
			tree.KeyItem("f", tree.FloatV(1)),
			tree.KeyItem("g", tree.FloatV(1e21)),
			tree.KeyItem("h", tree.FloatV(0.000001)),
			tree.KeyItem("b", tree.BoolV(true)),
			tree.KeyItem("n", tree.Value{}),
			tree.KeyItem("t", tree.TimeV(ts)),
			tree.KeyItem("nested", tree.MapV([]tree.Item{
				tree.KeyItem("c", tree.IntV(1)),
				tree.KeyItem("d", tree.ListV([]tree.Value{tree.Str("x"), tree.FloatV(2.5), tree.MapV([]tree.Item{str("e", "f")})})),
			})),
			tree.KeyItem("lst", tree.ListV([]tree.Value{tree.IntV(1), tree.Str("two"), {}})),
			str("s", "multi\nline"),
			str("sp", " lead"),
			str("hash", "a#b"),
			str("bt", "a`b"),
			comment(" a comment"),
			str("k2", "v"),
			comment(" c2"),
			comment(" c3"),
		),
	}
	want := "[top]\n" +
		"a      = 1\n" +
		"f      = 1.0\n" +
		"g      = 1E+21\n" +
		"h      = 1E-06\n" +
		"b      = true\n" +
		"n      = <nil>\n" +
		"t      = 2024-01-02T03:04:05+02:00\n" +
		"nested = [{c 1} {d [x 2.5 [{e f}]]}]\n" +
		"lst    = [1 two <nil>]\n" +
		"s      = \"\"\"multi\nline\"\"\"\n" +
		"sp     = \" lead\"\n" +
		"hash   = `a#b`\n" +
		"; a comment\n" +
		"bt     = \"\"\"a`b\"\"\"\n" +
		"; c3\n" +
		"k2     = v\n"
	got, err := Store{}.EmitPlain([]tree.Document{doc})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEmitPlainLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		docs []tree.Document
		want string
	}{
		{"nothing", nil, ""},
		{"empty DEFAULT", []tree.Document{{section("DEFAULT"), section("a", str("k", "v"))}}, "[a]\nk = v\n"},
		{"DEFAULT keys", []tree.Document{{section("DEFAULT", str("k", "v")), section("a")}}, "k = v\n\n[a]\n"},
		{"later DEFAULT gets a header", []tree.Document{{section("a"), section("DEFAULT", str("k", "v"))}}, "[a]\n\n[DEFAULT]\nk = v\n"},
		{"comments before the first key", []tree.Document{{section("a", comment("sec"), comment("lost"), str("k", "v"))}}, "; sec\n[a]\nk = v\n"},
		{"duplicate keys", []tree.Document{{section("a", str("k", "1"), str("j", "2"), str("k", "3"))}}, "[a]\nk = 3\nj = 2\n"},
		{"key names that need quoting", []tree.Document{{section("a", str("x=y", "1"), str("p`q", "2"), str("long_name", "3"))}},
			"[a]\n`x=y`     = 1\n\"\"\"p`q\"\"\" = 2\nlong_name = 3\n"},
		{"every document", []tree.Document{{section("a")}, {section("b")}}, "[a]\n\n[b]\n"},
		{
			// sops 3.13.2 panics here (the comment's first line is empty);
			// we write the empty line as "; ".
			"comment with an empty line",
			[]tree.Document{{section("DEFAULT", str("k", "v"), comment("\n; b"))}},
			"; \n; b\nk = v\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Store{}.EmitPlain(tc.docs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got:\n%q\nwant:\n%q", got, tc.want)
			}
		})
	}
}

func TestEmptyCommentLineRoundTrip(t *testing.T) {
	in := []byte(";\n; b\nk = v\n")
	docs, err := Store{}.LoadPlain(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Store{}.EmitPlain(docs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Store{}.LoadPlain(out)
	if err != nil || !tree.DocumentsEqual(again, docs) {
		t.Fatalf("got %#v, %v\nwant %#v", again, err, docs)
	}
}

func TestEmitPlainErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  tree.Document
		want string
	}{
		{"top-level string", tree.Document{str("k", "v")}, `section "k": Section values should always be TreeBranches`},
		{"top-level list", tree.Document{tree.KeyItem("k", tree.ListV(nil))}, "Section values should always be TreeBranches"},
		{"empty section name", tree.Document{section("")}, "empty section name"},
		{"empty key name", tree.Document{section("a", str("", "v"))}, "empty key name"},
		{"non-string key", tree.Document{section("a", tree.Item{Key: tree.IntV(1), Value: tree.Str("v")})}, "int key"},
	} {
		_, err := Store{}.EmitPlain([]tree.Document{tc.doc})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestEmitValue(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123000000, time.FixedZone("", 2*3600))
	// What sops 3.13.2 printed for `decrypt --output-type ini --extract`.
	for _, tc := range []struct {
		v    tree.Value
		want string
	}{
		{tree.ListV([]tree.Value{tree.IntV(1), tree.Str("two"), {}}), `[1,"two",null]`},
		{tree.IntV(1), "1"},
		{tree.FloatV(1), "1"},
		{tree.TimeV(ts), `"2024-01-02T03:04:05.123+02:00"`},
		{tree.Value{}, "null"},
		{tree.BoolV(true), "true"},
		{tree.ListV([]tree.Value{tree.Str("x"), tree.FloatV(2.5), tree.MapV([]tree.Item{str("e", "f")})}), `["x",2.5,[{"Key":"e","Value":"f"}]]`},
		{tree.Str("<a>"), `"\u003ca\u003e"`},
		{tree.ListV([]tree.Value{tree.CommentV("c", false)}), `[{"Value":"c","Inline":false}]`},
	} {
		got, err := Store{}.EmitValue(tc.v)
		if err != nil || string(got) != tc.want {
			t.Errorf("%v: got %s, %v; want %s", tc.v.Kind, got, err, tc.want)
		}
	}
	if _, err := (Store{}).EmitValue(tree.FloatV(math.NaN())); err == nil {
		t.Error("NaN written")
	}
}

func TestLoadEncrypted(t *testing.T) {
	in := "k = ENC[x]\n\n[sops]\n; ignored\nage__list_0__map_enc = a\\nb\\n\nversion = 3.13.2\n"
	docs, meta, err := Store{}.LoadEncrypted([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if want := (tree.Document{section("DEFAULT", str("k", "ENC[x]"))}); !tree.DocumentsEqual(docs, []tree.Document{want}) {
		t.Errorf("docs %#v", docs)
	}
	wantMeta := []tree.Item{
		tree.KeyItem("age", tree.ListV([]tree.Value{tree.MapV([]tree.Item{str("enc", "a\nb\n")})})),
		str("version", "3.13.2"),
	}
	if !tree.ItemsEqual(meta, wantMeta) {
		t.Errorf("meta %#v", meta)
	}
}

// TestLoadEncryptedMultiline reads the metadata as sops 3.13.0 and 3.13.1
// wrote it, with real newlines inside """ quotes, from the same file in
// both forms.
func TestLoadEncryptedMultiline(t *testing.T) {
	legacy := "[auth]\ntoken = ENC[x]\n\n[sops]\n" +
		"age__list_0__map_enc = \"\"\"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n\"\"\"\n" +
		"pgp__list_0__map_enc = \"\"\"-----BEGIN PGP MESSAGE-----\n\nhF4D\n-----END PGP MESSAGE-----\"\"\"\n" +
		"version = 3.13.1\n"
	current := "[auth]\ntoken = ENC[x]\n\n[sops]\n" +
		"age__list_0__map_enc = -----BEGIN AGE ENCRYPTED FILE-----\\nYWdl\\n-----END AGE ENCRYPTED FILE-----\\n\n" +
		"pgp__list_0__map_enc = -----BEGIN PGP MESSAGE-----\\n\\nhF4D\\n-----END PGP MESSAGE-----\n" +
		"version = 3.13.1\n"
	docs1, meta1, err := Store{}.LoadEncrypted([]byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	docs2, meta2, err := Store{}.LoadEncrypted([]byte(current))
	if err != nil {
		t.Fatal(err)
	}
	if !tree.DocumentsEqual(docs1, docs2) || !tree.ItemsEqual(meta1, meta2) {
		t.Fatalf("legacy %#v\ncurrent %#v", meta1, meta2)
	}
	age := meta1[0].Value.Elems()[0].Items()[0].Value.Str
	if age != "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n" {
		t.Errorf("age enc %q", age)
	}
	// Written back, it takes the current form.
	out, err := Store{}.EmitEncrypted(docs1, meta1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `age__list_0__map_enc = -----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n`+"\n") {
		t.Errorf("got:\n%s", out)
	}
}

func TestLoadEncryptedErrors(t *testing.T) {
	if _, _, err := (Store{}).LoadEncrypted([]byte("[a]\nk = v\n")); !errors.Is(err, format.ErrNoMetadata) {
		t.Errorf("no metadata: got %v", err)
	}
	if _, _, err := (Store{}).LoadEncrypted([]byte("[sops]\nversion = 1\n[sops]\nmac = 2\n")); err == nil || !strings.Contains(err.Error(), "more than one [sops] section") {
		t.Errorf("two sections: got %v", err)
	}
	if _, _, err := (Store{}).LoadEncrypted([]byte("[sops]\na__list_1 = x\n")); err == nil || !strings.Contains(err.Error(), "incomplete list") {
		t.Errorf("bad metadata: got %v", err)
	}
	if _, _, err := (Store{}).LoadEncrypted([]byte("[sops\n")); err == nil {
		t.Errorf("bad file loaded")
	}
}

func TestEmitEncrypted(t *testing.T) {
	meta := []tree.Item{
		str("encrypted_regex", "^a;b"),
		str("lastmodified", "2026-11-28T20:05:04Z"),
		tree.KeyItem("mac_only_encrypted", tree.BoolV(true)),
		tree.KeyItem("shamir_threshold", tree.IntV(2)),
	}
	out, err := Store{}.EmitEncrypted(nil, meta)
	if err != nil {
		t.Fatal(err)
	}
	want := "[sops]\nencrypted_regex    = `^a;b`\nlastmodified       = 2026-11-28T20:05:04Z\nmac_only_encrypted = true\nshamir_threshold   = 2\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
	_, err = Store{}.EmitEncrypted([]tree.Document{{section("DEFAULT"), section("sops")}}, meta)
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("reserved section: got %v", err)
	}
}

func TestHasMetadataKey(t *testing.T) {
	for _, tc := range []struct {
		doc  tree.Document
		want bool
	}{
		{tree.Document{section("DEFAULT"), section("a")}, false},
		{tree.Document{section("sops_x")}, false},
		{tree.Document{section("DEFAULT", str("sops", "x"))}, false},
		{tree.Document{section("DEFAULT"), section("sops")}, true},
	} {
		if got := (Store{}).HasMetadataKey(tc.doc); got != tc.want {
			t.Errorf("%#v: got %v", tc.doc, got)
		}
	}
}
