package azkv

import (
	"fmt"
	"os"
	"testing"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// companionEnv makes the test binary a key-source companion serving this
// provider, as kura-kms does: see TestCompanionProcess.
const companionEnv = "AZKV_TEST_COMPANION"

func TestMain(m *testing.M) {
	if os.Getenv(companionEnv) == "1" {
		err := kmsproto.Serve(os.Stdin, os.Stdout, map[keys.Type]kmsproto.Provider{keys.AzureKV: New()}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
