// Package kurakms is the companion binary kura-kms: the cloud key sources
// behind the key-source protocol. It lives in a package of its own so that
// tests can run it in-process, and cmd/kura-kms stays a one-line main.
package kurakms

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kura-secrets/kura/pkg/keys"
	"github.com/kura-secrets/kura/pkg/keys/awskms"
	"github.com/kura-secrets/kura/pkg/keys/azkv"
	"github.com/kura-secrets/kura/pkg/keys/gcpkms"
	"github.com/kura-secrets/kura/pkg/keys/hcvault"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// Providers returns the key sources kura-kms serves.
func Providers() map[keys.Type]kmsproto.Provider {
	return map[keys.Type]kmsproto.Provider{
		keys.Vault:   hcvault.New(),
		keys.AzureKV: azkv.New(),
		keys.KMS:     awskms.New(),
		keys.GCPKMS:  gcpkms.New(),
	}
}

const usage = `kura-kms is kura's companion for cloud keys: AWS KMS, GCP KMS, Azure Key
Vault and HashiCorp Vault transit. kura starts it when a file or a flag
names such a key and talks to it on standard input and output (see
docs/key-source-protocol.md); you do not run it yourself.

Credentials come from each service's usual places: the AWS SDK chain
(AWS_PROFILE, ~/.aws, AWS_ENDPOINT_URL_KMS...), Google Application Default
Credentials or GOOGLE_CREDENTIALS / GOOGLE_OAUTH_ACCESS_TOKEN, Azure's
DefaultAzureCredential, and VAULT_ADDR / VAULT_TOKEN or ~/.vault-token.

It also writes the secrets of kura publish to HashiCorp Vault KV and AWS
Secrets Manager (AWS_ENDPOINT_URL_SECRETS_MANAGER...), with the same
credentials.

usage: kura-kms              serve the protocol on standard input and output
       kura-kms keyservice   serve sops's gRPC key service (kura keyservice --help)
       kura-kms version      print the version
`

// Main runs kura-kms and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, version string) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-v":
			fmt.Fprintf(stdout, "kura-kms %s (protocol %d)\n", version, kmsproto.Version)
			return 0
		case "help", "--help", "-h":
			fmt.Fprint(stdout, usage)
			return 0
		case "keyservice": // sops's gRPC key service (keyservice.go)
			return keyserviceMain(args[1:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "kura-kms: error: unknown argument %q\n%s", args[0], usage)
		return 2
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// publish: kura publish's writes to Vault KV and Secrets Manager
	// (publish*.go).
	providers := Providers()
	// kura --keyservice: requests naming a key service are forwarded to
	// it over gRPC (keyservice_client.go).
	fwd := newForwarder(os.Getenv, stderr)
	defer fwd.Close()
	providers[kmsproto.KeyServiceType] = fwd
	if err := kmsproto.ServePublisher(stdin, stdout, providers, NewPublisher(), nil); err != nil {
		fmt.Fprintf(stderr, "kura-kms: error: %v\n", err)
		return 1
	}
	return 0
}
