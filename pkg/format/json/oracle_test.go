package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

// The oracle is the behaviour SOPS gets from encoding/json, rebuilt here
// from the standard library alone so that the hand-written loader and
// emitter can be compared with it on the corpus and under fuzzing:
// loading walks Decoder.Token with UseNumber, emitting marshals every key
// and scalar with json.Marshal and re-indents the result with json.Indent.
//
// One deliberate difference from SOPS: SOPS accepts some truncated inputs
// (an end of input right after a top-level key's colon, or inside a list
// that is a top-level value, silently drops that entry). The oracle and
// kura reject them.

func oracleLoad(data []byte) (tree.Document, error) {
	dec := stdjson.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if t != stdjson.Delim('{') {
		return nil, errors.New("SOPS only supports JSON files with a top-level object")
	}
	v, err := oracleObject(dec)
	if err != nil {
		return nil, err
	}
	return tree.Document(v.Items()), nil
}

func oracleToken(dec *stdjson.Decoder) (stdjson.Token, error) {
	t, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return t, err
}

func oracleObject(dec *stdjson.Decoder) (tree.Value, error) {
	var items []tree.Item
	for {
		t, err := oracleToken(dec)
		if err != nil {
			return tree.Value{}, err
		}
		if t == stdjson.Delim('}') {
			return tree.MapV(items), nil
		}
		k, ok := t.(string)
		if !ok {
			return tree.Value{}, fmt.Errorf("key of type %T", t)
		}
		t, err = oracleToken(dec)
		if err != nil {
			return tree.Value{}, err
		}
		v, err := oracleValue(dec, t)
		if err != nil {
			return tree.Value{}, err
		}
		items = append(items, tree.KeyItem(k, v))
	}
}

func oracleValue(dec *stdjson.Decoder, t stdjson.Token) (tree.Value, error) {
	switch t := t.(type) {
	case stdjson.Delim:
		if t == '{' {
			return oracleObject(dec)
		}
		var elems []tree.Value
		for {
			e, err := oracleToken(dec)
			if err != nil {
				return tree.Value{}, err
			}
			if e == stdjson.Delim(']') {
				return tree.ListV(elems), nil
			}
			v, err := oracleValue(dec, e)
			if err != nil {
				return tree.Value{}, err
			}
			elems = append(elems, v)
		}
	case string:
		return tree.Str(t), nil
	case bool:
		return tree.BoolV(t), nil
	case nil:
		return tree.Value{}, nil
	case stdjson.Number:
		if i, err := t.Int64(); err == nil {
			return tree.IntV(i), nil
		}
		f, err := t.Float64()
		if err != nil {
			return tree.Value{}, err
		}
		return tree.FloatV(f), nil
	}
	return tree.Value{}, fmt.Errorf("unexpected token %T", t)
}

// oracleEmit writes doc as SOPS does: compact, then json.Indent.
func oracleEmit(doc tree.Document, indent int) ([]byte, error) {
	var compact bytes.Buffer
	if err := oracleCompact(&compact, tree.MapV(doc)); err != nil {
		return nil, err
	}
	unit := "\t"
	if indent >= 0 {
		unit = strings.Repeat(" ", indent)
	}
	var out bytes.Buffer
	if err := stdjson.Indent(&out, compact.Bytes(), "", unit); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func oracleCompact(w *bytes.Buffer, v tree.Value) error {
	var x any
	switch v.Kind {
	case tree.Map:
		w.WriteByte('{')
		n := 0
		for _, it := range v.Items() {
			if it.IsComment() {
				continue
			}
			if n > 0 {
				w.WriteByte(',')
			}
			n++
			k, err := stdjson.Marshal(it.Key.Str)
			if err != nil {
				return err
			}
			w.Write(k)
			w.WriteString(": ")
			if err := oracleCompact(w, it.Value); err != nil {
				return err
			}
		}
		w.WriteByte('}')
		return nil
	case tree.List:
		w.WriteByte('[')
		n := 0
		for _, e := range v.Elems() {
			if e.Kind == tree.Comment {
				continue
			}
			if n > 0 {
				w.WriteByte(',')
			}
			n++
			if err := oracleCompact(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
		return nil
	case tree.String:
		x = v.Str
	case tree.Int:
		x = v.Int()
	case tree.Uint:
		x = v.Uint()
	case tree.Float:
		x = v.Float()
	case tree.Bool:
		x = v.Bool()
	case tree.Time:
		x = v.Time()
	case tree.Null:
		x = nil
	default:
		return fmt.Errorf("kind %s", v.Kind)
	}
	b, err := stdjson.Marshal(x)
	if err != nil {
		return err
	}
	w.Write(b)
	return nil
}

// equalValue compares two values exactly: floats by their bits, and an
// absent container the same as an empty one.
func equalValue(a, b tree.Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case tree.String, tree.Comment:
		return a.Str == b.Str && a.Inline == b.Inline
	case tree.Int:
		return a.Int() == b.Int()
	case tree.Uint:
		return a.Uint() == b.Uint()
	case tree.Float:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float())
	case tree.Bool:
		return a.Bool() == b.Bool()
	case tree.Time:
		return a.Time().Equal(b.Time())
	case tree.Map:
		return equalItems(a.Items(), b.Items())
	case tree.List:
		if len(a.Elems()) != len(b.Elems()) {
			return false
		}
		for i := range a.Elems() {
			if !equalValue(a.Elems()[i], b.Elems()[i]) {
				return false
			}
		}
	}
	return true
}

func equalItems(a, b []tree.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalValue(a[i].Key, b[i].Key) || !equalValue(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func TestOracleAgreesOnSamples(t *testing.T) {
	for _, in := range []string{
		`{}`, `{"a":1}`, `{"a":[1,2.5,-0,1e400]}`, `{"a":"\ud800x"}`,
		`{"a":"\ud83d\ude80"}`, "{\"a\":\"\xff\"}", `{"a":{"b":{}}}x`,
	} {
		checkAgainstOracle(t, []byte(in))
	}
}

// checkAgainstOracle fails if the loader and the oracle disagree on
// whether data loads, on the tree, or on the emitted bytes. It reports
// whether data loaded.
func checkAgainstOracle(t *testing.T, data []byte) bool {
	t.Helper()
	s := New(TabIndent)
	docs, err := s.LoadPlain(data)
	want, werr := oracleLoad(data)
	if errors.Is(err, errDepth) {
		return false // the oracle has no depth limit
	}
	if (err == nil) != (werr == nil) {
		t.Fatalf("LoadPlain(%q): error %v, encoding/json: %v", data, err, werr)
	}
	if err != nil {
		return false
	}
	if !equalItems(docs[0], want) {
		t.Fatalf("LoadPlain(%q) = %#v, encoding/json gives %#v", data, docs[0], want)
	}
	got, err := s.EmitPlain(docs)
	wantOut, werr := oracleEmit(want, TabIndent)
	if err != nil || werr != nil {
		t.Fatalf("EmitPlain(%q): %v; encoding/json: %v", data, err, werr)
	}
	if !bytes.Equal(got, wantOut) {
		t.Fatalf("EmitPlain(%q):\n%q\nencoding/json:\n%q", data, got, wantOut)
	}
	return true
}

// TestRandomTokensAgainstOracle feeds the loader and the oracle strings
// made of random JSON fragments, which reach far more combinations of
// structure and error than byte-level fuzzing does in the same time.
func TestRandomTokensAgainstOracle(t *testing.T) {
	fragments := []string{
		"{", "{", "}", "}", "[", "]", ",", ",", ":", ":", " ", "\n", "\t",
		`"a"`, `"b"`, `""`, `"sops"`, `"\ud83d"`, `"\ude80"`, `"\u00e9\n"`, `"x\"y\\"`, "\"\xff\"", `"\x"`, `"`, `\`,
		"0", "-0", "1", "-1.5", "1e400", "-1e-400", "1e", "01", "9223372036854775808", ".5", "-", "+1",
		"true", "false", "null", "tru", "nul", "x", "\xef\xbb\xbf",
	}
	n := 200000
	if testing.Short() {
		n = 5000
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var b []byte
	loaded := 0
	for range n {
		b = append(b[:0], '{')
		if rng.IntN(8) == 0 {
			b = b[:0]
		}
		for range rng.IntN(24) {
			b = append(b, fragments[rng.IntN(len(fragments))]...)
		}
		if checkAgainstOracle(t, b) {
			loaded++
		}
	}
	t.Logf("%d of %d inputs loaded", loaded, n)
}
