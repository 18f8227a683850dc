// Package shellwords splits a command line into words the way sops does
// for SOPS_AGE_KEY_CMD and the editor: a shell's quoting, no shell.
package shellwords

import (
	"errors"
	"strings"
)

// Split splits a command line into words the way sops does (it uses a
// shell-style lexer, then runs the words without a shell):
//
//   - spaces, tabs, CR and LF separate words;
//   - '…' is taken literally;
//   - "…" is taken literally except that a backslash escapes any character;
//   - outside quotes a backslash escapes the next character;
//   - a # that starts a word comments out the rest of the line.
//
// There is no expansion of any kind: no variables, globs or ~.
func Split(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool // a word has begun, possibly an empty one like ""
	)
	for i := 0; i < len(s); {
		c := s[i]
		i++
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(s)
			}
		case c == '\\':
			if i == len(s) {
				return nil, errors.New("ends with a lone backslash")
			}
			// Escaping the first byte of a multi-byte character is enough:
			// the rest cannot be special, as they are all >= 0x80.
			word.WriteByte(s[i])
			i++
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			word.WriteString(s[i : i+j])
			i += j + 1
			inWord = true
		case c == '"':
			inWord = true
			for {
				if i == len(s) {
					return nil, errors.New(`unterminated " quote`)
				}
				c := s[i]
				i++
				if c == '"' {
					break
				}
				if c == '\\' {
					if i == len(s) {
						return nil, errors.New(`unterminated " quote`)
					}
					word.WriteByte(s[i])
					i++
					continue
				}
				word.WriteByte(c)
			}
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
