package sopsfile

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/tree"
)

// TestTamperMatrix changes encrypted files of every format and key setup
// (tamper_fixtures_test.go) in every way an attacker with write access
// but no key could, and checks each result: decryption fails with the
// documented exit code (docs/exit-codes.md) and an error that holds no
// secret, or the change belongs to a class sops accepts too and
// docs/security.md lists (comments, type tags that keep the text,
// values outside the MAC, base64 bits that carry no data...).
//
// Byte changes: every decoded byte and every base64 character of each
// ENC[...] value, comment and MAC (data, iv and tag), an invalid base64
// character, every character of lastmodified, characters of each key
// stanza (all of them for age, a sample for OpenPGP), the type tag of
// every value. Tree changes, written back by the format's own store:
// removal of every entry and list item, swaps of every pair of values,
// reordering of neighbours, edits of clear values, and text moved across
// the boundary of two clear values.
//
// For tree changes the expected outcome comes from a small model of the
// format (tamperModel): a value whose key path changed must not decrypt
// (25); otherwise the MAC must fail (51) exactly when the text it covers
// changed.
func TestTamperMatrix(t *testing.T) {
	t.Parallel()
	fixtures, err := tamperFixtures()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var mu sync.Mutex
	total := map[string]map[Code]int{}
	n := 0
	t.Run("fixtures", func(t *testing.T) {
		for _, fx := range fixtures {
			t.Run(fx.name, func(t *testing.T) {
				t.Parallel()
				tally := map[string]map[Code]int{}
				muts := byteMutations(t, fx)
				muts = append(muts, treeMutations(t, fx)...)
				for i, m := range muts {
					checkMutation(t, fx, m, i%2 == 0, tally)
				}
				mu.Lock()
				defer mu.Unlock()
				n += len(muts)
				for class, outs := range tally {
					if total[class] == nil {
						total[class] = map[Code]int{}
					}
					for c, k := range outs {
						total[class][c] += k
					}
				}
			})
		}
	})
	// The summary: outcomes (exit codes, 0 = accepted) per class.
	classes := make([]string, 0, len(total))
	for c := range total {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	for _, c := range classes {
		fmt.Fprintf(&b, "%-40s", c)
		codes := make([]int, 0, len(total[c]))
		for code := range total[c] {
			codes = append(codes, int(code))
		}
		sort.Ints(codes)
		for _, code := range codes {
			fmt.Fprintf(&b, " %d:%d", code, total[c][Code(code)])
		}
		b.WriteByte('\n')
	}
	t.Logf("%d mutations of %d files in %v; outcomes by class (exit code:count, 0 = accepted):\n%s", n, len(fixtures), time.Since(start).Round(time.Millisecond), b.String())
	// Every class an attacker could use to change what a reader gets
	// must have been exercised and never accepted.
	for _, c := range []string{"value byte", "value base64", "mac byte", "mac base64", "mac type tag", "lastmodified", "age stanza", "pgp stanza"} {
		if total[c][0] > 0 || len(total[c]) == 0 {
			t.Errorf("class %q: %v, want every mutation rejected", c, total[c])
		}
	}
}

// tamperMutation is one changed file and the outcomes allowed for it.
type tamperMutation struct {
	class string // for the summary
	where string // for failure messages
	data  []byte
	// ok lists the allowed exit codes; 0 is success.
	ok []Code
	// same: a success must give the original output. warn: a success
	// must come with warnings (and without it, with none).
	same, warn bool
	// strict, when set, is the code decrypting with Strict must give (0
	// for success, -1 for not checked).
	strict Code
	// ignoreMACWarnings, when set, is the number of warnings decrypting
	// with IgnoreMAC must succeed with.
	ignoreMACWarnings int
}

func checkMutation(t *testing.T, fx *tamperFixture, m tamperMutation, readOnly bool, tally map[string]map[Code]int) {
	t.Helper()
	res := fx.decrypt(m.data, false, readOnly)
	got := Code(0)
	if res.err != nil {
		got = CodeOf(res.err)
	}
	if tally[m.class] == nil {
		tally[m.class] = map[Code]int{}
	}
	tally[m.class][got]++
	allowed := false
	for _, c := range m.ok {
		allowed = allowed || c == got
	}
	if !allowed {
		t.Errorf("%s: %s: exit code %d (%v), want one of %v", m.class, m.where, got, res.err, m.ok)
		return
	}
	if res.err != nil {
		if res.out != nil {
			t.Errorf("%s: %s: output on failure", m.class, m.where)
		}
		noSecret(t, m, res.err.Error())
		if HintOf(res.err) != "" {
			noSecret(t, m, HintOf(res.err))
		}
	} else {
		if m.same && !bytes.Equal(res.out, fx.plain) {
			t.Errorf("%s: %s: accepted with a different output:\n%s", m.class, m.where, res.out)
		}
		if m.warn != (len(res.warnings) > 0) {
			t.Errorf("%s: %s: warnings %v, want warnings: %v", m.class, m.where, res.warnings, m.warn)
		}
		for _, w := range res.warnings {
			noSecret(t, m, w.String())
		}
	}
	if m.ignoreMACWarnings > 0 {
		ires := fx.decryptWith(m.data, DecryptOptions{IgnoreMAC: true, ReadOnly: readOnly})
		if ires.err != nil || len(ires.warnings) != m.ignoreMACWarnings {
			t.Errorf("%s: %s: with IgnoreMAC: %v, warnings %v, want %d warnings", m.class, m.where, ires.err, ires.warnings, m.ignoreMACWarnings)
		}
	}
	if m.strict >= 0 && (m.strict != 0 || got == 0) {
		sres := fx.decrypt(m.data, true, !readOnly)
		sgot := Code(0)
		if sres.err != nil {
			sgot = CodeOf(sres.err)
			noSecret(t, m, sres.err.Error())
		}
		if sgot != m.strict {
			t.Errorf("%s: %s: with Strict: exit code %d (%v), want %d", m.class, m.where, sgot, sres.err, m.strict)
		}
	}
}

func noSecret(t *testing.T, m tamperMutation, msg string) {
	t.Helper()
	for _, s := range tamperSecrets {
		if strings.Contains(msg, s) {
			t.Errorf("%s: %s: message holds a secret: %s", m.class, m.where, msg)
		}
	}
}

// encRe matches an ENC[...] value in any format's text, with its three
// base64 fields and its type.
var encRe = regexp.MustCompile(`ENC\[AES256_GCM,data:([A-Za-z0-9+/=]+),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]`)

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// replaceAt returns data with data[start:end] replaced by repl.
func replaceAt(data []byte, start, end int, repl string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(repl))
	out = append(out, data[:start]...)
	out = append(out, repl...)
	return append(out, data[end:]...)
}

// tamperModel is what the test knows of a fixture, independently of the
// code under test: each ENC value's plaintext and key path, which ENC
// strings are comments, the MAC, and the MAC input of the original.
type tamperModel struct {
	plain    map[string]string // ENC value -> canonical plaintext
	aad      map[string]string // ENC value or comment -> key path
	comments map[string]bool   // ENC strings that are comments
	mac      string            // the MAC that counts (first document)
	macOnly  bool
	binary   bool
	macInput string
}

func newTamperModel(t *testing.T, fx *tamperFixture) *tamperModel {
	t.Helper()
	f, err := Load(fx.enc, fx.store, fx.binary)
	if err != nil {
		t.Fatal(err)
	}
	encDocs := cloneDocs(f.Docs)
	if err := f.Decrypt(DecryptOptions{Sources: fx.sources}); err != nil {
		t.Fatal(err)
	}
	m := &tamperModel{plain: map[string]string{}, aad: map[string]string{}, comments: map[string]bool{}, mac: f.Meta.MAC, macOnly: fx.macOnly, binary: fx.binary}
	for d := range encDocs {
		m.pair(encDocs[d], f.Docs[d], "")
	}
	code, _, input := m.expect(encDocs)
	if code != 0 {
		t.Fatalf("the model rejects the unchanged file: %d", code)
	}
	m.macInput = input
	return m
}

// pair walks an encrypted document and its decryption side by side.
func (m *tamperModel) pair(enc, dec []tree.Item, aad string) {
	for i := range enc {
		e, d := enc[i], dec[i]
		if e.IsComment() {
			if cipher.IsEncrypted(e.Key.Str) {
				m.comments[e.Key.Str] = true
				m.aad[e.Key.Str] = rootIfEmpty(aad)
			}
			continue
		}
		m.pairValue(e.Value, d.Value, aad+e.Key.Str+":")
	}
}

func (m *tamperModel) pairValue(e, d tree.Value, aad string) {
	switch e.Kind {
	case tree.Map:
		m.pair(e.Items(), d.Items(), aad)
	case tree.List:
		for i := range e.Elems() {
			m.pairValue(e.Elems()[i], d.Elems()[i], aad)
		}
	case tree.String:
		if cipher.IsEncrypted(e.Str) {
			m.plain[e.Str], _ = d.Canonical()
			m.aad[e.Str] = rootIfEmpty(aad)
		}
	}
}

func rootIfEmpty(aad string) string {
	if aad == "" {
		return ":"
	}
	return aad
}

var macOnlyRe = regexp.MustCompile(macOnlyRegex)

// encryptedAt is the fixtures' selection rule: with mac_only_encrypted,
// values under a key macOnlyRegex matches; otherwise values under no key
// ending in _unencrypted.
func (m *tamperModel) encryptedAt(path []string) bool {
	if m.binary {
		return true
	}
	for _, k := range path {
		if m.macOnly && macOnlyRe.MatchString(k) {
			return true
		}
		if !m.macOnly && strings.HasSuffix(k, "_unencrypted") {
			return false
		}
	}
	return !m.macOnly
}

// expect returns the exit code decrypting docs must give, whether a
// comment no longer authenticates (a warning), and the MAC input.
func (m *tamperModel) expect(docs []tree.Document) (code Code, warn bool, macInput string) {
	var b strings.Builder
	bad := false
	var walkItems func(items []tree.Item, path []string)
	var walkValue func(v tree.Value, path []string)
	aadOf := func(path []string) string {
		if len(path) == 0 {
			return ":"
		}
		return strings.Join(path, ":") + ":"
	}
	comment := func(s string, path []string) {
		if m.comments[s] && m.aad[s] != aadOf(path) {
			warn = true
		}
	}
	walkItems = func(items []tree.Item, path []string) {
		for _, it := range items {
			if it.IsComment() {
				comment(it.Key.Str, path)
				continue
			}
			walkValue(it.Value, append(path[:len(path):len(path)], it.Key.Str))
		}
	}
	walkValue = func(v tree.Value, path []string) {
		switch v.Kind {
		case tree.Map:
			walkItems(v.Items(), path)
			return
		case tree.List:
			for _, e := range v.Elems() {
				walkValue(e, path)
			}
			return
		case tree.Null:
			return
		case tree.Comment:
			comment(v.Str, path)
			return
		}
		if !m.encryptedAt(path) {
			if !m.macOnly {
				s, _ := v.Canonical()
				b.WriteString(s)
			}
			return
		}
		switch p, ok := m.plain[v.Str]; {
		case v.Kind != tree.String:
			bad = true
		case v.Str == "":
		case !ok || m.aad[v.Str] != aadOf(path):
			bad = true
		default:
			b.WriteString(p)
		}
	}
	for _, d := range docs {
		walkItems(d, nil)
	}
	switch {
	case bad:
		return CodeErrorDecryptingTree, warn, b.String()
	case m.macInput != "" && b.String() != m.macInput:
		return CodeMACMismatch, warn, b.String()
	}
	return 0, warn, b.String()
}

// byteMutations changes the file's bytes: the ENC values, comments and
// MAC, lastmodified, type tags and key stanzas.
func byteMutations(t *testing.T, fx *tamperFixture) []tamperMutation {
	t.Helper()
	m := newTamperModel(t, fx)
	var out []tamperMutation
	data := fx.enc
	seenMAC := false
	for _, loc := range encRe.FindAllSubmatchIndex(data, -1) {
		s := string(data[loc[0]:loc[1]])
		role := "value"
		switch {
		case m.comments[s]:
			role = "comment"
		case s == m.mac && !seenMAC:
			role, seenMAC = "mac", true
		case m.plain[s] == "" && !m.comments[s]:
			// A later YAML document's copy of the metadata: only the
			// first document's counts, as in sops.
			if !strings.Contains(fx.name, "multidoc") {
				t.Fatalf("unknown ENC value at byte %d", loc[0])
			}
			role = "copy"
		}
		// expected outcome of a change to the ciphertext, IV or tag
		base := func(class string) tamperMutation {
			switch role {
			case "value":
				return tamperMutation{class: "value " + class, ok: []Code{CodeErrorDecryptingTree}, strict: -1}
			case "comment":
				return tamperMutation{class: "comment " + class, ok: []Code{0}, warn: true, strict: CodeErrorDecryptingTree}
			case "mac":
				return tamperMutation{class: "mac " + class, ok: []Code{CodeMACMismatch}, strict: -1}
			}
			return tamperMutation{class: "metadata copy", ok: []Code{0}, same: true, strict: -1}
		}
		for field := 1; field <= 3; field++ {
			fs, fe := loc[2*field], loc[2*field+1]
			text := string(data[fs:fe])
			name := [...]string{"", "data", "iv", "tag"}[field]
			dec, err := base64.StdEncoding.DecodeString(text)
			if err != nil {
				t.Fatalf("%s field at byte %d: %v", name, fs, err)
			}
			for i := 0; i < len(dec); i += fx.sample {
				mod := bytes.Clone(dec)
				mod[i] ^= 0x01
				mu := base("byte")
				mu.where = fmt.Sprintf("%s %s byte %d (file byte %d)", role, name, i, fs)
				mu.data = replaceAt(data, fs, fe, base64.StdEncoding.EncodeToString(mod))
				out = append(out, mu)
			}
			for j := 0; j < len(text); j += fx.sample {
				if text[j] == '=' {
					continue
				}
				k := strings.IndexByte(b64Alphabet, text[j])
				repl := text[:j] + string(b64Alphabet[(k+1)%64]) + text[j+1:]
				mu := base("base64")
				if d2, err := base64.StdEncoding.DecodeString(repl); err == nil && bytes.Equal(d2, dec) {
					// Only bits that base64 ignores changed (Go's
					// decoder, which sops uses too, is not strict).
					mu = tamperMutation{class: "base64 padding bits", ok: []Code{0}, same: true, strict: 0}
				}
				mu.where = fmt.Sprintf("%s %s base64 char %d (file byte %d)", role, name, j, fs+j)
				mu.data = replaceAt(data, fs+j, fs+j+1, repl[j:j+1])
				out = append(out, mu)
			}
			mu := base("invalid base64")
			mu.where = fmt.Sprintf("%s %s invalid base64", role, name)
			mu.data = replaceAt(data, fs, fs+1, "*")
			out = append(out, mu)
		}
		out = append(out, typeTagMutations(m, data, loc, role)...)
	}
	out = append(out, lastModifiedMutations(t, fx)...)
	out = append(out, stanzaMutations(fx)...)
	return out
}

var tamperTypes = []string{cipher.TypeString, cipher.TypeInt, cipher.TypeFloat, cipher.TypeBool, cipher.TypeTime, cipher.TypeComment, cipher.TypeBytes, "xyz"}

// typeTagMutations changes the type tag of a value, comment or MAC. The
// tag is not authenticated: what happens depends on whether the
// plaintext parses as the new type and keeps its canonical text.
func typeTagMutations(m *tamperModel, data []byte, loc []int, role string) []tamperMutation {
	var out []tamperMutation
	old := string(data[loc[8]:loc[9]])
	p := m.plain[string(data[loc[0]:loc[1]])]
	for _, typ := range tamperTypes {
		if typ == old {
			continue
		}
		mu := tamperMutation{where: fmt.Sprintf("%s type %s -> %s", role, old, typ), data: replaceAt(data, loc[8], loc[9], typ), strict: -1}
		v, err := cipher.FromPlaintext([]byte(p), typ)
		switch role {
		case "mac":
			// sops compares the decrypted MAC, typed by its tag, with a
			// string: any other tag fails.
			mu.class, mu.ok = "mac type tag", []Code{CodeMACMismatch}
		case "copy":
			mu.class, mu.ok, mu.same = "metadata copy", []Code{0}, true
		case "comment":
			mu.class = "comment type tag"
			mu.ok = []Code{0}
			if err != nil {
				mu.warn, mu.strict = true, CodeErrorDecryptingTree
			} else {
				mu.strict = 0
			}
		default:
			switch text, _ := v.Canonical(); {
			case err != nil:
				mu.class, mu.ok = "type tag: does not parse", []Code{CodeErrorDecryptingTree}
			case typ == cipher.TypeComment:
				mu.class, mu.ok = "type tag: value to comment", []Code{CodeMACMismatch}
			case text == p:
				// Same canonical text, so the MAC holds: "42" as int,
				// float or str, "True" as bool or str.
				mu.class, mu.ok, mu.strict = "type tag: same text", []Code{0}, 0
				mu.same = typ == cipher.TypeBytes && old == cipher.TypeString
			default:
				mu.class, mu.ok, mu.strict = "type tag: other text", []Code{CodeMACMismatch}, CodeErrorDecryptingTree
				mu.ignoreMACWarnings = 1
			}
		}
		out = append(out, mu)
	}
	return out
}

// lastModifiedMutations changes each character of the lastmodified
// timestamp, the MAC's additional data.
func lastModifiedMutations(t *testing.T, fx *tamperFixture) []tamperMutation {
	t.Helper()
	const ts = "2024-05-06T07:08:09Z"
	idx := bytes.Index(fx.enc, []byte(ts))
	if idx < 0 {
		t.Fatal("lastmodified not found")
	}
	var out []tamperMutation
	for i := range len(ts) {
		repls := []byte{'x'}
		if c := ts[i]; c >= '0' && c <= '9' {
			repls = append(repls, '0'+(c-'0'+1)%10)
		} else {
			repls = append(repls, '0')
		}
		for _, r := range repls {
			mod := ts[:i] + string(r) + ts[i+1:]
			mu := tamperMutation{class: "lastmodified", where: fmt.Sprintf("lastmodified %q", mod), data: replaceAt(fx.enc, idx+i, idx+i+1, string(r)), strict: -1}
			if tm, err := time.Parse(time.RFC3339, mod); err != nil {
				mu.ok = []Code{CodeGeneric} // invalid metadata
			} else if tm.Format(time.RFC3339) == ts {
				mu.class, mu.ok, mu.same = "lastmodified same time", []Code{0}, true
			} else {
				mu.ok = []Code{CodeMACMismatch}
			}
			out = append(out, mu)
		}
	}
	return out
}

var (
	ageArmorRe = regexp.MustCompile(`-----BEGIN AGE ENCRYPTED FILE-----(?s:.*?)-----END AGE ENCRYPTED FILE-----`)
	pgpArmorRe = regexp.MustCompile(`-----BEGIN PGP MESSAGE-----(?s:.*?)-----END PGP MESSAGE-----`)
)

// stanzaMutations changes characters of each wrapped data key: every
// base64 character of an age stanza, about 12 of an OpenPGP one (whose
// RSA unwrapping is slow). The data key must not be recovered (128),
// unless the change left the wrapped bytes as they were.
func stanzaMutations(fx *tamperFixture) []tamperMutation {
	var out []tamperMutation
	for _, kind := range []struct {
		name string
		re   *regexp.Regexp
	}{{"age stanza", ageArmorRe}, {"pgp stanza", pgpArmorRe}} {
		for n, loc := range kind.re.FindAllIndex(fx.enc, -1) {
			region := fx.enc[loc[0]:loc[1]]
			bodyStart := loc[0] + 5 + bytes.Index(region[5:], []byte("-----")) + 5
			bodyEnd := loc[0] + bytes.LastIndex(region, []byte("-----END"))
			var positions []int
			for i := bodyStart; i < bodyEnd; i++ {
				c := fx.enc[i]
				if strings.IndexByte(b64Alphabet, c) >= 0 && fx.enc[i-1] != '\\' {
					positions = append(positions, i)
				}
			}
			// The armor's checksum line ("=" and 4 characters) protects
			// nothing: the OpenPGP message authenticates itself, and
			// go-crypto does not check the checksum.
			checksum := bodyEnd
			for i := bodyEnd - 1; i > bodyStart; i-- {
				if fx.enc[i] != '=' {
					continue
				}
				j := i - 1
				for fx.enc[j] == ' ' {
					j-- // YAML indentation
				}
				if fx.enc[j] == '\n' || fx.enc[j] == 'n' && fx.enc[j-1] == '\\' {
					checksum = i
					break
				}
			}
			step := fx.sample
			if kind.name == "pgp stanza" {
				step = max(1, len(positions)/12)
			}
			var picked []int
			for k := 0; k < len(positions); k += step {
				picked = append(picked, positions[k])
			}
			if step > 1 && len(positions) > 0 {
				picked = append(picked, positions[len(positions)-1]) // in the checksum
			}
			for _, i := range picked {
				c := strings.IndexByte(b64Alphabet, fx.enc[i])
				mu := tamperMutation{class: kind.name, where: fmt.Sprintf("%s %d char at byte %d", kind.name, n, i), data: replaceAt(fx.enc, i, i+1, string(b64Alphabet[(c+1)%64])), ok: []Code{CodeCouldNotRetrieveKey}, strict: -1}
				switch {
				case strings.Contains(fx.name, "multidoc") && bytes.Count(fx.enc[:loc[0]], []byte("\n---\n")) > 0:
					mu.class, mu.ok, mu.same = "metadata copy", []Code{0}, true
				case i > checksum:
					mu.class, mu.ok, mu.same = "pgp armor checksum", []Code{0, CodeCouldNotRetrieveKey}, true
				}
				out = append(out, mu)
			}
		}
	}
	return out
}

// treeMutations changes the structure: each removal, swap, reorder and
// clear-value edit is made on the loaded tree and written back with the
// format's store; the model gives the expected outcome.
func treeMutations(t *testing.T, fx *tamperFixture) []tamperMutation {
	t.Helper()
	m := newTamperModel(t, fx)
	docs, meta, err := fx.store.LoadEncrypted(fx.enc)
	if err != nil {
		t.Fatal(err)
	}
	var out []tamperMutation
	add := func(class, where string, mutate func(docs []tree.Document) bool) {
		mod := cloneDocs(docs)
		if !mutate(mod) {
			return
		}
		code, warn, _ := m.expect(mod)
		data, err := fx.store.EmitEncrypted(mod, meta)
		if err != nil {
			return // the format cannot hold it
		}
		mu := tamperMutation{class: class, where: where, data: data, ok: []Code{code}, warn: warn && code == 0, strict: -1}
		if code == 0 {
			mu.class += " (accepted)"
			if warn {
				mu.strict = CodeErrorDecryptingTree
			}
		}
		out = append(out, mu)
	}
	slots := collectSlots(docs)
	for _, s := range slots {
		add("remove "+s.category, "remove "+s.String(), func(d []tree.Document) bool { return s.remove(d) })
		if s.category == "clear" {
			add("edit clear", "edit "+s.String(), func(d []tree.Document) bool {
				v := s.value(d)
				switch v.Kind {
				case tree.String:
					v.Str += "x"
				case tree.Int:
					*v = tree.IntV(v.Int() + 1)
				case tree.Float:
					*v = tree.FloatV(v.Float() + 1)
				case tree.Bool:
					*v = tree.BoolV(!v.Bool())
				default:
					return false
				}
				return true
			})
		}
	}
	var leaves []slot
	for _, s := range slots {
		if s.leaf {
			leaves = append(leaves, s)
		}
	}
	for i, a := range leaves {
		for _, b := range leaves[i+1:] {
			rel := "same path"
			if a.vaad != b.vaad {
				rel = "other path"
			}
			if a.doc != b.doc {
				rel = "other document"
			}
			add(fmt.Sprintf("swap %s/%s %s", a.category, b.category, rel), "swap "+a.String()+" "+b.String(), func(d []tree.Document) bool {
				va, vb := a.value(d), b.value(d)
				*va, *vb = *vb, *va
				return true
			})
		}
	}
	// neighbours: the next slot in the same container
	for i, a := range slots {
		if i+1 < len(slots) && slots[i+1].sameContainer(a) {
			b := slots[i+1]
			add(fmt.Sprintf("reorder %s/%s", a.category, b.category), "reorder "+a.String(), func(d []tree.Document) bool { return a.swapWithNext(d) })
		}
	}
	// Text moved from one clear value to the next one the MAC covers:
	// the MAC hashes the values with no separator.
	for i, a := range leaves {
		if i+1 < len(leaves) && a.category == "clear" && leaves[i+1].category == "clear" {
			b := leaves[i+1]
			add("shift clear/clear", "shift "+a.String(), func(d []tree.Document) bool {
				va, vb := a.value(d), b.value(d)
				if va.Kind != tree.String || vb.Kind != tree.String || len(va.Str) < 2 {
					return false
				}
				last := va.Str[len(va.Str)-1:]
				va.Str, vb.Str = va.Str[:len(va.Str)-1], last+vb.Str
				return true
			})
		}
	}
	return out
}

// slot is an entry of a document: a map item or a list element, located
// by indices from the document down.
type slot struct {
	doc      int
	path     []int
	aad      string // the key path of the container
	vaad     string // the key path of the value (the additional data)
	key      string // for messages
	category string // comment, enc, clear, empty, null, map, list
	leaf     bool   // a scalar value that can be swapped
}

func (s slot) String() string { return fmt.Sprintf("doc %d %s %v", s.doc, s.key, s.path) }

func (s slot) sameContainer(o slot) bool {
	if s.doc != o.doc || len(s.path) != len(o.path) {
		return false
	}
	for i := range len(s.path) - 1 {
		if s.path[i] != o.path[i] {
			return false
		}
	}
	return true
}

func collectSlots(docs []tree.Document) []slot {
	var out []slot
	var walkItems func(doc int, items []tree.Item, path []int, aad string)
	var walkElems func(doc int, elems []tree.Value, path []int, aad, key string)
	category := func(v tree.Value) string {
		switch v.Kind {
		case tree.Map:
			return "map"
		case tree.List:
			return "list"
		case tree.Null:
			return "null"
		case tree.Comment:
			return "comment"
		case tree.String:
			if v.Str == "" {
				return "empty"
			}
			if cipher.IsEncrypted(v.Str) {
				return "enc"
			}
		}
		return "clear"
	}
	walkItems = func(doc int, items []tree.Item, path []int, aad string) {
		for i, it := range items {
			p := append(path[:len(path):len(path)], i)
			if it.IsComment() {
				out = append(out, slot{doc: doc, path: p, aad: aad, key: "#", category: "comment"})
				continue
			}
			c := category(it.Value)
			out = append(out, slot{doc: doc, path: p, aad: aad, vaad: aad + it.Key.Str + ":", key: it.Key.Str, category: c, leaf: it.Value.IsScalar() && c != "null"})
			switch it.Value.Kind {
			case tree.Map:
				walkItems(doc, it.Value.Items(), p, aad+it.Key.Str+":")
			case tree.List:
				walkElems(doc, it.Value.Elems(), p, aad+it.Key.Str+":", it.Key.Str)
			}
		}
	}
	walkElems = func(doc int, elems []tree.Value, path []int, aad, key string) {
		for i, e := range elems {
			p := append(path[:len(path):len(path)], i)
			c := category(e)
			out = append(out, slot{doc: doc, path: p, aad: aad, vaad: aad, key: fmt.Sprintf("%s[%d]", key, i), category: c, leaf: e.IsScalar() && c != "null" && c != "comment"})
			switch e.Kind {
			case tree.Map:
				walkItems(doc, e.Items(), p, aad)
			case tree.List:
				walkElems(doc, e.Elems(), p, aad, key)
			}
		}
	}
	for d, doc := range docs {
		walkItems(d, doc, nil, "")
	}
	return out
}

// container returns the map or list holding the slot: nil for the
// document itself.
func (s slot) container(docs []tree.Document) *tree.Value {
	var parent *tree.Value
	for _, i := range s.path[:len(s.path)-1] {
		if parent == nil {
			parent = &docs[s.doc][i].Value
		} else if parent.Kind == tree.Map {
			parent = &parent.Items()[i].Value
		} else {
			parent = &parent.Elems()[i]
		}
	}
	return parent
}

// items returns the items holding the slot, when it is a map entry.
func (s slot) items(docs []tree.Document) []tree.Item {
	if parent := s.container(docs); parent != nil {
		return parent.Items()
	}
	return docs[s.doc]
}

func (s slot) value(docs []tree.Document) *tree.Value {
	parent := s.container(docs)
	i := s.path[len(s.path)-1]
	if parent == nil || parent.Kind == tree.Map {
		return &s.items(docs)[i].Value
	}
	return &parent.Elems()[i]
}

func (s slot) remove(docs []tree.Document) bool {
	parent := s.container(docs)
	i := s.path[len(s.path)-1]
	switch {
	case parent == nil:
		docs[s.doc] = append(docs[s.doc][:i:i], docs[s.doc][i+1:]...)
	case parent.Kind == tree.Map:
		items := parent.Items()
		parent.SetItems(append(items[:i:i], items[i+1:]...))
	default:
		elems := parent.Elems()
		parent.SetElems(append(elems[:i:i], elems[i+1:]...))
	}
	return true
}

func (s slot) swapWithNext(docs []tree.Document) bool {
	parent := s.container(docs)
	i := s.path[len(s.path)-1]
	if parent == nil || parent.Kind == tree.Map {
		items := s.items(docs)
		items[i], items[i+1] = items[i+1], items[i]
	} else {
		elems := parent.Elems()
		elems[i], elems[i+1] = elems[i+1], elems[i]
	}
	return true
}
