package kmsproto

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Client talks to one companion process.
type Client struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	types map[string]bool
	// publish holds the target schemes the companion publishes to.
	publish map[string]bool

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan Response
	dead    error // set when the companion stopped answering
	done    chan struct{}
}

// Start runs a companion and checks that it speaks the protocol. Its
// standard error goes to stderr (it may ask for input there, as a cloud
// login would).
func Start(path string, stderr io.Writer, timeout time.Duration) (*Client, error) {
	cmd := exec.Command(path)
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	c := &Client{name: path, cmd: cmd, stdin: stdin, pending: map[uint64]chan Response{}, done: make(chan struct{})}
	go c.read(stdout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := c.Call(ctx, Request{Op: OpHello, Version: Version})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s does not answer the key-source protocol: %w", path, err)
	}
	if resp.Version != Version {
		c.Close()
		return nil, fmt.Errorf("%s speaks protocol version %d, kura speaks %d: install matching versions", path, resp.Version, Version)
	}
	c.types = map[string]bool{}
	for _, t := range resp.Types {
		c.types[t] = true
	}
	c.publish = map[string]bool{}
	for _, t := range resp.Publish {
		c.publish[t] = true
	}
	return c, nil
}

// Publishes reports whether the companion can publish to targets of a
// scheme, such as "vault-kv".
func (c *Client) Publishes(scheme string) bool { return c.publish[scheme] }

// Handles reports whether the companion handles a key type.
func (c *Client) Handles(t string) bool { return c.types[t] }

func (c *Client) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	for sc.Scan() {
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &resp); err != nil {
			continue
		}
		c.mu.Lock()
		ch := c.pending[resp.ID]
		delete(c.pending, resp.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	c.mu.Lock()
	c.dead = errors.New("the companion exited")
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.done)
}

// Call sends a request and waits for its answer or the context's end.
func (c *Client) Call(ctx context.Context, req Request) (Response, error) {
	ch := make(chan Response, 1)
	c.mu.Lock()
	if c.dead != nil {
		c.mu.Unlock()
		return Response{}, c.dead
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	line, err := marshalLine(req)
	if err == nil {
		_, err = c.stdin.Write(line)
	}
	c.mu.Unlock()
	if err != nil {
		return Response{}, fmt.Errorf("sending to the companion: %w", err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return Response{}, errors.New("the companion exited")
		}
		if resp.Error != nil {
			return resp, resp.Error
		}
		return resp, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
		return Response{}, Errorf(Timeout, "the companion did not answer in time")
	}
}

// Close ends the companion: it sees the end of its input and exits; one
// that does not is killed after a grace period.
func (c *Client) Close() error {
	c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		c.cmd.Process.Signal(os.Kill)
	}
	return c.cmd.Wait()
}
