package store

import (
	"context"
	"fmt"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func appendEventCmd(detail string) *berthv1.Command {
	return &berthv1.Command{At: 42, Change: &berthv1.Command_AppendEventLog{AppendEventLog: &berthv1.AppendEventLogCommand{
		Event: &berthv1.EventLogRecord{Id: detail, Source: "aws.ecr", DetailType: "ECR Image Action", Detail: detail},
	}}}
}

// TestEventLog: appended events are numbered, watched, read back in order
// from a position, kept across a reopen, and only the newest are kept.
func TestEventLog(t *testing.T) {
	old := maxEventLog
	maxEventLog = 3
	t.Cleanup(func() { maxEventLog = old })
	s, path := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := s.Watch(ctx)
	for i := 1; i <= 5; i++ {
		ev := mustApply(t, s, appendEventCmd(fmt.Sprint(i))).(*berthv1.EventLogRecord)
		if ev.GetSequence() != uint64(i) || ev.GetTime() != 42 {
			t.Errorf("append %d = %v", i, ev)
		}
		got := <-w
		if got.Kind != KindEventLog || got.Key != fmt.Sprint(i) || got.Value.(*berthv1.EventLogRecord).GetDetail() != fmt.Sprint(i) {
			t.Errorf("watch saw %+v", got)
		}
	}
	_, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_AppendEventLog{AppendEventLog: &berthv1.AppendEventLogCommand{
		Event: &berthv1.EventLogRecord{Source: "aws.ecr"}}}})
	if err == nil || apierr.From(err).Reason != ReasonEventLogInvalid {
		t.Errorf("an event without a detail-type: %v", err)
	}
	check := func(s *Store, after uint64, want string) {
		t.Helper()
		evs, err := s.EventLog(after, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, ev := range evs {
			got = append(got, ev.GetSequence())
		}
		if fmt.Sprint(got) != want {
			t.Errorf("EventLog(%d) = %v, want %s", after, got, want)
		}
	}
	check(s, 0, "[3 4 5]")
	check(s, 3, "[4 5]")
	check(s, 5, "[]")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s, 0, "[3 4 5]")
	if ev := mustApply(t, s, appendEventCmd("6")).(*berthv1.EventLogRecord); ev.GetSequence() != 6 {
		t.Errorf("after a reopen the next sequence is %d, want 6", ev.GetSequence())
	}
	check(s, 0, "[4 5 6]")
}
