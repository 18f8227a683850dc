package yaml

import (
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestEncPlainMatchesEncoder checks encPlain's byte table against
// yaml.v3: every ENC-like string it accepts, the library writes plain too,
// and every byte of the base64 alphabet and the ENC separators is
// accepted.
func TestEncPlainMatchesEncoder(t *testing.T) {
	const want = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=,:_-[]"
	for b := 0; b < 256; b++ {
		s := "ENC[AES256_GCM,data:a" + string(rune(b)) + "b,type:str]"
		if b >= 0x80 {
			s = "ENC[AES256_GCM,data:a" + string([]byte{byte(b)}) + "b,type:str]"
		}
		accepted := encPlain(s)
		if accepted != strings.ContainsRune(want, rune(b)) {
			t.Errorf("byte %q: encPlain says %v", rune(b), accepted)
		}
		if !accepted {
			continue
		}
		out, err := yaml.Marshal(map[string]string{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != "k: "+s {
			t.Errorf("byte %q: encPlain accepts %q, yaml.v3 writes %s", rune(b), s, got)
		}
	}
}
