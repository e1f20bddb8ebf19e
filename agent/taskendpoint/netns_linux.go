package taskendpoint

import (
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// ListenInNetns opens a TCP listener on addr inside the network namespace of
// process pid. The socket stays in that namespace once made, whatever thread
// serves it. The calling goroutine's OS thread enters the namespace and comes
// back; a thread that cannot come back is not unlocked, so that it ends with
// the goroutine instead of serving others in the wrong namespace.
func ListenInNetns(pid int, addr string) (net.Listener, error) {
	target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("network namespace of process %d: %w", pid, err)
	}
	defer target.Close()

	type result struct {
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() { // a goroutine of its own, so that a thread lost to the namespace takes no caller with it
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("own network namespace: %w", err)}
			return
		}
		defer self.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter the network namespace of process %d: %w", pid, err)}
			return
		}
		l, lerr := net.Listen("tcp", addr)
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the thread exits with this goroutine.
			if l != nil {
				l.Close()
			}
			done <- result{err: fmt.Errorf("leave the network namespace of process %d: %w", pid, err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{l: l, err: lerr}
	}()
	r := <-done
	return r.l, r.err
}

// netnsSupported reports whether this platform can enter namespaces.
const netnsSupported = true
