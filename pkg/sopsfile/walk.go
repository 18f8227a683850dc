package sopsfile

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

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

	// deferred collects the values to decrypt instead of decrypting
	// them, so that finish can decrypt them on every core: the MAC is
	// then computed in document order from macs. Encrypting, it collects
	// the values for finishEncrypt, the MAC being computed on the way.
	deferred bool
	jobs     []decryptJob
	aads     []byte // the jobs' additional data, one after another
	// comments are the comments decrypted so far (they are decrypted
	// during the walk), with their ENC text.
	comments []decryptJob
	macs     []macEntry

	// scratch is the working memory of values encrypted or decrypted
	// on this goroutine (parallel gives each worker its own).
	scratch cipher.Scratch
}

// decryptJob is a value to decrypt, or to encrypt: enc is its ENC text,
// kept to put it back if any value fails to decrypt.
type decryptJob struct {
	v        *tree.Value
	enc      string
	aadStart int
	aadEnd   int
}

// Messages of warnings and --strict errors. They name the type at most,
// never a value.
const (
	msgComment      = "does not authenticate (changed after encryption, or written in clear); it is shown as it is in the file, as sops does: comments are not covered by the MAC"
	msgNonCanonical = "the decrypted text is not what a SOPS writer encrypts for its type tag %q: the tag (which is not authenticated) or the value was changed after encryption"
)

// macEntry is a value the MAC covers, in document order.
type macEntry struct {
	v         *tree.Value
	encrypted bool
}

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
	w.popLevel()
	return nil
}

func (w *walker) listElems(elems []tree.Value) error {
	w.pushLevel()
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
		if err := w.value(e); err != nil {
			return err
		}
		w.path = w.path[:len(w.path)-1]
		w.endEntry()
	}
	w.popLevel()
	return nil
}

func (w *walker) value(v *tree.Value) error {
	switch v.Kind {
	case tree.Map:
		return w.mapItems(v.Items)
	case tree.List:
		return w.listElems(v.Elems)
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
		start := len(w.aads)
		w.aads = append(w.aads, w.additional()...)
		w.jobs = append(w.jobs, decryptJob{v: v, aadStart: start, aadEnd: len(w.aads)})
		return nil
	}
	s, err := w.c.EncryptValueWith(&w.scratch, *v, w.additional())
	if err != nil {
		return w.fail(CodeErrorEncryptingTree, err)
	}
	*v = tree.Str(s)
	return nil
}

// finishEncrypt encrypts the deferred values, on every core. The MAC was
// computed during the walk; only a cipher that reuses no IVs may encrypt
// in any order (seal checks).
func (w *walker) finishEncrypt() error {
	var firstErr error
	var mu sync.Mutex
	w.parallel(func(j decryptJob, sc *cipher.Scratch) bool {
		s, err := w.c.EncryptValueWith(sc, *j.v, w.aads[j.aadStart:j.aadEnd])
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

// parallel runs do for every job, on every core for enough jobs, and
// stops early once do returns false.
func (w *walker) parallel(do func(decryptJob, *cipher.Scratch) bool) (ok bool) {
	workers := 1
	if len(w.jobs) >= parallelMin {
		workers = min(runtime.GOMAXPROCS(0), len(w.jobs)/(parallelMin/2))
	}
	if workers == 1 {
		// On this goroutine: starting another, and the thread to run
		// it, costs more than a small file's values.
		for _, j := range w.jobs {
			if !do(j, &w.scratch) {
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
	chunk := (len(w.jobs) + workers - 1) / workers
	for start := 0; start < len(w.jobs); start += chunk {
		jobs := w.jobs[start:min(start+chunk, len(w.jobs))]
		wg.Add(1)
		go func() {
			// The values may point into a mapped file (mapfile): a
			// fault from its truncation becomes a panic, which goes on
			// in the calling goroutine as any other.
			debug.SetPanicOnFault(true)
			var sc cipher.Scratch
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					failed.Store(true)
					panicOnce.Do(func() { panicked = r })
				}
			}()
			for _, j := range jobs {
				if failed.Load() {
					return
				}
				if !do(j, &sc) {
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
		if encrypted {
			if v.Kind != tree.String {
				return w.fail(CodeErrorDecryptingTree, fmt.Errorf("expected an encrypted value, found a plain %s", v.Kind))
			}
			start := len(w.aads)
			w.aads = append(w.aads, w.additional()...)
			w.jobs = append(w.jobs, decryptJob{v: v, enc: v.Str, aadStart: start, aadEnd: len(w.aads)})
		}
		w.macs = append(w.macs, macEntry{v, encrypted})
		return nil
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
		if w.deferred {
			// kept to put it back if a value makes finish walk again
			w.comments = append(w.comments, decryptJob{v: c, enc: c.Str})
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

// finish decrypts the deferred values, on every core for a large file,
// and computes the MAC in document order. It reports false when a value
// does not decrypt: every value is then put back as it was, for the
// sequential walk to find and name the first one that fails.
func (w *walker) finish() bool {
	ok := w.parallel(func(j decryptJob, sc *cipher.Scratch) bool {
		dv, canonical, err := w.c.DecryptValueCheckedWith(sc, j.enc, w.aads[j.aadStart:j.aadEnd])
		if err != nil || !canonical {
			// (a value to report is named by the sequential walk)
			return false
		}
		*j.v = dv
		return true
	})
	if !ok {
		for _, j := range w.jobs {
			*j.v = tree.Str(j.enc)
		}
		for _, j := range w.comments {
			j.v.Str = j.enc
		}
		return false
	}
	for _, m := range w.macs {
		if m.encrypted && m.v.Kind == tree.Comment {
			// A comment sops 3.13.2 wrote as a list element: not hashed
			// (see decryptLeaf).
			continue
		}
		if !w.macOnly || m.encrypted {
			w.mac.Add(*m.v)
		}
	}
	return true
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
// bytes of their additional data together, for sizing the walker's
// buffers once (growing them by doubling copies them over and over, and
// fresh memory costs a page fault a page).
type leafCount struct{ leaves, aad int }

func (c *leafCount) items(items []tree.Item, prefix int) {
	for i := range items {
		if !items[i].IsComment() {
			c.value(&items[i].Value, prefix+len(items[i].Key.Str)+1)
		}
	}
}

func (c *leafCount) value(v *tree.Value, prefix int) {
	switch v.Kind {
	case tree.Map:
		c.items(v.Items, prefix)
	case tree.List:
		for i := range v.Elems {
			c.value(&v.Elems[i], prefix)
		}
	case tree.Null, tree.Comment:
	default:
		c.leaves++
		c.aad += max(prefix, len(rootAAD))
	}
}

// countLeaves sizes the walk of docs.
func countLeaves(docs []tree.Document) leafCount {
	var c leafCount
	for _, d := range docs {
		c.items(d, 0)
	}
	return c
}
