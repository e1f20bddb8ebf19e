package schedulerapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/schedules"
	"github.com/berth/berth/store"
)

// Run fires the schedules on the caller's goroutine until ctx ends: every
// Tick of the clock, and when a schedule changes.
func (s *Server) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	for {
		if err := s.fire(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("scheduler: fire schedules", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		}
	}
}

func secs(f float64) time.Time { return time.Unix(0, int64(f*1e9)) }

func toSecs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// fire fires the due slot of every enabled schedule.
func (s *Server) fire(ctx context.Context) error {
	var due []store.Stored[*berthv1.ScheduleRecord]
	if err := s.schedules.List("", "", func(r store.Stored[*berthv1.ScheduleRecord]) bool {
		if r.Value.GetState() == "ENABLED" {
			due = append(due, r)
		}
		return true
	}); err != nil {
		return err
	}
	for _, r := range due {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.fireOne(ctx, r); err != nil {
			s.cfg.Logger.Warn("scheduler: fire", slog.String("schedule", r.Key), slog.Any("err", err))
		}
	}
	return nil
}

// Slot decides a schedule's due slot: the latest in (last fired, now],
// within StartDate and EndDate; done says no slot will come after it.
func Slot(rec *berthv1.ScheduleRecord, last *time.Time, now time.Time) (slot time.Time, ok, done bool, err error) {
	expr, err := schedules.Parse("ScheduleExpression", rec.GetScheduleExpression(), true)
	if err != nil {
		return time.Time{}, false, false, err
	}
	loc := time.UTC
	if tz := rec.GetScheduleExpressionTimezone(); tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return time.Time{}, false, false, err
		}
	}
	anchor := secs(rec.GetCreationDate())
	if rec.StartDate != nil {
		anchor = secs(rec.GetStartDate())
	}
	from := anchor
	if expr.Kind != schedules.KindRate {
		// cron and at slots may fall at the anchor itself.
		from = anchor.Add(-time.Nanosecond)
	}
	if last != nil && last.After(from) {
		from = *last
	}
	until := now
	if rec.EndDate != nil && secs(rec.GetEndDate()).Before(until) {
		until = secs(rec.GetEndDate())
	}
	slot, ok = expr.Due(from, until, anchor, loc)
	after := from
	if ok {
		after = slot
	}
	next, more := expr.Next(after, anchor, loc)
	done = !more || (rec.EndDate != nil && next.After(secs(rec.GetEndDate())))
	return slot, ok, done, nil
}

func (s *Server) fireOne(ctx context.Context, r store.Stored[*berthv1.ScheduleRecord]) error {
	slotRec, haveSlot, err := s.slots.Get(r.Key)
	if err != nil {
		return err
	}
	var last *time.Time
	if haveSlot {
		t := secs(slotRec.Value.GetSlot())
		last = &t
	}
	now := s.cfg.Now()
	slot, ok, done, err := Slot(r.Value, last, now)
	if err != nil {
		return err
	}
	deleteAfter := r.Value.GetActionAfterCompletion() == "DELETE"
	if !ok {
		if done && deleteAfter && haveSlot {
			writes, err := s.deleteWrites(r)
			if err != nil {
				return err
			}
			_, err = s.cfg.Store.WriteDocuments(ctx, s.at(), writes...)
			return ignoreStale(err)
		}
		return nil
	}
	rec := r.Value
	execID := newID()
	input := rec.GetTarget().GetInput()
	if input == "" && strings.HasPrefix(rec.GetTarget().GetArn(), "arn:aws:lambda:") {
		input = "{}"
	}
	input = strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", rec.GetArn(),
		"<aws.scheduler.scheduled-time>", slot.UTC().Format(time.RFC3339),
		"<aws.scheduler.execution-id>", execID,
		"<aws.scheduler.attempt-number>", "1",
	).Replace(input)
	at := toSecs(slot)
	if w := rec.GetFlexibleTimeWindow(); w.GetMode() == "FLEXIBLE" {
		at += spread(r.Key, slot, time.Duration(w.GetMaximumWindowInMinutes())*time.Minute).Seconds()
	}
	dw, err := s.cfg.Queue.DeliveryWrite(&berthv1.EventDeliveryRecord{
		Source: "schedule/" + r.Key, SourceArn: rec.GetArn(), Target: EventsTarget(rec.GetTarget()), Input: []byte(input),
		EventId: execID, EventTime: toSecs(slot), NextAttemptAt: at, Principal: "scheduler.amazonaws.com",
	})
	if err != nil {
		return err
	}
	writes := []*berthv1.DocumentWrite{dw}
	if done && deleteAfter {
		dws, err := s.deleteWrites(r)
		if err != nil {
			return err
		}
		writes = append(writes, dws...)
	} else {
		sw, err := s.slots.PutWrite(r.Key, &berthv1.EventSlotRecord{Slot: toSecs(slot)}, slotRec.Generation)
		if err != nil {
			return err
		}
		// The schedule's generation guards the write: a schedule changed
		// or deleted meanwhile is looked at again.
		same, err := s.schedules.PutWrite(r.Key, rec, r.Generation)
		if err != nil {
			return err
		}
		writes = append(writes, sw, same)
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return ignoreStale(err)
	}
	s.cfg.Logger.Info("scheduler: schedule fired", slog.String("schedule", r.Key), slog.Time("slot", slot), slog.Bool("deleted", done && deleteAfter))
	s.cfg.Queue.Wake()
	return nil
}

func ignoreStale(err error) error {
	if apierr.HasReason(err, store.ReasonStale) {
		return nil
	}
	return err
}

// spread is a FLEXIBLE schedule's delay within its window for a slot:
// fixed for the slot (so a restart keeps it), spread over the window.
func spread(key string, slot time.Time, window time.Duration) time.Duration {
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key + "@" + strconv.FormatInt(slot.Unix(), 10)))
	return time.Duration(h.Sum64() % uint64(window))
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
