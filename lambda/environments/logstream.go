package environments

import (
	"bytes"
	"sync"

	"github.com/berth/berth/lambda/invoke"
)

// TailSize is how much of an invocation's log LogType Tail returns.
const TailSize = 4096

// maxLine bounds a line kept whole; longer output is cut into lines of this
// size.
const maxLine = 256 << 10

// logStream is one environment's log stream: the process's output (written
// by the launcher) and the pool's START / END / REPORT lines, sent on line by
// line, and the tail of the invocation in progress kept when asked.
type logStream struct {
	pool *Pool
	fn   invoke.Function
	env  string

	mu      sync.Mutex
	partial []byte
	inInv   bool
	keep    bool
	tail    []byte
}

// Write takes the process's output.
func (l *logStream) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			if len(l.partial) > maxLine {
				i = maxLine
			} else {
				break
			}
		}
		l.emit(l.partial[:i])
		l.partial = l.partial[min(i+1, len(l.partial)):]
	}
	if len(l.partial) == 0 {
		l.partial = nil
	}
	return len(p), nil
}

// line writes one of the pool's lines.
func (l *logStream) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emit([]byte(s))
}

// emit sends a line on and keeps it in the tail; l.mu is held.
func (l *logStream) emit(line []byte) {
	if l.inInv && l.keep {
		l.tail = append(l.tail, line...)
		l.tail = append(l.tail, '\n')
		if len(l.tail) > 2*TailSize {
			l.tail = append([]byte(nil), l.tail[len(l.tail)-TailSize:]...)
		}
	}
	if l.pool.cfg.Log != nil {
		l.pool.cfg.Log(l.fn, l.env, bytes.Clone(line))
	}
}

// begin starts an invocation's part of the stream; keep: its tail is kept.
func (l *logStream) begin(keep bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inInv, l.keep, l.tail = true, keep, nil
}

func (l *logStream) begun() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inInv
}

// end ends the invocation's part and returns its last 4 KB when kept.
func (l *logStream) end() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tail
	if len(t) > TailSize {
		t = t[len(t)-TailSize:]
	}
	l.inInv, l.keep, l.tail = false, false, nil
	if len(t) == 0 {
		return nil
	}
	return bytes.Clone(t)
}
