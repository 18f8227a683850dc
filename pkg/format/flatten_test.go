package format

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/tree"
)

func tMap(items ...tree.Item) tree.Value   { return tree.MapV(items) }
func tList(elems ...tree.Value) tree.Value { return tree.ListV(elems) }
func tKV(k string, v tree.Value) tree.Item { return tree.KeyItem(k, v) }
func tStr(k, v string) tree.Item           { return tree.KeyItem(k, tree.Str(v)) }
func flatNames(items []tree.Item) (out []string) {
	for _, it := range items {
		out = append(out, it.Key.Str)
	}
	return out
}

// stripEmpty returns v without empty lists and maps, which flattening
// cannot keep.
func flatStripEmpty(items []tree.Item) []tree.Item {
	var out []tree.Item
	for _, it := range items {
		v, keep := flatStripEmptyValue(it.Value)
		if keep && !it.IsComment() {
			out = append(out, tree.Item{Key: it.Key, Value: v})
		}
	}
	return out
}

func flatStripEmptyValue(v tree.Value) (tree.Value, bool) {
	switch v.Kind {
	case tree.Map:
		items := flatStripEmpty(v.Items())
		return tree.MapV(items), len(items) > 0
	case tree.List:
		var elems []tree.Value
		for _, e := range v.Elems() {
			if e, keep := flatStripEmptyValue(e); keep && e.Kind != tree.Comment {
				elems = append(elems, e)
			}
		}
		return tree.ListV(elems), len(elems) > 0
	}
	return v, true
}

// The metadata trees below have the shape metadata.ToTree gives them:
// alphabetical keys, groups with empty "age" and "hc_vault" lists.
var flattenCases = []struct {
	name string
	meta []tree.Item
	want []string // flattened names, with the "sops_" prefix
}{
	{
		name: "single age recipient",
		meta: []tree.Item{
			tKV("age", tList(tMap(tStr("enc", "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"), tStr("recipient", "age1xyz")))),
			tStr("lastmodified", "2026-11-28T20:05:01Z"),
			tStr("mac", "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]"),
			tStr("unencrypted_suffix", "_unencrypted"),
			tStr("version", "3.13.2"),
		},
		want: []string{
			"sops_age__list_0__map_enc",
			"sops_age__list_0__map_recipient",
			"sops_lastmodified",
			"sops_mac",
			"sops_unencrypted_suffix",
			"sops_version",
		},
	},
	{
		name: "key groups with empty lists",
		meta: []tree.Item{
			tKV("key_groups", tList(
				tMap(tKV("age", tList(tMap(tStr("enc", "A"), tStr("recipient", "age1a")))), tKV("hc_vault", tList())),
				tMap(tKV("age", tList()), tKV("hc_vault", tList()), tKV("pgp", tList(tMap(tStr("created_at", "2024-01-02T03:04:05Z"), tStr("enc", "P"), tStr("fp", "FP2"))))),
			)),
			tStr("lastmodified", "2026-11-28T20:04:42Z"),
			tKV("mac_only_encrypted", tree.BoolV(true)),
			tKV("shamir_threshold", tree.IntV(2)),
			tStr("version", "3.13.2"),
		},
		want: []string{
			"sops_key_groups__list_0__map_age__list_0__map_enc",
			"sops_key_groups__list_0__map_age__list_0__map_recipient",
			"sops_key_groups__list_1__map_pgp__list_0__map_created_at",
			"sops_key_groups__list_1__map_pgp__list_0__map_enc",
			"sops_key_groups__list_1__map_pgp__list_0__map_fp",
			"sops_lastmodified",
			"sops_mac_only_encrypted",
			"sops_shamir_threshold",
			"sops_version",
		},
	},
	{
		name: "kms with a context map and an empty profile",
		meta: []tree.Item{
			tKV("kms", tList(
				tMap(tStr("arn", "arn:aws:kms:us-east-1:123:key/abc"), tStr("aws_profile", "prof"),
					tKV("context", tMap(tStr("a", "baz"), tStr("foo", "bar"))),
					tStr("created_at", "2024-01-02T03:04:05Z"), tStr("enc", "K1"), tStr("role", "arn:aws:iam::123:role/r")),
				tMap(tStr("arn", "arn:aws:kms:us-east-1:123:key/def"), tStr("aws_profile", ""),
					tStr("created_at", "2024-01-02T03:04:05Z"), tStr("enc", "K2")),
			)),
			tStr("version", "3.13.2"),
		},
		want: []string{
			"sops_kms__list_0__map_arn",
			"sops_kms__list_0__map_aws_profile",
			"sops_kms__list_0__map_context__map_a",
			"sops_kms__list_0__map_context__map_foo",
			"sops_kms__list_0__map_created_at",
			"sops_kms__list_0__map_enc",
			"sops_kms__list_0__map_role",
			"sops_kms__list_1__map_arn",
			"sops_kms__list_1__map_aws_profile",
			"sops_kms__list_1__map_created_at",
			"sops_kms__list_1__map_enc",
			"sops_version",
		},
	},
	{
		name: "comments are skipped and do not count as list elements",
		meta: []tree.Item{
			tree.CommentItem("c", false),
			tKV("list", tList(tree.CommentV("x", false), tree.Str("a"), tree.CommentV("y", false), tree.Str("b"))),
			tKV("map", tMap(tree.CommentItem("z", false), tStr("k", "v"))),
		},
		want: []string{"sops_list__list_0", "sops_list__list_1", "sops_map__map_k"},
	},
	{
		name: "empty containers vanish",
		meta: []tree.Item{tKV("a", tList()), tKV("b", tMap()), tKV("c", tList(tList(), tMap())), tStr("d", "")},
		want: []string{"sops_d"},
	},
	{
		name: "nothing",
		meta: nil,
		want: nil,
	},
}

func TestFlattenUnflatten(t *testing.T) {
	for _, tc := range flattenCases {
		t.Run(tc.name, func(t *testing.T) {
			flat, err := Flatten(tc.meta, "sops_")
			if err != nil {
				t.Fatal(err)
			}
			if got := flatNames(flat); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("names:\n got %q\nwant %q", got, tc.want)
			}
			// Strip the prefix as the dotenv store does, then rebuild.
			for i := range flat {
				flat[i].Key.Str = strings.TrimPrefix(flat[i].Key.Str, "sops_")
			}
			back, err := Unflatten(flat)
			if err != nil {
				t.Fatal(err)
			}
			want := flatStripEmpty(tc.meta)
			if len(want) == 0 {
				want = []tree.Item{}
			}
			if !tree.ItemsEqual(back, want) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", back, want)
			}
		})
	}
}

func TestFlattenValues(t *testing.T) {
	// Scalars keep their type; the stores format them.
	flat, err := Flatten([]tree.Item{tKV("n", tree.IntV(2)), tKV("b", tree.BoolV(true)), tStr("s", "a\nb")}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []tree.Item{tKV("n", tree.IntV(2)), tKV("b", tree.BoolV(true)), tStr("s", "a\nb")}
	if !tree.ItemsEqual(flat, want) {
		t.Fatalf("got %#v", flat)
	}
}

func TestFlattenKeepsOrder(t *testing.T) {
	// Flatten writes what it is given in the given order: sorting is the
	// metadata serializer's job.
	flat, err := Flatten([]tree.Item{tStr("b", "1"), tKV("a", tMap(tStr("z", "2"), tStr("y", "3")))}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := flatNames(flat), []string{"b", "a__map_z", "a__map_y"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestUnflattenSortsAndOrdersLists(t *testing.T) {
	// Whatever order the file has, maps come back sorted by key (as in
	// SOPS) and lists in numeric index order, also past ten elements.
	var items []tree.Item
	for i := 11; i >= 0; i-- {
		items = append(items, tStr("list__list_"+strconv.Itoa(i), strconv.Itoa(i)))
	}
	items = append(items, tStr("b", "x"), tStr("a__map_d", "1"), tStr("a__map_c", "2"))
	got, err := Unflatten(items)
	if err != nil {
		t.Fatal(err)
	}
	var elems []tree.Value
	for i := 0; i < 12; i++ {
		elems = append(elems, tree.Str(strconv.Itoa(i)))
	}
	want := []tree.Item{tKV("a", tMap(tStr("c", "2"), tStr("d", "1"))), tStr("b", "x"), tKV("list", tList(elems...))}
	if !tree.ItemsEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	flat, err := Flatten(got, "")
	if err != nil {
		t.Fatal(err)
	}
	if flatNames(flat)[3] != "list__list_0" || flatNames(flat)[14] != "list__list_11" {
		t.Fatalf("list order: %q", flatNames(flat))
	}
}

func TestUnflattenTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []tree.Item
	}{
		// A run of underscores before a marker stays with the key.
		{"a___map_b", []tree.Item{tKV("a_", tMap(tStr("b", "v")))}},
		{"x__ma", []tree.Item{tStr("x__ma", "v")}},
		{"x__map", []tree.Item{tStr("x__map", "v")}},
		{"__map_b", []tree.Item{tKV("", tMap(tStr("b", "v")))}},
		{"a__map_", []tree.Item{tKV("a", tMap(tStr("", "v")))}},
		{"a__list_0__list_0", []tree.Item{tKV("a", tList(tList(tree.Str("v"))))}},
		{"", []tree.Item{tStr("", "v")}},
	} {
		got, err := Unflatten([]tree.Item{tStr(tc.name, "v")})
		if err != nil {
			t.Errorf("%q: %v", tc.name, err)
			continue
		}
		if !tree.ItemsEqual(got, tc.want) {
			t.Errorf("%q: got %#v", tc.name, got)
		}
	}
}

func TestUnflattenSkipsComments(t *testing.T) {
	got, err := Unflatten([]tree.Item{tree.CommentItem("x", false), tStr("a", "1")})
	if err != nil || !tree.ItemsEqual(got, []tree.Item{tStr("a", "1")}) {
		t.Fatalf("got %#v, %v", got, err)
	}
}

func TestFlattenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		meta []tree.Item
		want string
	}{
		{"collision", []tree.Item{tStr("a__map_b", "x"), tKV("a", tMap(tStr("b", "y")))}, `"a__map_b"`},
		{"duplicate key", []tree.Item{tStr("a", "x"), tStr("a", "y")}, `"a"`},
		{"non-string key", []tree.Item{{Key: tree.IntV(1), Value: tree.Str("x")}}, "int"},
	} {
		_, err := Flatten(tc.meta, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %s", tc.name, err, tc.want)
		}
	}
}

func TestUnflattenErrors(t *testing.T) {
	deep := "a" + strings.Repeat("__map_a", maxFlatDepth+1)
	for _, tc := range []struct {
		name  string
		items []tree.Item
		want  string
	}{
		{"incomplete list", []tree.Item{tStr("a__list_1", "x")}, "incomplete list"},
		{"list with a gap", []tree.Item{tStr("a__list_0", "x"), tStr("a__list_2", "x")}, "incomplete list"},
		{"value and map", []tree.Item{tStr("a", "x"), tStr("a__map_b", "y")}, "type mismatch"},
		{"map and list", []tree.Item{tStr("a__list_0", "x"), tStr("a__map_b", "y")}, "type mismatch"},
		{"value and list deeper", []tree.Item{tStr("k__list_0__map_a", "x"), tStr("k__list_0__map_a__list_0", "y")}, `"k__list_0__map_a"`},
		{"duplicate", []tree.Item{tStr("a", "x"), tStr("a", "y")}, "duplicate"},
		{"duplicate index spelling", []tree.Item{tStr("a__list_0", "x"), tStr("a__list_00", "y")}, "duplicate"},
		{"bad index", []tree.Item{tStr("a__list_x", "x")}, "invalid list index"},
		{"negative index", []tree.Item{tStr("a__list_-1", "x")}, "invalid list index"},
		{"huge index", []tree.Item{tStr("a__list_99999999999999999999", "x")}, "invalid list index"},
		{"too deep", []tree.Item{tStr(deep, "x")}, "nested too deeply"},
		{"non-string key", []tree.Item{{Key: tree.BoolV(true), Value: tree.Str("x")}}, "bool"},
	} {
		_, err := Unflatten(tc.items)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestFlatText(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.FixedZone("", 2*3600))
	for _, tc := range []struct {
		v    tree.Value
		want string
	}{
		{tree.Str("a\nb"), "a\nb"},
		{tree.IntV(-42), "-42"},
		{tree.UintV(math.MaxUint64), "18446744073709551615"},
		{tree.FloatV(1), "1.0"},
		{tree.FloatV(0.75), "0.75"},
		{tree.FloatV(1e21), "1E+21"},
		{tree.FloatV(1e-6), "1E-06"},
		{tree.FloatV(123456789), "1.23456789E+08"},
		{tree.FloatV(math.Copysign(0, -1)), "-0.0"},
		{tree.FloatV(math.NaN()), "NaN"},
		{tree.FloatV(math.Inf(1)), "+Inf"},
		{tree.BoolV(true), "true"},
		{tree.BoolV(false), "false"},
		{tree.TimeV(ts), "2024-01-02T03:04:05+02:00"},
		{tree.Value{}, "<nil>"},
	} {
		got, ok := FlatText(tc.v)
		if !ok || got != tc.want {
			t.Errorf("FlatText(%v) = %q, %v; want %q", tc.v.Kind, got, ok, tc.want)
		}
	}
	for _, v := range []tree.Value{tMap(), tList()} {
		if _, ok := FlatText(v); ok {
			t.Errorf("FlatText(%v) has text", v.Kind)
		}
	}
}

// FuzzUnflatten feeds Unflatten entries "name=value", one a line. Whatever
// it accepts must flatten back and rebuild to the same tree.
func FuzzUnflatten(f *testing.F) {
	f.Add("age__list_0__map_enc=E\nage__list_0__map_recipient=R\nversion=3.13.2")
	f.Add("key_groups__list_0__map_age__list_0__map_enc=A\nkey_groups__list_1__map_pgp__list_0__map_fp=F\nshamir_threshold=2")
	f.Add("kms__list_0__map_context__map_foo=bar\nkms__list_0__map_context__map_a=baz")
	f.Add("a__list_1=x\na__list_0=y")
	f.Add("a___map_b=1\na__list_0=2")
	f.Fuzz(func(t *testing.T, in string) {
		var items []tree.Item
		for _, line := range strings.Split(in, "\n") {
			k, v, _ := strings.Cut(line, "=")
			items = append(items, tStr(k, v))
		}
		got, err := Unflatten(items)
		if err != nil {
			return
		}
		flat, err := Flatten(got, "")
		if err != nil {
			t.Fatalf("cannot flatten what Unflatten built: %v", err)
		}
		again, err := Unflatten(flat)
		if err != nil {
			t.Fatalf("cannot unflatten what Flatten wrote: %v", err)
		}
		if !tree.ItemsEqual(again, got) {
			t.Fatalf("not stable:\n%#v\n%#v", got, again)
		}
	})
}
