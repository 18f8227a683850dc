package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kura-secrets/kura/pkg/keys/companion"
	"github.com/kura-secrets/kura/pkg/keys/kmsproto"
)

// CompanionName is the companion that publishes.
const CompanionName = "kura-kms"

// DefaultTimeout bounds one publish request, network calls and retries
// included.
const DefaultTimeout = 30 * time.Second

// Companion sends publish requests to kura-kms, started on first use and
// shared by every file of a run. It is safe for concurrent use; Close
// ends the process.
type Companion struct {
	// Lookup finds the companion executable; nil means next to kura's
	// own executable, then on PATH.
	Lookup func(name string) (string, error)
	// Stderr receives the companion's standard error.
	Stderr io.Writer
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration

	mu      sync.Mutex
	client  *kmsproto.Client
	started bool
	err     error
}

func (c *Companion) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Companion) start() (*kmsproto.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return c.client, c.err
	}
	c.started = true
	lookup := c.Lookup
	if lookup == nil {
		lookup = companion.LookPath
	}
	path, err := lookup(CompanionName)
	if err != nil {
		c.err = fmt.Errorf("%s is not installed next to kura or on PATH: it writes to Vault and AWS Secrets Manager for kura publish (go install github.com/kura-secrets/kura/cmd/kura-kms@latest, or take it from the release archive)", CompanionName)
		return nil, c.err
	}
	stderr := c.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	c.client, c.err = kmsproto.Start(path, stderr, 15*time.Second)
	return c.client, c.err
}

// Publish writes doc, a JSON object, to the target. The error's message
// names the target.
func (c *Companion) Publish(t Target, doc []byte) (*kmsproto.Published, error) {
	client, err := c.start()
	if err != nil {
		return nil, err
	}
	if !client.Publishes(string(t.Kind)) {
		return nil, fmt.Errorf("%s: this %s cannot publish to %s targets: install the kura-kms of this kura version", t, CompanionName, t.Kind)
	}
	req, err := kmsproto.PublishRequest(t.String(), doc, c.timeout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout()+2*time.Second)
	defer cancel()
	resp, err := client.Call(ctx, req)
	if err != nil {
		if resp.Error != nil {
			return nil, err // the companion's message names the target
		}
		if kmsproto.KindOf(err) == kmsproto.Timeout {
			return nil, fmt.Errorf("%s: %s did not answer within %v", t, CompanionName, c.timeout())
		}
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	if resp.Published == nil {
		return nil, fmt.Errorf("%s: %s answered without saying what it wrote", t, CompanionName)
	}
	return resp.Published, nil
}

// Close ends the companion, if it was started.
func (c *Companion) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		return nil
	}
	err := c.client.Close()
	c.client = nil
	return err
}
