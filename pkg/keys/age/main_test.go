package age

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the test binary stand in for two outside programs:
//
//   - "age-plugin-kuratest" (through a symlink of that name): a real age
//     plugin, see plugin_test.go;
//   - "<test binary> kura-age-helper KEYFILE LOGFILE": a SOPS_AGE_KEY_CMD
//     that appends its SOPS_AGE_RECIPIENT to LOGFILE and prints KEYFILE.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "age-plugin-"+testPluginName {
		os.Exit(runTestPlugin())
	}
	if len(os.Args) == 4 && os.Args[1] == "kura-age-helper" {
		os.Exit(runKeyCmdHelper(os.Args[2], os.Args[3]))
	}
	os.Exit(m.Run())
}

func runKeyCmdHelper(keyFile, logFile string) int {
	log, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintln(log, os.Getenv(RecipientEnv))
	log.Close()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
