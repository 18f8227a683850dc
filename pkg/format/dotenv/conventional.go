package dotenv

import "strings"

// The store keeps dotenv values as written, quotes included, because that
// is what sops encrypts and prints, and what must stay byte-identical
// between the two tools. What a value means to the programs that read
// dotenv files (docker compose, the dotenv libraries, a shell sourcing
// it) is given by the functions below; kura uses them where a value
// leaves the file: --extract, exec-env, and when it writes a new value.

// Name returns the variable a key defines: the key without an "export "
// prefix and surrounding spaces.
func Name(key string) string {
	k := strings.TrimSpace(key)
	if rest, ok := strings.CutPrefix(k, "export "); ok {
		k = strings.TrimSpace(rest)
	}
	return k
}

// Unquote returns what a value as written means: the text inside double
// quotes with its escapes (\n, \t, \", \\, \$) read, the text inside
// single quotes as it is, or an unquoted value trimmed, without a comment
// that follows a space and '#'.
func Unquote(raw string) string {
	v := strings.TrimLeft(raw, " \t")
	if len(v) >= 2 && v[0] == '\'' {
		if i := strings.IndexByte(v[1:], '\''); i >= 0 {
			return v[1 : 1+i]
		}
	}
	if len(v) >= 2 && v[0] == '"' {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '"':
				return b.String()
			case c == '\\' && i+1 < len(v):
				i++
				switch v[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(v[i])
				}
			default:
				b.WriteByte(c)
			}
		}
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimRight(v, " \t\r")
}

// Quote writes a value so that Unquote gives it back: as it is when that
// is already true, else in double quotes with \n, \", \\ and \$ escaped.
func Quote(value string) string {
	if Unquote(value) == value && !strings.ContainsAny(value, "\n\"'") {
		return value
	}
	r := strings.NewReplacer("\\", `\\`, "\"", `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "$", `\$`)
	return `"` + r.Replace(value) + `"`
}
