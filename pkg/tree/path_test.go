package tree

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{`["a"]["b"][0]`, `["a"]["b"][0]`, ""},
		{`['a'][2]`, `["a"][2]`, ""},
		{`["with space"]["x:y"]`, `["with space"]["x:y"]`, ""},
		{`[""]`, `[""]`, ""},
		{`app.name`, "", "doesn't end with ]"},
		{`["a"`, "", "doesn't end with ]"},
		{`[abc]`, "", "neither a quoted key nor a list index"},
		{`[-1]`, "", "neither"},
		{`["a]`, "", "closing quote"},
		{`[]`, "", "neither"},
		{``, "", "empty"},
	} {
		p, err := ParsePath(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParsePath(%q) = %v, %v; want error containing %q", c.in, p, err, c.err)
			}
			continue
		}
		if err != nil || FormatPath(p) != c.want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", c.in, FormatPath(p), err, c.want)
		}
	}
}

func TestLookup(t *testing.T) {
	doc := Document{
		KeyItem("a", MapV([]Item{KeyItem("b", ListV([]Value{CommentV("c", false), Str("x"), MapV([]Item{KeyItem("y", IntV(1))})}))})),
	}
	for _, c := range []struct {
		path, want, err string
	}{
		{`["a"]["b"][0]`, "x", ""},
		{`["a"]["b"][1]["y"]`, "1", ""},
		{`["a"]["nope"]`, "", `component ["a"]["nope"] not found`},
		{`["a"]["b"][5]`, "", "out of bounds"},
		{`["a"][0]`, "", "is not a list"},
		{`["a"]["b"]["c"]`, "", "not a map"},
	} {
		p, _ := ParsePath(c.path)
		v, err := Lookup(doc, p)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want error %q", c.path, err, c.err)
			}
			continue
		}
		if got, _ := v.Canonical(); err != nil || got != c.want {
			t.Errorf("%s: %q, %v", c.path, got, err)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`["a"][0]`, `['b']`, `[`, `]`, `["`, `[""]`, `[1][2]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		// What parses formats to a path that parses to the same steps,
		// unless a key holds a quote or bracket, which the syntax cannot
		// escape.
		if strings.ContainsAny(s, `\`) {
			return
		}
		for _, st := range p {
			if strings.ContainsAny(st.Key, `"'[]\`) || strings.ContainsFunc(st.Key, func(r rune) bool { return r < ' ' || r > '~' }) {
				return
			}
		}
		q, err := ParsePath(FormatPath(p))
		if err != nil || FormatPath(q) != FormatPath(p) {
			t.Fatalf("%q: %q does not parse back (%v)", s, FormatPath(p), err)
		}
	})
}

func TestSetUnset(t *testing.T) {
	doc := Document{KeyItem("a", MapV([]Item{KeyItem("b", Str("x"))})), KeyItem("l", ListV([]Value{CommentV("c", false), Str("p"), Str("q")}))}
	p := func(s string) []PathStep {
		path, err := ParsePath(s)
		if err != nil {
			t.Fatal(err)
		}
		return path
	}
	doc, err := Set(doc, p(`["a"]["b"]`), IntV(1))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ = Set(doc, p(`["new"]["deep"][0]`), Str("v"))
	doc, _ = Set(doc, p(`["l"][1]`), Str("Q"))
	doc, _ = Set(doc, p(`["l"][9]`), Str("end"))
	for path, want := range map[string]string{`["a"]["b"]`: "1", `["new"]["deep"][0]`: "v", `["l"][1]`: "Q", `["l"][2]`: "end"} {
		v, err := Lookup(doc, p(path))
		if got, _ := v.Canonical(); err != nil || got != want {
			t.Errorf("%s: %q %v", path, got, err)
		}
	}
	if _, err := Set(doc, p(`["a"]["b"]["c"]`), Str("x")); err == nil {
		t.Error("set below a scalar")
	}
	doc, err = Unset(doc, p(`["l"][0]`))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Lookup(doc, p(`["l"][0]`)); v.Str != "Q" {
		t.Errorf("after unset: %+v", v)
	}
	doc, err = Unset(doc, p(`["a"]`))
	if err != nil {
		t.Fatal(err)
	}
	for _, missing := range []string{`["a"]`, `["l"][5]`, `["x"]["y"]`} {
		if _, err := Unset(doc, p(missing)); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v", missing, err)
		}
	}
}
