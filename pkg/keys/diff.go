package keys

import "strings"

// GroupChange is how one key group differs between a file and a policy.
type GroupChange struct {
	Group int
	// Added and Removed name keys as "TYPE IDENTITY", such as
	// "age age1...".
	Added, Removed []string
}

// Name names a key as Diff does.
func Name(t Type, identity string) string { return string(t) + " " + identity }

// Diff compares a file's key groups with the groups a policy names (as
// Name gives them), by identity. Groups are compared in order; a group present on one side
// only is all added or all removed. An Azure Key Vault key named without
// a version matches the same key at any version, since the version is
// resolved when the key wraps.
func Diff(file []Group, want [][]string) []GroupChange {
	var out []GroupChange
	for g := 0; g < max(len(file), len(want)); g++ {
		var have []string
		if g < len(file) {
			for i := range file[g] {
				have = append(have, Name(file[g][i].Type, file[g][i].Identity()))
			}
		}
		var w []string
		if g < len(want) {
			w = want[g]
		}
		c := GroupChange{Group: g}
		for _, id := range w {
			if !containsMatch(have, id) {
				c.Added = append(c.Added, id)
			}
		}
		for _, id := range have {
			if !containsMatch(w, id) && !matchedBy(w, id) {
				c.Removed = append(c.Removed, id)
			}
		}
		if len(c.Added) > 0 || len(c.Removed) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// containsMatch reports whether list holds id, or, when id is a
// versionless Azure key ("…/keys/NAME/"), that key at some version.
func containsMatch(list []string, id string) bool {
	for _, h := range list {
		if h == id || (strings.HasSuffix(id, "/") && strings.Contains(id, "/keys/") && strings.HasPrefix(h, id)) {
			return true
		}
	}
	return false
}

// matchedBy reports whether a versionless Azure key in list covers id.
func matchedBy(list []string, id string) bool {
	for _, w := range list {
		if strings.HasSuffix(w, "/") && strings.Contains(w, "/keys/") && strings.HasPrefix(id, w) {
			return true
		}
	}
	return false
}
