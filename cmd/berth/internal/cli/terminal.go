package cli

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

// Terminal is the terminal berth runs on, for exec's TTY.
type Terminal interface {
	// MakeRaw puts the terminal in raw mode (keys, Ctrl-C included, go to
	// the command as they are typed) until restore is called.
	MakeRaw() (restore func(), err error)
	// Size is the terminal's size in characters.
	Size() (rows, cols uint32, err error)
	// Resized delivers a value when the terminal's size changes, until stop
	// is called.
	Resized() (changes <-chan struct{}, stop func())
}

// OSTerminal is f as a Terminal: nil when f is not a terminal.
func OSTerminal(f *os.File) Terminal {
	if !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return osTerminal{fd: int(f.Fd())}
}

type osTerminal struct{ fd int }

func (t osTerminal) MakeRaw() (func(), error) {
	old, err := term.MakeRaw(t.fd)
	if err != nil {
		return nil, err
	}
	return func() { term.Restore(t.fd, old) }, nil
}

func (t osTerminal) Size() (uint32, uint32, error) {
	cols, rows, err := term.GetSize(t.fd)
	return uint32(rows), uint32(cols), err
}

// Resized relays SIGWINCH; signal.Notify never blocks on the channel, and
// one pending change is all exec needs.
func (t osTerminal) Resized() (<-chan struct{}, func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sig:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() { signal.Stop(sig); close(done) }
}
