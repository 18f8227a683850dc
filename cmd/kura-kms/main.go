// Command kura-kms is kura's companion for cloud keys. kura starts it when
// a file names an AWS KMS, GCP KMS, Azure Key Vault or HashiCorp Vault
// key, so that kura itself links none of their SDKs and starts fast.
package main

import (
	"os"

	"github.com/kura-secrets/kura/internal/kurakms"
)

// Set at build time with -ldflags "-X main.version=...".
var version = "devel"

func main() {
	os.Exit(kurakms.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, version))
}
