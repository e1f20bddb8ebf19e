package schedulerapi

import (
	"context"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/store/storetest"
)

// queue takes every target and queues nothing.
type queue struct{}

func (queue) DeliveryWrite(*berthv1.EventDeliveryRecord) (*berthv1.DocumentWrite, error) {
	return nil, nil
}
func (queue) CheckTarget(context.Context, string, *berthv1.EventsTarget) error { return nil }
func (queue) Wake()                                                            {}

// Scheduler's texts for bad input, word for word, as its exceptions carry
// them; where berth knows more (the expression's part and rule, the
// member), it is in Field and Detail beside the text.
func TestErrorTexts(t *testing.T) {
	s := New(Config{Store: storetest.Open(t), Queue: queue{}})
	ctx := context.Background()
	target := &berthv1.SchedulerTarget{Arn: "arn:aws:lambda:us-east-1:000000000000:function:cron", RoleArn: "arn:aws:iam::000000000000:role/scheduler"}
	off := &berthv1.SchedulerFlexibleTimeWindow{Mode: "OFF"}
	create := func(name, group, expr, tz string) func() error {
		return func() error {
			_, err := s.CreateSchedule(ctx, &berthv1.CreateScheduleRequest{Name: name, GroupName: group, ScheduleExpression: expr,
				ScheduleExpressionTimezone: tz, FlexibleTimeWindow: off, Target: target})
			return err
		}
	}
	update := func(name, expr, tz string) func() error {
		return func() error {
			_, err := s.UpdateSchedule(ctx, &berthv1.UpdateScheduleRequest{Name: name, ScheduleExpression: expr,
				ScheduleExpressionTimezone: tz, FlexibleTimeWindow: off, Target: target})
			return err
		}
	}
	if err := create("dup", "", "rate(1 hour)", "")(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateScheduleGroup(ctx, &berthv1.CreateScheduleGroupRequest{Name: "jobs"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		call      func() error
		exception string
		message   string
		field     string // "": the error names no member
		detail    string // in berth's words beside the text
	}{
		{"cron with two days", create("x", "", "cron(0 2 * * * *)", ""), "ValidationException",
			"Invalid Schedule Expression cron(0 2 * * * *).", "ScheduleExpression", "cron's day-of-month: one of day-of-month and day-of-week must be ?"},
		{"cron with five fields", create("x", "", "cron(0 2 * * ?)", ""), "ValidationException",
			"Invalid Schedule Expression cron(0 2 * * ?).", "ScheduleExpression", "cron's fields: 5 fields, want 6"},
		{"cron's minutes out of range", create("x", "", "cron(61 2 * * ? *)", ""), "ValidationException",
			"Invalid Schedule Expression cron(61 2 * * ? *).", "ScheduleExpression", "cron's minutes: 61 is outside 0-59"},
		{"rate with a singular unit", create("x", "", "rate(2 minute)", ""), "ValidationException",
			"Invalid Schedule Expression rate(2 minute).", "ScheduleExpression", "rate's unit: a value above 1 takes the plural unit"},
		{"rate of zero", create("x", "", "rate(0 hours)", ""), "ValidationException",
			"Invalid Schedule Expression rate(0 hours).", "ScheduleExpression", "rate's value"},
		{"at a day that is not", create("x", "", "at(2026-02-30T10:00:00)", ""), "ValidationException",
			"Invalid Schedule Expression at(2026-02-30T10:00:00).", "ScheduleExpression", "at's time"},
		{"no kind of expression", create("x", "", "every day", ""), "ValidationException",
			"Invalid Schedule Expression every day.", "ScheduleExpression", "expression: \"every day\" is not rate(value unit), cron(fields) or at("},
		{"update with a bad expression", update("dup", "rate(1 fortnight)", ""), "ValidationException",
			"Invalid Schedule Expression rate(1 fortnight).", "ScheduleExpression", "rate's unit"},
		{"a time zone that is not", create("x", "", "rate(1 hour)", "Mars/Olympus"), "ValidationException",
			"Invalid ScheduleExpressionTimezone Mars/Olympus.", "ScheduleExpressionTimezone", "is not a time zone of the IANA database"},
		{"the server's local time", create("x", "", "rate(1 hour)", "Local"), "ValidationException",
			"Invalid ScheduleExpressionTimezone Local.", "ScheduleExpressionTimezone", "is not a time zone of the IANA database"},
		{"update to a bad time zone", update("dup", "rate(1 hour)", "Europe/Atlantis"), "ValidationException",
			"Invalid ScheduleExpressionTimezone Europe/Atlantis.", "ScheduleExpressionTimezone", "IANA"},
		{"get a missing schedule", func() error {
			_, err := s.GetSchedule(ctx, &berthv1.GetScheduleRequest{Name: "nope"})
			return err
		}, "ResourceNotFoundException", "Schedule nope does not exist.", "", ""},
		{"update a missing schedule", update("nope", "rate(1 hour)", ""), "ResourceNotFoundException", "Schedule nope does not exist.", "", ""},
		{"delete a missing schedule", func() error {
			_, err := s.DeleteSchedule(ctx, &berthv1.DeleteScheduleRequest{Name: "nope", GroupName: "jobs"})
			return err
		}, "ResourceNotFoundException", "Schedule nope does not exist.", "", ""},
		{"a schedule in a missing group", create("x", "nope", "rate(1 hour)", ""), "ResourceNotFoundException", "Schedule group nope does not exist.", "", ""},
		{"get a missing group", func() error {
			_, err := s.GetScheduleGroup(ctx, &berthv1.GetScheduleGroupRequest{Name: "nope"})
			return err
		}, "ResourceNotFoundException", "Schedule group nope does not exist.", "", ""},
		{"delete a missing group", func() error {
			_, err := s.DeleteScheduleGroup(ctx, &berthv1.DeleteScheduleGroupRequest{Name: "nope"})
			return err
		}, "ResourceNotFoundException", "Schedule group nope does not exist.", "", ""},
		{"a second schedule of a name", create("dup", "", "rate(2 hours)", ""), "ConflictException", "Schedule dup already exists.", "", ""},
		{"a second group of a name", func() error {
			_, err := s.CreateScheduleGroup(ctx, &berthv1.CreateScheduleGroupRequest{Name: "jobs"})
			return err
		}, "ConflictException", "Schedule group jobs already exists.", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			if err == nil {
				t.Fatal("taken")
			}
			e := apierr.From(err)
			if name, _ := Exception(e); name != c.exception || e.Message != c.message {
				t.Fatalf("%s %q; want %s %q", name, e.Message, c.exception, c.message)
			}
			if e.Field != c.field || !strings.Contains(e.Detail, c.detail) || (c.detail != "" && !strings.HasPrefix(e.Detail, c.field+": ")) {
				t.Fatalf("field %q detail %q; want field %q and a detail with %q", e.Field, e.Detail, c.field, c.detail)
			}
		})
	}
}
