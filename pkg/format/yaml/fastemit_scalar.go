package yaml

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kura-secrets/kura/internal/ascii8"
	"github.com/kura-secrets/kura/pkg/tree"
)

// The scalar styles the encoder writes in block context.
const (
	stylePlain = iota
	styleSingle
	styleDouble
	styleLiteral
)

// scalar writes a scalar value after its key's ":" or its "- ". inSeq
// says that it is a sequence item, which decides the indentation of a
// literal block.
func (e *fastEmitter) scalar(v tree.Value, inSeq bool) bool {
	if v.Kind == tree.String || v.Kind == tree.Comment {
		return e.str(v.Str, inSeq)
	}
	// The other scalars are written plain, with the text scalarNode gives
	// them.
	if !e.whitespace {
		e.put(' ')
	}
	n := len(e.out)
	switch v.Kind {
	case tree.Int:
		e.out = strconv.AppendInt(e.out, v.Int(), 10)
	case tree.Uint:
		e.out = strconv.AppendUint(e.out, v.Uint(), 10)
	case tree.Float:
		switch {
		case math.IsInf(v.Float(), 1):
			e.out = append(e.out, ".inf"...)
		case math.IsInf(v.Float(), -1):
			e.out = append(e.out, "-.inf"...)
		case math.IsNaN(v.Float()):
			e.out = append(e.out, ".nan"...)
		default:
			e.out = strconv.AppendFloat(e.out, v.Float(), 'g', -1, 64)
		}
	case tree.Bool:
		e.out = strconv.AppendBool(e.out, v.Bool())
	case tree.Time:
		e.out = v.Time().AppendFormat(e.out, time.RFC3339Nano)
	default:
		e.out = append(e.out, "null"...)
	}
	e.column += len(e.out) - n
	e.whitespace = false
	e.indention = false
	return true
}

// mergeText is how the encoder writes the string "<<", which stringNode
// tags !!merge.
const mergeText = "!!merge <<"

// key writes a string key of at most 128 bytes (a simple key).
func (e *fastEmitter) key(s string) bool {
	if s == "<<" {
		e.writeText(mergeText)
		return true
	}
	if strings.IndexByte(s, '\n') >= 0 || hasOddBreak(s) {
		return false // not a simple key
	}
	style, ok := stringStyle(s)
	switch {
	case !ok:
		head, body, _, err := render(scalarNode(tree.Str(s)), false, e.best)
		if err != nil || body != nil || head == "" || head[0] == '!' {
			return false
		}
		e.writeText(head)
		return true
	case style == styleLiteral:
		return false
	}
	e.quoted(s, style)
	return true
}

// longKey writes "? " and a key too long for a simple key, when it
// fits on one line.
func (e *fastEmitter) longKey(s string) bool {
	style, ok := stringStyle(s)
	if !ok || style == styleLiteral {
		return false
	}
	e.writeIndicator("?", true, false, true)
	e.quoted(s, style)
	return true
}

// str writes a string value.
func (e *fastEmitter) str(s string, inSeq bool) bool {
	if s == "<<" {
		e.writeText(mergeText)
		return true
	}
	style, ok := stringStyle(s)
	if !ok {
		return e.rendered(s, inSeq)
	}
	if style != styleLiteral {
		e.quoted(s, style)
		return true
	}
	indicated := s[0] == ' ' || s[0] == '\n'
	if indicated && misplacedIndicator(e.indent, e.best, inSeq) {
		return false // encoderEmit writes it double-quoted
	}
	e.writeIndicator("|", true, false, false)
	if indicated {
		e.writeIndicator(strconv.Itoa(e.best), false, false, false)
	}
	switch n := len(s); {
	case s[n-1] != '\n':
		e.writeIndicator("-", false, false, false)
	case n == 1 || s[n-2] == '\n':
		e.writeIndicator("+", false, false, false)
	}
	e.literalBody(s, inSeq)
	return true
}

// rendered writes a string through the encoder (render), for the rare
// strings whose style only the library decides: invalid UTF-8 (written
// !!binary), "<<", strings that start like a number.
func (e *fastEmitter) rendered(s string, inSeq bool) bool {
	if hasOddBreak(s) {
		return false
	}
	head, body, _, err := render(scalarNode(tree.Str(s)), false, e.best)
	if err != nil {
		return false
	}
	e.writeText(head)
	if body == nil {
		return true
	}
	content := strings.Join(body, "\n")
	if !strings.HasSuffix(head, "-") {
		content += "\n"
	}
	e.literalBody(content, inSeq)
	return true
}

// literalBody writes the lines of a literal block after its header: the
// line comment or a line break, then each line at the block's
// indentation (empty lines without it).
func (e *fastEmitter) literalBody(s string, inSeq bool) {
	// The encoder raises the indentation before writing the scalar: a
	// line comment of several lines continues at the block's.
	saved := e.indent
	e.indent = e.increase(inSeq)
	e.processLine(true)
	e.whitespace = true
	breaks := true
	for s != "" {
		if s[0] == '\n' {
			e.putBreak()
			breaks = true
			s = s[1:]
			continue
		}
		end := strings.IndexByte(s, '\n')
		if end < 0 {
			end = len(s)
		}
		if breaks {
			e.writeIndent()
		}
		e.out = append(e.out, s[:end]...)
		e.column += end
		e.indention = false
		breaks = false
		s = s[end:]
	}
	e.indent = saved
}

// quoted writes a one-line string plain, single- or double-quoted.
func (e *fastEmitter) quoted(s string, style int) {
	if !e.whitespace {
		e.put(' ')
	}
	n := len(e.out)
	switch style {
	case stylePlain:
		e.out = append(e.out, s...)
	case styleSingle:
		e.out = append(e.out, '\'')
		for {
			i := strings.IndexByte(s, '\'')
			if i < 0 {
				break
			}
			e.out = append(e.out, s[:i+1]...)
			e.out = append(e.out, '\'')
			s = s[i+1:]
		}
		e.out = append(e.out, s...)
		e.out = append(e.out, '\'')
	default:
		e.out = appendDoubleQuoted(e.out, s)
	}
	e.column += len(e.out) - n
	e.whitespace = false
	e.indention = false
}

// appendDoubleQuoted writes s double-quoted with the encoder's escapes:
// non-printable characters, line breaks, '"' and '\'.
func appendDoubleQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c <= 0x7E && c != '"' && c != '\\' {
			j := i + 1
			for j < len(s) && s[j] >= 0x20 && s[j] <= 0x7E && s[j] != '"' && s[j] != '\\' {
				j++
			}
			b = append(b, s[i:j]...)
			i = j
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if c >= 0x80 && printableAt(s, i) && breakWidth(s, i) == 0 {
			b = append(b, s[i:i+w]...)
			i += w
			continue
		}
		i += w
		b = append(b, '\\')
		switch r {
		case 0x00:
			b = append(b, '0')
		case 0x07:
			b = append(b, 'a')
		case 0x08:
			b = append(b, 'b')
		case 0x09:
			b = append(b, 't')
		case 0x0A:
			b = append(b, 'n')
		case 0x0B:
			b = append(b, 'v')
		case 0x0C:
			b = append(b, 'f')
		case 0x0D:
			b = append(b, 'r')
		case 0x1B:
			b = append(b, 'e')
		case 0x22:
			b = append(b, '"')
		case 0x5C:
			b = append(b, '\\')
		case 0x85:
			b = append(b, 'N')
		case 0xA0:
			b = append(b, '_')
		case 0x2028:
			b = append(b, 'L')
		case 0x2029:
			b = append(b, 'P')
		default:
			digits := 8
			switch {
			case r <= 0xFF:
				b, digits = append(b, 'x'), 2
			case r <= 0xFFFF:
				b, digits = append(b, 'u'), 4
			default:
				b = append(b, 'U')
			}
			for k := (digits - 1) * 4; k >= 0; k -= 4 {
				b = append(b, "0123456789ABCDEF"[(r>>uint(k))&0x0F])
			}
		}
	}
	return append(b, '"')
}

// printableAt is yaml.v3's test of a printable character at s[i] (s is
// valid UTF-8).
func printableAt(s string, i int) bool {
	c := s[i]
	switch {
	case c == 0x0A, c >= 0x20 && c <= 0x7E:
		return true
	case c == 0xC2:
		return s[i+1] >= 0xA0
	case c > 0xC2 && c < 0xED:
		return true
	case c == 0xED:
		return s[i+1] < 0xA0
	case c == 0xEE:
		return true
	case c == 0xEF:
		return !(s[i+1] == 0xBB && s[i+2] == 0xBF) && !(s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF))
	}
	return false
}

// hasOddBreak reports whether s holds a line break other than "\n".
func hasOddBreak(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r', 0xC2, 0xE2:
			if breakWidth(s, i) > 0 {
				return true
			}
		}
	}
	return false
}

// stringStyle returns the style the encoder gives the string s in block
// context, as stringNode requests it and the emitter then adjusts it to
// the text; ok=false leaves s to the library.
func stringStyle(s string) (style int, ok bool) {
	if s == "" {
		return styleDouble, true
	}
	if s == "<<" || strings.HasPrefix(s, "\uFEFF") {
		return 0, false
	}
	a, ok := analyzeScalar(s)
	if !ok {
		return 0, false
	}
	if mayResolveNumeric(s) && !(a.lineBreaks && a.simple) {
		// stringNode asks the library; a multi-line string of plain
		// ASCII is written as a literal block either way.
		return 0, false
	}
	switch {
	case a.lineBreaks:
		if !a.blockAllowed {
			return styleDouble, true
		}
		return styleLiteral, true
	case plainIsString(s):
		if a.plainAllowed {
			return stylePlain, true
		}
		if a.singleAllowed {
			return styleSingle, true
		}
	}
	return styleDouble, true
}

// scalarAnalysis is what yaml.v3's emitter learns of a scalar's text
// (yaml_emitter_analyze_scalar) in block context.
type scalarAnalysis struct {
	lineBreaks, plainAllowed, singleAllowed, blockAllowed bool
	// simple: only printable ASCII and "\n".
	simple bool
}

// analyzeScalar analyzes a non-empty string; ok=false for invalid UTF-8
// and line breaks other than "\n".
func analyzeScalar(s string) (a scalarAnalysis, ok bool) {
	if a, ok := analyzePlainASCII(s); ok {
		return a, true
	}
	return analyzeBytes(s)
}

// analyzePlainASCII is analyzeScalar for the common string, printable
// ASCII and line breaks, read eight bytes at a time: of such a string only
// its ends, a "---" or "..." start, and a few pairs of characters matter,
// which substring searches find. The byte loop of analyzeBytes was a fifth
// of decrypting a large YAML file, the writer analyzing every value.
// ok=false leaves s to analyzeBytes. FuzzAnalyzePlainASCII compares the
// two.
func analyzePlainASCII(s string) (scalarAnalysis, bool) {
	if s == "" {
		return scalarAnalysis{}, false
	}
	var colon, hash, breaks bool
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := ascii8.Load(s, i)
		if !ascii8.Printable(w) {
			if !printableOrBreak(s[i : i+8]) {
				return scalarAnalysis{}, false
			}
			breaks = true
		}
		colon = colon || ascii8.Has(w, ':')
		hash = hash || ascii8.Has(w, '#')
	}
	tail := s[i:]
	if !printableOrBreak(tail) {
		return scalarAnalysis{}, false
	}
	colon = colon || strings.IndexByte(tail, ':') >= 0
	hash = hash || strings.IndexByte(tail, '#') >= 0
	breaks = breaks || strings.IndexByte(tail, '\n') >= 0
	first, last := s[0], s[len(s)-1]
	f := scalarFlags{
		indicators: len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") ||
			colon && (last == ':' || strings.Contains(s, ": ")) ||
			hash && (first == '#' || strings.Contains(s, " #") || breaks && strings.Contains(s, "\n#")),
		leadingSpace:  first == ' ',
		trailingSpace: last == ' ',
		leadingBreak:  first == '\n',
		trailingBreak: last == '\n',
		lineBreaks:    breaks,
		breakSpace:    breaks && strings.Contains(s, "\n "),
		spaceBreak:    breaks && strings.Contains(s, " \n"),
	}
	switch first {
	case ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		f.indicators = true
	case '?', '-':
		if len(s) == 1 || s[1] == ' ' {
			f.indicators = true
		}
	}
	return f.analysis(true), true
}

// printableOrBreak reports whether every byte of s is printable ASCII or a
// line break.
func printableOrBreak(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 || c > 0x7e) && c != '\n' {
			return false
		}
	}
	return true
}

// scalarFlags are what the analysis of a scalar notes on its way.
type scalarFlags struct {
	indicators, special, tabs, lineBreaks bool
	leadingSpace, leadingBreak            bool
	trailingSpace, trailingBreak          bool
	breakSpace, spaceBreak                bool
}

// analysis is what the flags allow, as yaml_emitter_analyze_scalar decides
// it at its end.
func (f scalarFlags) analysis(simple bool) scalarAnalysis {
	a := scalarAnalysis{lineBreaks: f.lineBreaks, simple: simple}
	a.plainAllowed, a.singleAllowed, a.blockAllowed = true, true, true
	if f.leadingSpace || f.leadingBreak || f.trailingSpace || f.trailingBreak {
		a.plainAllowed = false
	}
	if f.trailingSpace {
		a.blockAllowed = false
	}
	if f.breakSpace {
		a.plainAllowed, a.singleAllowed = false, false
	}
	if f.spaceBreak || f.tabs || f.special {
		a.plainAllowed, a.singleAllowed = false, false
	}
	if f.spaceBreak || f.special {
		a.blockAllowed = false
	}
	if f.lineBreaks || f.indicators {
		a.plainAllowed = false
	}
	return a
}

// analyzeBytes is analyzeScalar byte by byte, as yaml.v3's emitter
// analyzes a scalar.
func analyzeBytes(s string) (a scalarAnalysis, ok bool) {
	var (
		f                            scalarFlags
		previousSpace, previousBreak bool
		precededByWhitespace         = true
	)
	simple := true
	if len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") {
		f.indicators = true
	}
	for i := 0; i < len(s); {
		c := s[i]
		w := 1
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return a, false
			}
			w = n
			simple = false
			if breakWidth(s, i) > 0 {
				return a, false
			}
		} else if c == '\r' {
			return a, false
		}
		followedByWhitespace := i+w >= len(s) || s[i+w] == ' ' || s[i+w] == '\t'
		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				f.indicators = true
			case '?', ':', '-':
				if followedByWhitespace {
					f.indicators = true
				}
			}
		} else {
			switch c {
			case ':':
				if followedByWhitespace {
					f.indicators = true
				}
			case '#':
				if precededByWhitespace {
					f.indicators = true
				}
			}
		}
		if c == '\t' {
			f.tabs = true
			simple = false
		} else if !printableAt(s, i) {
			f.special = true
			simple = false
		}
		switch c {
		case ' ':
			if i == 0 {
				f.leadingSpace = true
			}
			if i+w == len(s) {
				f.trailingSpace = true
			}
			if previousBreak {
				f.breakSpace = true
			}
			previousSpace, previousBreak = true, false
		case '\n':
			f.lineBreaks = true
			if i == 0 {
				f.leadingBreak = true
			}
			if i+w == len(s) {
				f.trailingBreak = true
			}
			if previousSpace {
				f.spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = c == ' ' || c == '\t' || c == '\n' || c == 0
		i += w
	}
	return f.analysis(simple), true
}
