// Package benchdata builds realistic documents of a given size for
// benchmarks: nested service configuration with strings, numbers,
// booleans, lists and the odd multi-line value.
package benchdata

import (
	"fmt"

	"github.com/kura-secrets/kura/pkg/tree"
)

// Document returns a document with exactly n scalar values.
func Document(n int) tree.Document {
	var doc tree.Document
	count := 0
	for s := 0; count < n; s++ {
		var items []tree.Item
		add := func(k string, v tree.Value) {
			if count < n {
				items = append(items, tree.KeyItem(k, v))
				count++
			}
		}
		add("host", tree.Str(fmt.Sprintf("svc-%d.eu-west-1.internal", s)))
		add("port", tree.IntV(int64(1024+s%60000)))
		add("enabled", tree.BoolV(s%2 == 0))
		add("ratio", tree.FloatV(float64(s%1000)/997))
		add("password", tree.Str(fmt.Sprintf("pw-%08x-%08x-secret", s*2654435761, s*40503)))
		add("url", tree.Str(fmt.Sprintf("https://user:pass@db-%d.example.com:5432/app?sslmode=require", s)))
		if s%10 == 0 {
			add("cert", tree.Str("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGVGb3JUZXN0aW5nMAoGCCqGSM49BAMC\n-----END CERTIFICATE-----\n"))
		}
		var tags []tree.Value
		for j := 0; j < 3 && count < n; j++ {
			tags = append(tags, tree.Str(fmt.Sprintf("tag-%d", j)))
			count++
		}
		if len(tags) > 0 {
			items = append(items, tree.KeyItem("tags", tree.ListV(tags)))
		}
		doc = append(doc, tree.KeyItem(fmt.Sprintf("service_%06d", s), tree.MapV(items)))
	}
	return doc
}

// Copy returns a deep copy, for benchmarks that change documents in place.
func Copy(doc tree.Document) tree.Document { return doc.Clone() }
