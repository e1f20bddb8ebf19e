package dispatcher

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
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
	s := storetest.Open(t)
	key := instanceKey("default", "i1")
	for _, shuttingDown := range []bool{false, true} {
		d := New(Config{Store: s, TTL: 20 * time.Millisecond})
		d.offline[key] = departure{lostAt: time.Now().Add(-time.Hour), away: time.Hour}
		if shuttingDown {
			d.CutAll()
		}
		reapFor(d, 100*time.Millisecond)
		if _, kept := d.offline[key]; kept != shuttingDown {
			t.Errorf("shutting down %v: instance offline past the TTL kept %v", shuttingDown, kept)
		}
	}
}

// TestRestartGrace: the agents of a control plane that starts have the restart
// grace, not the TTL, to come back; past it their tasks are lost, with a
// reason that says how long they were away.
func TestRestartGrace(t *testing.T) {
	s := storetest.WithCluster(t, "default")
	storetest.Apply(t, s, &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
		Cluster: "default", Id: "i1", Registered: &berthv1.Resources{Cpu: 1024, Memory: 2048},
		Instance: &berthv1.ContainerInstance{Ec2InstanceId: "ec2-i1"},
	}}})
	storetest.Apply(t, s, &berthv1.Command{Change: &berthv1.Command_PlaceTasks{PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: "default", Tasks: []*berthv1.TaskRecord{{
		Id: "t1", InstanceId: "i1",
		Task:        &berthv1.Task{TaskArn: "arn:task/t1", LastStatus: store.TaskRunning, DesiredStatus: store.TaskRunning},
		Reservation: &berthv1.Resources{Cpu: 256, Memory: 256},
	}}}}})

	const ttl = 20 * time.Millisecond
	d := New(Config{Store: s, TTL: ttl, RestartGrace: time.Hour})
	d.markAllOffline()
	reapFor(d, 10*ttl)
	if task, _ := s.Task("default", "t1"); task.GetTask().GetLastStatus() != store.TaskRunning {
		t.Fatalf("within the restart grace the task became %s (%s)", task.GetTask().GetLastStatus(), task.GetTask().GetStoppedReason())
	}

	d = New(Config{Store: s, TTL: ttl, RestartGrace: 3 * ttl})
	d.markAllOffline()
	reapFor(d, 10*ttl)
	task, _ := s.Task("default", "t1")
	if got, reason := task.GetTask().GetDesiredStatus(), task.GetTask().GetStoppedReason(); got != store.TaskStopped || !strings.Contains(reason, "disconnected for more than 60ms") {
		t.Fatalf("past the restart grace the task wants %s (%q), want STOPPED, lost after 60ms", got, reason)
	}
}

// reapFor runs d's reaper for dur.
func reapFor(d *Dispatcher, dur time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	d.reap(ctx)
}
