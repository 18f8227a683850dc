package publish

import (
	"fmt"
	"path"
	"strings"
)

// Vars are the values a target template may use for one file, from its
// path relative to the directory given on the command line (for a file
// given by itself, relative to its own directory). For
// prod/eu/db.enc.yaml:
//
//	{path}  prod/eu/db         the relative path without extensions
//	{dir}   prod/eu            its directory ("" at the top)
//	{name}  db                 the base name without extensions
//	{ext}   enc.yaml           the extensions, without the first dot
//	{file}  db.enc.yaml        the base name
//
// A name's leading dots belong to it: .env.enc has name ".env" and ext
// "enc".
type Vars struct {
	Path, Dir, Name, Ext, File string
}

// VarsOf returns the variables of a slash-separated relative path.
func VarsOf(rel string) Vars {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	v := Vars{File: path.Base(rel), Dir: path.Dir(rel)}
	if v.Dir == "." {
		v.Dir = ""
	}
	trimmed := strings.TrimLeft(v.File, ".")
	lead := v.File[:len(v.File)-len(trimmed)]
	name, ext, _ := strings.Cut(trimmed, ".")
	v.Name, v.Ext = lead+name, ext
	v.Path = path.Join(v.Dir, v.Name)
	return v
}

// Expand fills in a target template: each {path}, {dir}, {name}, {ext}
// and {file} is replaced by its value for the file. Other text is kept as
// it is; braces are only for variables. Runs of slashes that an empty
// variable leaves in the part before the query collapse to one, so
// vault-kv://secret/apps/{dir}/{name} names secret/apps/db for a file at
// the top.
func Expand(template string, v Vars) (string, error) {
	var b strings.Builder
	rest := template
	for {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			b.WriteString(rest)
			break
		}
		if rest[open] == '}' {
			return "", fmt.Errorf("target template %q: a } without {", template)
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return "", fmt.Errorf("target template %q: a { without }", template)
		}
		b.WriteString(rest[:open])
		name := rest[open+1 : open+end]
		switch name {
		case "path":
			b.WriteString(v.Path)
		case "dir":
			b.WriteString(v.Dir)
		case "name":
			b.WriteString(v.Name)
		case "ext":
			b.WriteString(v.Ext)
		case "file":
			b.WriteString(v.File)
		default:
			return "", fmt.Errorf("target template %q: unknown variable {%s} (known: {path}, {dir}, {name}, {ext}, {file})", template, name)
		}
		rest = rest[open+end+1:]
	}
	out := b.String()
	scheme, after, ok := strings.Cut(out, "://")
	if !ok {
		return out, nil
	}
	p, query, hasQuery := strings.Cut(after, "?")
	p = collapseSlashes(p)
	if hasQuery {
		p += "?" + query
	}
	return scheme + "://" + p, nil
}

// IsTemplate reports whether a target holds template variables.
func IsTemplate(target string) bool { return strings.ContainsAny(target, "{}") }
