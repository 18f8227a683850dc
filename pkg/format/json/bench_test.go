package json

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/kura-secrets/kura/pkg/tree"
)

// generate builds a document of services*100 values: per service four
// scalars, a list of six strings, a map of 80 strings (some needing
// escapes) and a nested map with a float, an int and a list of eight ints.
func generate(services int) tree.Document {
	doc := make(tree.Document, 0, services)
	for i := range services {
		tags := make([]tree.Value, 6)
		for j := range tags {
			tags[j] = tree.Str(fmt.Sprintf("tag-%d-%d", i, j))
		}
		env := make([]tree.Item, 80)
		for j := range env {
			v := fmt.Sprintf("value %d of service %d", j, i)
			switch j % 10 {
			case 3:
				v = fmt.Sprintf("postgres://u:p@db-%d/x?a=1&b=<2>", i)
			case 7:
				v = fmt.Sprintf("line one\nline \"two\" ünïcödé %d", j)
			}
			env[j] = tree.KeyItem(fmt.Sprintf("ENV_VAR_%02d", j), tree.Str(v))
		}
		burst := make([]tree.Value, 8)
		for j := range burst {
			burst[j] = tree.IntV(int64(i*j - 1000))
		}
		doc = append(doc, tree.KeyItem(fmt.Sprintf("service_%05d", i), tree.MapV([]tree.Item{
			tree.KeyItem("name", tree.Str(fmt.Sprintf("svc-%d", i))),
			tree.KeyItem("port", tree.IntV(int64(8000+i))),
			tree.KeyItem("enabled", tree.BoolV(i%2 == 0)),
			tree.KeyItem("ratio", tree.FloatV(float64(i)/7)),
			tree.KeyItem("tags", tree.ListV(tags)),
			tree.KeyItem("env", tree.MapV(env)),
			tree.KeyItem("limits", tree.MapV([]tree.Item{
				tree.KeyItem("cpu", tree.FloatV(0.25*float64(i%16))),
				tree.KeyItem("mem", tree.IntV(int64(i)<<20)),
				tree.KeyItem("burst", tree.ListV(burst)),
			})),
		})))
	}
	return doc
}

func generateJSON(tb testing.TB, services int) []byte {
	tb.Helper()
	out, err := New(TabIndent).EmitPlain([]tree.Document{generate(services)})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BenchmarkLoadPlain loads a 100,000-value document.
func BenchmarkLoadPlain(b *testing.B) {
	data := generateJSON(b, 1000)
	s := New(TabIndent)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.LoadPlain(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmitPlain writes a 100,000-value document.
func BenchmarkEmitPlain(b *testing.B) {
	docs := []tree.Document{generate(1000)}
	s := New(TabIndent)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.EmitPlain(docs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadPlainTokenDecoder is the encoding/json Decoder.Token way
// of loading, for comparison.
func BenchmarkLoadPlainTokenDecoder(b *testing.B) {
	data := generateJSON(b, 1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oracleLoad(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmitPlainMarshalIndent is the json.Marshal plus json.Indent
// way of emitting, for comparison.
func BenchmarkEmitPlainMarshalIndent(b *testing.B) {
	doc := generate(1000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oracleEmit(doc, TabIndent); err != nil {
			b.Fatal(err)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLinearCost checks that memory use grows linearly with the size of
// the document, which quadratic string building or slice copying would
// break. Allocation counts are deterministic, unlike timings.
func TestLinearCost(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	s := New(TabIndent)
	small, large := generateJSON(t, 100), generateJSON(t, 1600)
	smallDoc, largeDoc := []tree.Document{generate(100)}, []tree.Document{generate(1600)}
	ratio := float64(len(large)) / float64(len(small))
	check := func(what string, a, b uint64) {
		if got := float64(b) / float64(a); got > ratio*1.5 {
			t.Errorf("%s: %d bytes for the small document, %d for one %.0f times larger (x%.1f)", what, a, b, ratio, got)
		}
	}
	load := func(data []byte) func() {
		return func() {
			if _, err := s.LoadPlain(data); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit := func(docs []tree.Document) func() {
		return func() {
			if _, err := s.EmitPlain(docs); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("LoadPlain", allocated(load(small)), allocated(load(large)))
	check("EmitPlain", allocated(emit(smallDoc)), allocated(emit(largeDoc)))
}
