package merge

import (
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

func TestMarkers(t *testing.T) {
	tests := []struct {
		name string
		c    Conflict
		want string
	}{
		{
			name: "scalars",
			c:    Conflict{Base: tree.Str("old"), Ours: tree.Str("mine"), Theirs: tree.IntV(42)},
			want: "<<<<<<< ours\nmine\n||||||| base\nold\n=======\n42\n>>>>>>> theirs\n",
		},
		{
			name: "canonical text",
			c:    Conflict{Base: tree.BoolV(true), Ours: tree.FloatV(1), Theirs: tree.Str("two words")},
			want: "<<<<<<< ours\n1\n||||||| base\nTrue\n=======\ntwo words\n>>>>>>> theirs\n",
		},
		{
			name: "several lines",
			c:    Conflict{Base: tree.Str("a\nb"), Ours: tree.Str("a\nc\n"), Theirs: tree.Str("")},
			want: "<<<<<<< ours\na\nc\n\n||||||| base\na\nb\n=======\n\n>>>>>>> theirs\n",
		},
		{
			name: "maps, lists and null",
			c: Conflict{
				Base:   tree.Value{},
				Ours:   tree.MapV([]tree.Item{tree.KeyItem("a", tree.IntV(1)), tree.CommentItem("c", false)}),
				Theirs: tree.ListV([]tree.Value{tree.Str("x"), tree.BoolV(false)}),
			},
			want: "<<<<<<< ours\n{\"a\": 1}\n||||||| base\nnull\n=======\n[\"x\", false]\n>>>>>>> theirs\n",
		},
		{
			name: "ours removed it",
			c:    Conflict{Base: tree.Str("b"), OursMissing: true, Theirs: tree.Str("t")},
			want: "<<<<<<< ours\n(removed)\n||||||| base\nb\n=======\nt\n>>>>>>> theirs\n",
		},
		{
			name: "theirs removed it",
			c:    Conflict{Base: tree.Str("b"), Ours: tree.Str("o"), TheirsMissing: true},
			want: "<<<<<<< ours\no\n||||||| base\nb\n=======\n(removed)\n>>>>>>> theirs\n",
		},
		{
			name: "both added it",
			c:    Conflict{BaseMissing: true, Ours: tree.Str("o"), Theirs: tree.Str("t")},
			want: "<<<<<<< ours\no\n||||||| base\n(absent)\n=======\nt\n>>>>>>> theirs\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Markers(tt.c)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !HasMarkers(got) {
				t.Error("HasMarkers is false on Markers' output")
			}
		})
	}
}

func TestMarkersOfMergedConflicts(t *testing.T) {
	_, cs, err := Documents(load(t, "a: 1\nb: x\n"), load(t, "a: 2\n"), load(t, "a: 3\nb: y\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"<<<<<<< ours\n2\n||||||| base\n1\n=======\n3\n>>>>>>> theirs\n",
		"<<<<<<< ours\n(removed)\n||||||| base\nx\n=======\ny\n>>>>>>> theirs\n",
	}
	if len(cs) != len(want) {
		t.Fatalf("conflicts: %v", cs)
	}
	for i, c := range cs {
		if got := Markers(c); got != want[i] {
			t.Errorf("conflict %d: got\n%s\nwant\n%s", i, got, want[i])
		}
	}
}

func TestHasMarkers(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"", false},
		{"plain value", false},
		{"<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n", true},
		{"<<<<<<<", true},
		{"x\r\n>>>>>>>\r\n", true},
		{"resolved\n||||||| base\n", true},
		{"Heading\n=======\ntext", false},
		{"<<<<<<<< eight", false},
		{"<<<<<<<x", false},
		{"a <<<<<<< in the middle", false},
		{" <<<<<<< indented", false},
	}
	for _, tt := range tests {
		if got := HasMarkers(tt.s); got != tt.want {
			t.Errorf("HasMarkers(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
