//go:build unix

package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestFIFOFeedStop checks that stopping a FIFO nobody read returns, at
// whatever point the writer is: not yet in its open, waiting in it, or
// blocked on a full pipe. Stopping at once used to hang when the writer
// reached its open after the stop had come and gone.
func TestFIFOFeedStop(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("x"), 1<<20) // more than a pipe holds
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 300 {
			data := []byte("secret")
			if i%3 == 2 {
				data = bytes.Clone(big)
			}
			f, err := newFIFOFeed(filepath.Join(dir, "fifo"), data)
			if err != nil {
				t.Error(err)
				return
			}
			if i%3 == 1 {
				// Let the writer get into its open first.
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			}
			f.stop()
			if err := os.Remove(f.path); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("stopping an unread FIFO hangs")
	}

	// A reader still gets the whole plaintext.
	p := filepath.Join(dir, "read")
	f, err := newFIFOFeed(p, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	f.stop()
	if err != nil || string(got) != "secret" {
		t.Fatalf("read %q, %v", got, err)
	}
}
