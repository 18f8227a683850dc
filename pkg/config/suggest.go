package config

import "strings"

// suggest returns the known field nearest to an unknown name, or "" when
// none is near enough to be a likely misspelling. Case and "-" for "_"
// do not count as differences: vaultURL means vaultUrl.
func suggest(name string, known []string) string {
	n := fold(name)
	if n == "" || len(n) > 64 {
		return ""
	}
	limit := 1
	switch {
	case len(n) >= 12:
		limit = 3
	case len(n) >= 5:
		limit = 2
	}
	best, bestD := "", limit+1
	for _, k := range known {
		if d := distance(n, fold(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func fold(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "-", "_")
}

// distance is the Levenshtein distance between a and b, counted in
// runes; a swap of two neighbours counts once (the optimal string
// alignment variant), since "pgp" typed "ppg" is one slip.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Three rows: the one two back is needed for transpositions.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
