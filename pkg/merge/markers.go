package merge

import (
	"strings"

	"github.com/kura-secrets/kura/pkg/tree"
	"github.com/kura-secrets/kura/pkg/treediff"
)

// Markers renders a conflict with git's diff3-style markers, for the user
// to resolve in an editor (a merge driver can put the text at the
// conflict's path in place of ours' value):
//
//	<<<<<<< ours
//	VALUE-OURS
//	||||||| base
//	VALUE-BASE
//	=======
//	VALUE-THEIRS
//	>>>>>>> theirs
//
// Every line, the last one too, ends in a newline. A scalar is written in
// its canonical text (tree.Value.Canonical: a string as it is, even over
// several lines, booleans as True and False); null, maps and lists are
// written as treediff.FormatValue writes them (null, {"a": 1}, [1, 2]). A
// side that lacks the value is written "(removed)" when base has it and
// "(absent)" when base does not, and a missing base as "(absent)". The
// newline that ends a value's last line is added after the value, so a
// value that ends in a newline itself shows an empty line before the next
// marker.
func Markers(c Conflict) string {
	var b strings.Builder
	b.WriteString("<<<<<<< ours\n")
	writeSide(&b, c.Ours, c.OursMissing, c.BaseMissing)
	b.WriteString("||||||| base\n")
	writeSide(&b, c.Base, c.BaseMissing, true)
	b.WriteString("=======\n")
	writeSide(&b, c.Theirs, c.TheirsMissing, c.BaseMissing)
	b.WriteString(">>>>>>> theirs\n")
	return b.String()
}

func writeSide(b *strings.Builder, v tree.Value, missing, baseMissing bool) {
	var s string
	switch {
	case missing && baseMissing:
		s = "(absent)"
	case missing:
		s = "(removed)"
	case v.IsScalar() && v.Kind != tree.Null:
		s, _ = v.Canonical()
	default:
		s = treediff.FormatValue(v)
	}
	b.WriteString(s)
	b.WriteByte('\n')
}

// HasMarkers reports whether s holds a line that starts a conflict
// ("<<<<<<<"), separates base ("|||||||") or ends one (">>>>>>>"), each
// alone or followed by a space and a label, as Markers and git write
// them. A line of "=======" alone does not count: it is too common in
// ordinary text (a Markdown heading underline), and a block that still has
// it has its other markers too unless someone removed them by hand.
func HasMarkers(s string) bool {
	for line := range strings.Lines(s) {
		line = strings.TrimRight(line, "\r\n")
		for _, m := range [...]string{"<<<<<<<", "|||||||", ">>>>>>>"} {
			if rest, ok := strings.CutPrefix(line, m); ok && (rest == "" || rest[0] == ' ') {
				return true
			}
		}
	}
	return false
}
