package sopsfile

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kura-secrets/kura/internal/prefault"
	"github.com/kura-secrets/kura/pkg/cipher"
	"github.com/kura-secrets/kura/pkg/rules"
	"github.com/kura-secrets/kura/pkg/tree"
)

// walker visits every value of a tree in document order, the order that
// defines the MAC, deciding for each leaf whether it is encrypted and
// encrypting or decrypting it in place.
//
// It keeps the additional data of the current position (the keys from the
// root joined by ':' with a final ':') in one growing buffer, and the
// selector's verdicts as counters, so that a leaf costs no allocation
// beyond its own ciphertext.
type walker struct {
	sel     *rules.Selector
	c       *cipher.Cipher
	mac     *cipher.MAC
	macOnly bool
	decrypt bool

	aad      []byte
	path     []pathElem
	keyMatch int // path components that the key selector matches
	// comment levels: for each enclosing map or list, how many of the
	// comments seen since its last entry match the comment selector.
	levels        []int
	commentsMatch int

	// warnings collects comments that could not be decrypted (left as
	// they are, as sops leaves them) and values whose text is not the
	// canonical form of their type; strict makes them errors instead.
	warnings []Warning
	strict   bool

	// deferred collects the values to decrypt or encrypt as jobs instead
	// of handling them, so that they can be handled on every core. A
	// job is 24 bytes: the value, its key, and where its container's
	// additional data is in prefixes, stored once per map or list. (A
	// copy of each value's whole additional data, and a list of the
	// values to hash, took 107 bytes a value: for a large file, more
	// fresh memory than the work on it is worth.)
	deferred bool
	jobs     []valueJob
	prefixes []byte
	// cont is the current container's additional data in prefixes, once
	// a job needs it; key is the key of the value being visited (nil in
	// a list), and keyMark where that key starts in aad.
	cont    prefixRef
	key     *tree.Value
	keyMark int

	// done marks the jobs that decryptJobs decrypted, by number in
	// document order; the walk that follows it counts the encrypted
	// values in jobNum to skip those, hashing them as they are now.
	done   []uint64
	jobNum int

	// scratch is the working memory of values encrypted or decrypted
	// on this goroutine (each worker of runJobs has its own).
	scratch cipher.Scratch
}

// valueJob is a value to decrypt or encrypt on any goroutine: its
// additional data is its container's (prefixes[pre:preEnd]) followed, in
// a map, by its key and ':'.
type valueJob struct {
	v           *tree.Value
	key         *tree.Value
	pre, preEnd uint32
}

// prefixRef is a container's additional data in a walker's prefixes.
type prefixRef struct {
	start, end uint32
	stored     bool
}

// Messages of warnings and --strict errors. They name the type at most,
// never a value.
const (
	msgComment      = "does not authenticate (changed after encryption, or written in clear); it is shown as it is in the file, as sops does: comments are not covered by the MAC"
	msgNonCanonical = "the decrypted text is not what a SOPS writer encrypts for its type tag %q: the tag (which is not authenticated) or the value was changed after encryption"
)

func newWalker(sel *rules.Selector, c *cipher.Cipher, decrypt bool) *walker {
	macOnly := sel.Config().MACOnlyEncrypted
	return &walker{sel: sel, c: c, mac: cipher.NewMAC(macOnly), macOnly: macOnly, decrypt: decrypt, aad: make([]byte, 0, 128)}
}

// rootAAD is the additional data of a value at the root: SOPS joins the
// (empty) path and appends ':'.
var rootAAD = []byte(":")

// additional returns the additional data for the current position.
func (w *walker) additional() []byte {
	if len(w.aad) == 0 {
		return rootAAD
	}
	return w.aad
}

func (w *walker) fail(code Code, err error) error {
	return &Error{Code: code, Path: formatPath(w.path), Err: err}
}

func (w *walker) document(doc tree.Document) error {
	w.aad = w.aad[:0]
	return w.mapItems(doc)
}

func (w *walker) pushLevel() { w.levels = append(w.levels, 0) }

func (w *walker) popLevel() {
	w.commentsMatch -= w.levels[len(w.levels)-1]
	w.levels = w.levels[:len(w.levels)-1]
}

// endEntry forgets the comments that preceded an entry once it is done:
// a comment applies to the entry that follows it, and to nothing after.
func (w *walker) endEntry() {
	top := len(w.levels) - 1
	w.commentsMatch -= w.levels[top]
	w.levels[top] = 0
}

// seeComment records a comment on the current level and reports whether
// it matches the comment selector.
func (w *walker) seeComment(text string) bool {
	if !w.sel.HasCommentRule() || !w.sel.CommentMatches(text) {
		return false
	}
	w.levels[len(w.levels)-1]++
	w.commentsMatch++
	return true
}

func (w *walker) mapItems(items []tree.Item) error {
	w.pushLevel()
	outer := w.cont
	w.cont = prefixRef{}
	comments := 0
	for i := range items {
		it := &items[i]
		if it.IsComment() {
			comments++
			self := w.seeComment(it.Key.Str)
			if err := w.comment(&it.Key, self, comments); err != nil {
				return err
			}
			continue
		}
		if it.Key.Kind != tree.String {
			code := CodeErrorEncryptingTree
			if w.decrypt {
				code = CodeErrorDecryptingTree
			}
			text, _ := it.Key.Canonical()
			return w.fail(code, fmt.Errorf("the tree contains a non-string key (%s %q); only string keys are supported", it.Key.Kind, text))
		}
		key := it.Key.Str
		mark := len(w.aad)
		w.aad = append(append(w.aad, key...), ':')
		w.path = append(w.path, pathElem{key: key, index: -1})
		matched := w.sel.KeyMatches(key)
		if matched {
			w.keyMatch++
		}
		w.key, w.keyMark = &it.Key, mark
		if err := w.value(&it.Value); err != nil {
			return err
		}
		if matched {
			w.keyMatch--
		}
		w.path = w.path[:len(w.path)-1]
		w.aad = w.aad[:mark]
		w.endEntry()
	}
	w.cont = outer
	w.popLevel()
	return nil
}

func (w *walker) listElems(elems []tree.Value) error {
	w.pushLevel()
	outer := w.cont
	w.cont = prefixRef{}
	comments := 0
	for i := range elems {
		e := &elems[i]
		if e.Kind == tree.Comment {
			comments++
			self := w.seeComment(e.Str)
			if err := w.comment(e, self, comments); err != nil {
				return err
			}
			continue
		}
		w.path = append(w.path, pathElem{index: i})
		w.key, w.keyMark = nil, len(w.aad)
		if err := w.value(e); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
		w.endEntry()
	}
	w.cont = outer
	w.popLevel()
	return nil
}

// addJob defers v, the value being visited, to runJobs.
func (w *walker) addJob(v *tree.Value) {
	if !w.cont.stored {
		start := len(w.prefixes)
		w.prefixes = append(w.prefixes, w.aad[:w.keyMark]...)
		w.cont = prefixRef{start: uint32(start), end: uint32(len(w.prefixes)), stored: true} // #nosec G115 -- deferring checks the size (maxPrefixes)
	}
	w.jobs = append(w.jobs, valueJob{v: v, key: w.key, pre: w.cont.start, preEnd: w.cont.end})
}

// deferFor makes w a deferred walk, its buffers sized once for the tree
// n counts (growing them by doubling copies them over and over), when the
// tree has values enough for more than one goroutine; it reports whether.
func (w *walker) deferFor(n leafCount) bool {
	if workersFor(n.leaves) == 1 || int64(n.prefixes) > maxPrefixes {
		return false
	}
	w.deferred = true
	w.jobs = make([]valueJob, 0, n.leaves)
	w.prefixes = make([]byte, 0, n.prefixes)
	prefault.Slice(w.jobs)
	return true
}

// maxPrefixes bounds the additional data a deferred walk stores, for its
// offsets to fit in a valueJob.
const maxPrefixes int64 = math.MaxUint32

// additionalOf returns the additional data of j's value, built in buf.
func (w *walker) additionalOf(buf []byte, j valueJob) []byte {
	buf = append(buf[:0], w.prefixes[j.pre:j.preEnd]...)
	if j.key != nil {
		buf = append(append(buf, j.key.Str...), ':')
	}
	if len(buf) == 0 {
		return rootAAD
	}
	return buf
}

func (w *walker) value(v *tree.Value) error {
	switch v.Kind {
	case tree.Map:
		return w.mapItems(v.Items())
	case tree.List:
		return w.listElems(v.Elems())
	case tree.Null:
		return nil
	case tree.Comment:
		return nil
	}
	if w.decrypt {
		return w.decryptLeaf(v)
	}
	return w.encryptLeaf(v)
}

func (w *walker) encryptLeaf(v *tree.Value) error {
	if v.Kind == tree.Uint {
		return w.fail(CodeErrorEncryptingTree, errors.New("integers above 9223372036854775807 are not supported (sops cannot read them); quote the number to keep it as a string"))
	}
	encrypt := w.sel.Encrypt(w.keyMatch, w.commentsMatch, false)
	if !w.macOnly || encrypt {
		w.mac.Add(*v)
	}
	if !encrypt {
		return nil
	}
	if w.deferred {
		if _, err := cipher.TypeOf(*v); err != nil {
			return w.fail(CodeErrorEncryptingTree, err)
		}
		w.addJob(v)
		return nil
	}
	s, err := w.c.EncryptValueWith(&w.scratch, *v, w.additional())
	if err != nil {
		return w.fail(CodeErrorEncryptingTree, err)
	}
	*v = tree.Str(s)
	return nil
}

// encryptJobs encrypts the deferred values, on every core. The MAC was
// computed during the walk; only a cipher that reuses no IVs may encrypt
// in any order (seal checks).
func (w *walker) encryptJobs() error {
	var firstErr error
	var mu sync.Mutex
	w.runJobs(func(_ int, j valueJob, aad []byte, sc *cipher.Scratch) bool {
		s, err := w.c.EncryptValueWith(sc, *j.v, aad)
		if err != nil {
			mu.Lock()
			firstErr = cmp.Or(firstErr, err)
			mu.Unlock()
			return false
		}
		*j.v = tree.Str(s)
		return true
	})
	if firstErr != nil {
		return &Error{Code: CodeErrorEncryptingTree, Err: firstErr}
	}
	return nil
}

// workersFor returns how many goroutines should handle n values: one
// (the caller's) for a small file, where starting another, and the
// thread to run it, costs more than the values.
func workersFor(n int) int {
	if n < parallelMin {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n/(parallelMin/2)))
}

// runJobs runs do for every job, with the job's number and additional
// data, on every core for enough jobs, and stops early once do returns
// false. Each worker takes a run of jobs whose numbers start at a
// multiple of 64, so that workers marking jobs in a bitmap (decryptJobs)
// never write the same word.
func (w *walker) runJobs(do func(int, valueJob, []byte, *cipher.Scratch) bool) (ok bool) {
	workers := workersFor(len(w.jobs))
	if workers == 1 {
		var aad []byte
		for i, j := range w.jobs {
			aad = w.additionalOf(aad, j)
			if !do(i, j, aad, &w.scratch) {
				return false
			}
		}
		return true
	}
	var failed atomic.Bool
	var wg sync.WaitGroup
	// A worker's panic goes on in this goroutine, where kura's main
	// recovers it: left to the runtime, it would print the panic value,
	// which might hold a decrypted value.
	var panicOnce sync.Once
	var panicked any
	chunk := ((len(w.jobs)+workers-1)/workers + 63) &^ 63
	for start := 0; start < len(w.jobs); start += chunk {
		end := min(start+chunk, len(w.jobs))
		wg.Add(1)
		go func() {
			// The values may point into a mapped file (mapfile): a
			// fault from its truncation becomes a panic, which goes on
			// in the calling goroutine as any other.
			debug.SetPanicOnFault(true)
			var sc cipher.Scratch
			var aad []byte
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					failed.Store(true)
					panicOnce.Do(func() { panicked = r })
				}
			}()
			for i := start; i < end; i++ {
				if failed.Load() {
					return
				}
				j := w.jobs[i]
				aad = w.additionalOf(aad, j)
				if !do(i, j, aad, &sc) {
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}
	return !failed.Load()
}

func (w *walker) decryptLeaf(v *tree.Value) error {
	encrypted := w.sel.Encrypt(w.keyMatch, w.commentsMatch, false)
	if w.deferred {
		// Every encrypted value is a job, whatever it holds, so that the
		// walk after decryptJobs numbers them as this one does.
		if encrypted {
			w.addJob(v)
		}
		return nil
	}
	if encrypted && w.done != nil {
		n := w.jobNum
		w.jobNum++
		if w.done[n/64]&(1<<(n%64)) != 0 {
			// decrypted by decryptJobs
			w.mac.Add(*v)
			return nil
		}
	}
	if encrypted {
		if v.Kind != tree.String {
			return w.fail(CodeErrorDecryptingTree, fmt.Errorf("expected an encrypted value, found a plain %s", v.Kind))
		}
		typ := typeTag(v.Str)
		dv, canonical, err := w.c.DecryptValueCheckedWith(&w.scratch, v.Str, w.additional())
		if err != nil {
			return w.fail(CodeErrorDecryptingTree, err)
		}
		if !canonical {
			err := fmt.Errorf(msgNonCanonical, typ)
			if w.strict {
				return w.fail(CodeErrorDecryptingTree, fmt.Errorf("%w (--strict)", err))
			}
			w.warnings = append(w.warnings, Warning{Path: formatPath(w.path), Msg: err.Error()})
		}
		if dv.Kind == tree.Comment {
			// sops 3.13.2 writes a comment inside a YAML sequence as an
			// encrypted list element and leaves it out of the MAC. It is a
			// comment again, and not hashed.
			*v = dv
			return nil
		}
		*v = dv
	}
	if !w.macOnly || encrypted {
		w.mac.Add(*v)
	}
	return nil
}

// comment encrypts or decrypts a comment in place. self says whether the
// comment matches the comment selector itself; n is its number among the
// comments of its map or list, from 1, to name it in messages.
func (w *walker) comment(c *tree.Value, self bool, n int) error {
	if !w.sel.Encrypt(w.keyMatch, w.commentsMatch, self) {
		return nil
	}
	if w.decrypt {
		if w.deferred {
			// decrypted by the walk after decryptJobs
			return nil
		}
		dv, _, err := w.c.DecryptValueCheckedWith(&w.scratch, c.Str, w.additional())
		if err != nil {
			// Comments are not covered by the MAC and older writers left
			// them in clear: keep the text and warn, as sops does, or
			// refuse the file with --strict.
			msg := fmt.Sprintf("comment %d %s", n, msgComment)
			if w.strict {
				where := ""
				if len(w.path) == 0 {
					where = " at the top level"
				}
				return w.fail(CodeErrorDecryptingTree, fmt.Errorf("comment %d%s does not authenticate: it was changed after encryption, or written in clear (--strict)", n, where))
			}
			w.warnings = append(w.warnings, Warning{Path: formatPath(w.path), Msg: msg})
			return nil
		}
		text, _ := dv.Canonical()
		*c = tree.CommentV(text, c.Inline)
		return nil
	}
	s, err := w.c.EncryptValueWith(&w.scratch, tree.CommentV(c.Str, false), w.additional())
	if err != nil {
		return w.fail(CodeErrorEncryptingTree, err)
	}
	if re := w.sel.UnencryptedCommentRegex(); re != nil && re.MatchString(s) {
		return w.fail(CodeErrorEncryptingTree, errors.New("an encrypted comment matches unencrypted_comment_regex, so it could not be decrypted later; choose a regex that cannot match ENC[...] text"))
	}
	c.Str = s
	return nil
}

// parallelMin is the number of values from which decrypting them on
// several goroutines pays for starting them.
const parallelMin = 2048

// decryptJobs decrypts the deferred values, on every core, and returns
// which it decrypted, as a bitmap of job numbers. It leaves a value as it
// is when it does not decrypt, when its text is not the canonical form of
// its type, and when it is a comment sops wrote as a list element: the
// walk that follows decrypts those one at a time, reporting what it finds
// as it would without decryptJobs, and hashes every value in document
// order for the MAC.
func (w *walker) decryptJobs() []uint64 {
	done := make([]uint64, (len(w.jobs)+63)/64)
	w.runJobs(func(i int, j valueJob, aad []byte, sc *cipher.Scratch) bool {
		v := j.v
		if v.Kind != tree.String || strings.HasSuffix(v.Str, ",type:"+cipher.TypeComment+"]") {
			return true
		}
		dv, canonical, err := w.c.DecryptValueCheckedWith(sc, v.Str, aad)
		if err != nil || !canonical {
			// The walk names it; the values after it need not be
			// decrypted here.
			return false
		}
		*v = dv
		done[i/64] |= 1 << (i % 64)
		return true
	})
	return done
}

// typeTag returns the type field of an ENC[...] string, for messages: a
// short tag name, or "?" for anything else.
func typeTag(s string) string {
	i := strings.LastIndex(s, ",type:")
	if i < 0 {
		return "?"
	}
	t := strings.TrimSuffix(s[i+len(",type:"):], "]")
	if len(t) > 10 || strings.ContainsAny(t, "]\n") {
		return "?"
	}
	return t
}

// leafCount is the size of a tree's walk: its scalar values, and the
// bytes of the additional data of the maps and lists holding them, for
// sizing a deferred walk's buffers once, and its comments (growing them by doubling copies
// them over and over, and fresh memory costs a page fault a page).
type leafCount struct{ leaves, prefixes, comments int }

func (c *leafCount) items(items []tree.Item, prefix int) {
	counted := false
	for i := range items {
		if items[i].IsComment() {
			c.comments++
			continue
		}
		v := &items[i].Value
		if isLeaf(v) && !counted {
			c.prefixes += prefix
			counted = true
		}
		c.value(v, prefix+len(items[i].Key.Str)+1)
	}
}

func (c *leafCount) list(elems []tree.Value, prefix int) {
	counted := false
	for i := range elems {
		v := &elems[i]
		if isLeaf(v) && !counted {
			c.prefixes += prefix
			counted = true
		}
		c.value(v, prefix)
	}
}

func (c *leafCount) value(v *tree.Value, prefix int) {
	switch v.Kind {
	case tree.Map:
		c.items(v.Items(), prefix)
	case tree.List:
		c.list(v.Elems(), prefix)
	case tree.Comment:
		c.comments++
	case tree.Null:
	default:
		c.leaves++
	}
}

// isLeaf reports whether the walk decrypts or encrypts v.
func isLeaf(v *tree.Value) bool {
	switch v.Kind {
	case tree.Map, tree.List, tree.Null, tree.Comment:
		return false
	}
	return true
}

// countLeaves sizes the walk of docs.
func countLeaves(docs []tree.Document) leafCount {
	var c leafCount
	for _, d := range docs {
		c.items(d, 0)
	}
	return c
}
