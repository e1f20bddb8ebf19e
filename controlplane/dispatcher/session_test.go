package dispatcher

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
)

// TestPendingQueue checks what a session's loop is handed: the changes in
// order, the full set instead once more than changeBuffer wait, the control
// messages up to controlBuffer, and the cut, which stays.
func TestPendingQueue(t *testing.T) {
	s := &session{wake: make(chan struct{}, 1)}
	woken := func() bool {
		select {
		case <-s.wake:
			return true
		default:
			return false
		}
	}
	if woken() {
		t.Fatal("woken with nothing pending")
	}
	a, b := &berthv1.TaskRecord{Id: "a"}, &berthv1.TaskRecord{Id: "b"}
	s.notify(a)
	s.notify(b)
	if !woken() || woken() {
		t.Fatal("two notifications did not wake the loop exactly once")
	}
	if p := s.take(); p.resync || p.cut || len(p.changes) != 2 || p.changes[0] != a || p.changes[1] != b {
		t.Fatalf("took %+v", p)
	}
	if p := s.take(); p.resync || len(p.changes) != 0 {
		t.Fatalf("taken twice: %+v", p)
	}

	for i := range changeBuffer + 1 {
		s.notify(&berthv1.TaskRecord{Id: fmt.Sprint(i)})
	}
	s.notify(a) // after the overflow: covered by the full set too
	if p := s.take(); !p.resync || len(p.changes) != 0 {
		t.Fatalf("after %d changes: resync %v with %d changes", changeBuffer+2, p.resync, len(p.changes))
	}

	for i := range controlBuffer {
		if !s.sendControl(&berthv1.ControlPlaneMessage{}) {
			t.Fatalf("control message %d refused", i)
		}
	}
	if s.sendControl(&berthv1.ControlPlaneMessage{}) {
		t.Fatal("a control message past controlBuffer was taken")
	}
	if p := s.take(); len(p.control) != controlBuffer {
		t.Fatalf("%d control messages taken", len(p.control))
	}

	woken()
	s.cutOff()
	s.cutOff()
	if !woken() || !s.take().cut || !s.take().cut {
		t.Fatal("the cut was not kept")
	}
}

// TestNoTasksLostWhileShuttingDown checks that after CutAll the reaper
// declares no instance lost, however long the shutdown takes; before it, an
// instance offline past the TTL is.
func TestNoTasksLostWhileShuttingDown(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reapFor := func(d *Dispatcher) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		d.reap(ctx)
	}
	key := instanceKey("default", "i1")
	for _, shuttingDown := range []bool{false, true} {
		d := New(Config{Store: s, TTL: 20 * time.Millisecond})
		d.offline[key] = time.Now().Add(-time.Hour)
		if shuttingDown {
			d.CutAll()
		}
		reapFor(d)
		if _, kept := d.offline[key]; kept != shuttingDown {
			t.Errorf("shutting down %v: instance offline past the TTL kept %v", shuttingDown, kept)
		}
	}
}
