package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth/berth/agent/runtime"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader on other goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logs reads container id's output so far.
func (h Harness) logs(t *testing.T, id string, opts runtime.LogOptions) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := h.Runtime.Logs(t.Context(), id, opts, &out, &errOut); err != nil {
		t.Fatalf("Logs(%s, %+v): %v", id, opts, err)
	}
	return out.String(), errOut.String()
}

// testLogs: a container's stdout is read back whole, or its last lines with Tail;
// an unknown container is ErrNotFound.
func testLogs(t *testing.T, h Harness) {
	id := h.run(t, h.spec("lines", "3"))
	deadline := time.Now().Add(timeout)
	want := "line 1\nline 2\nline 3\n"
	for {
		stdout, stderr := h.logs(t, id, runtime.LogOptions{})
		if stdout == want && stderr == "" {
			break
		}
		if time.Now().After(deadline) || len(stdout) > len(want) {
			t.Fatalf("logs = %q, stderr %q; want %q and no stderr", stdout, stderr, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if stdout, _ := h.logs(t, id, runtime.LogOptions{Tail: 1}); stdout != "line 3\n" {
		t.Errorf("logs with tail 1 = %q, want %q", stdout, "line 3\n")
	}
	err := h.Runtime.Logs(t.Context(), "no-such-container", runtime.LogOptions{}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Logs(unknown container) = %v, want ErrNotFound", err)
	}
}

// testLogsFollow: a follower gets output printed later, ends when its context does,
// and ends by itself when the container exits.
func testLogsFollow(t *testing.T, h Harness) {
	id := h.run(t, h.spec("lines", "3", "300ms"))
	follow := func(ctx context.Context) (*syncBuffer, <-chan error) {
		out, done := &syncBuffer{}, make(chan error, 1)
		go func() { done <- h.Runtime.Logs(ctx, id, runtime.LogOptions{Follow: true}, out, out) }()
		return out, done
	}
	waitOutput := func(out *syncBuffer, want string) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("followed output %q has no %q after %v", out.String(), want, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	out, done := follow(ctx)
	waitOutput(out, "line 3\n")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("followed Logs after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(timeout):
		t.Fatal("followed Logs did not end when its context did")
	}

	out, done = follow(t.Context())
	waitOutput(out, "line 3\n")
	if err := h.Runtime.Stop(t.Context(), id, time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("followed Logs at exit = %v, want nil", err)
		}
	case <-time.After(timeout):
		t.Fatal("followed Logs did not end when the container exited")
	}
	if got, want := out.String(), "line 1\nline 2\nline 3\n"; got != want {
		t.Errorf("followed output = %q, want %q", got, want)
	}
}
