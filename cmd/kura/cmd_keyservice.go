package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kura-secrets/kura/pkg/keys/keyservice/forward"
)

// keyserviceCommand is `kura keyservice`: sops's gRPC key service. gRPC
// stays out of kura's binary (it would slow every start), so the server
// is the companion's: this runs `kura-kms keyservice ARGS`, found as the
// cloud key companion is, passing signals on and exiting as it exits.
func (a *app) keyserviceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keyservice [flags]",
		Short: "Serve sops's key service: wrap and unwrap data keys for kura --keyservice and sops --keyservice",
		Long: `kura keyservice serves sops's gRPC key service on a Unix socket (mode 0600;
default $XDG_RUNTIME_DIR/kura-keyservice.sock), or on TCP with mutual TLS
only. Clients (kura --keyservice URI, sops --keyservice URI) send it the
key and the data key, and it wraps or unwraps with this machine's age
identities, PGP keys and cloud credentials. It runs kura-kms keyservice;
kura keyservice --help lists its flags. See docs/keyservice.md.`,
		Example: `  kura keyservice --address /run/user/1000/kura.sock &
  kura decrypt --keyservice unix:///run/user/1000/kura.sock --enable-local-keyservice=false secrets.enc.yaml`,
		// Every argument, --help included, is kura-kms's.
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runKeyservice(args)
		},
	}
}

func (a *app) runKeyservice(args []string) error {
	path, err := forward.LookPath(forward.Companion)
	if err != nil {
		return errors.New("kura keyservice needs kura-kms, which is not installed next to kura or on PATH: go install github.com/kura-secrets/kura/cmd/kura-kms@latest")
	}
	cmd := exec.Command(path, append([]string{"keyservice"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	// Signals reach kura; pass them on, and let kura-kms decide when to
	// exit (it stops gracefully on SIGINT and SIGTERM).
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", path, err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-sigs:
				cmd.Process.Signal(sig)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		code := ee.ExitCode()
		if code < 0 { // ended by a signal
			code = 1
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
		return &exitError{code: code, silent: true}
	}
	return err
}
