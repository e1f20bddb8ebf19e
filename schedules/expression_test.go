package schedules

import (
	"errors"
	"testing"
	"time"
)

func mustParse(t *testing.T, s string, at bool) Expression {
	t.Helper()
	e, err := Parse("ScheduleExpression", s, at)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return e
}

// TestCronNext: AWS's documented cron examples and their next slots
// (AWS's day-of-week 1-7 is SUN-SAT).
func TestCronNext(t *testing.T) {
	from := time.Date(2026, 12, 7, 12, 1, 0, 0, time.UTC) // a Monday
	cases := []struct{ expr, want string }{
		{"cron(0 10 * * ? *)", "2026-12-08T10:00:00Z"},           // 10:15 AM every day
		{"cron(15 12 * * ? *)", "2026-12-07T12:15:00Z"},          // 12:15 PM every day
		{"cron(0 18 ? * MON-FRI *)", "2026-12-07T18:00:00Z"},     // 6 PM Monday to Friday
		{"cron(0 8 1 * ? *)", "2027-01-01T08:00:00Z"},            // 8 AM on the first of the month
		{"cron(0/15 * * * ? *)", "2026-12-07T12:15:00Z"},         // every 15 minutes
		{"cron(0/10 * ? * MON-FRI *)", "2026-12-07T12:10:00Z"},   // every 10 minutes weekdays
		{"cron(0/5 8-17 ? * MON-FRI *)", "2026-12-07T12:05:00Z"}, // every 5 minutes 8-17 weekdays
		{"cron(0 9 ? * 2#1 *)", "2027-01-04T09:00:00Z"},          // 9 AM on the first Monday
		{"cron(0 9 ? * 1 *)", "2026-12-13T09:00:00Z"},            // 1 = Sunday
		{"cron(0 9 ? * 7 *)", "2026-12-12T09:00:00Z"},            // 7 = Saturday
		{"cron(0 9 ? * 2-3 *)", "2026-12-08T09:00:00Z"},          // Monday-Tuesday
		{"cron(0 9 ? * 6L *)", "2026-12-25T09:00:00Z"},           // last Friday
		{"cron(0 9 L * ? *)", "2026-12-31T09:00:00Z"},            // last day of the month
		{"cron(0 9 15W * ? *)", "2026-12-15T09:00:00Z"},          // weekday nearest the 15th
		{"cron(30 0 1 1,6,12 ? 2027)", "2027-01-01T00:30:00Z"},   // in a given year
	}
	for _, c := range cases {
		e := mustParse(t, c.expr, false)
		got, ok := e.Next(from, from, time.UTC)
		if !ok || got.Format(time.RFC3339) != c.want {
			t.Errorf("%s: next %v (%v), want %s", c.expr, got, ok, c.want)
		}
	}
}

func TestTimezone(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tz data")
	}
	e := mustParse(t, "cron(0 9 * * ? *)", false)
	from := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	got, _ := e.Next(from, from, loc)
	if got.UTC().Format(time.RFC3339) != "2026-12-07T14:00:00Z" {
		t.Fatalf("got %v", got.UTC())
	}
}

func TestRateAndAt(t *testing.T) {
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := mustParse(t, "rate(5 minutes)", false)
	if e.Rate != 5*time.Minute {
		t.Fatal(e.Rate)
	}
	if n, _ := e.Next(anchor.Add(7*time.Minute), anchor, nil); !n.Equal(anchor.Add(10 * time.Minute)) {
		t.Fatal(n)
	}
	// Missed slots: one fires, the latest.
	if s, ok := e.Due(anchor.Add(5*time.Minute), anchor.Add(33*time.Minute), anchor, nil); !ok || !s.Equal(anchor.Add(30*time.Minute)) {
		t.Fatal(s, ok)
	}
	if _, ok := e.Due(anchor.Add(30*time.Minute), anchor.Add(33*time.Minute), anchor, nil); ok {
		t.Fatal("slot fired twice")
	}
	c := mustParse(t, "cron(0 * * * ? *)", false)
	if s, ok := c.Due(anchor, anchor.Add(5*time.Hour+time.Minute), anchor, nil); !ok || !s.Equal(anchor.Add(5*time.Hour)) {
		t.Fatal(s, ok)
	}
	a := mustParse(t, "at(2026-03-01T10:00:00)", true)
	if s, ok := a.Due(anchor, anchor.AddDate(0, 3, 0), anchor, nil); !ok || s.Format(time.RFC3339) != "2026-03-01T10:00:00Z" {
		t.Fatal(s, ok)
	}
	if _, ok := a.Due(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), anchor.AddDate(1, 0, 0), anchor, nil); ok {
		t.Fatal("at fired twice")
	}
}

// TestBadExpressions: each refusal names the part that is wrong.
func TestBadExpressions(t *testing.T) {
	cases := []struct{ expr, part string }{
		{"rate(0 minutes)", "rate's value"},
		{"rate(x minutes)", "rate's value"},
		{"rate(5 weeks)", "rate's unit"},
		{"rate(1 minutes)", "rate's unit"},
		{"rate(5 minute)", "rate's unit"},
		{"cron(0 10 * * *)", "cron's fields"},
		{"cron(0 10 * * * *)", "cron's day-of-month"},
		{"cron(0 10 ? * ? *)", "cron's day-of-month"},
		{"cron(60 10 * * ? *)", "cron's minutes"},
		{"cron(0 24 * * ? *)", "cron's hours"},
		{"cron(0 1 32 * ? *)", "cron's day-of-month"},
		{"cron(0 1 ? 13 * *)", "cron's month"},
		{"cron(0 1 ? * 8 *)", "cron's day-of-week"},
		{"cron(0 1 ? * FUN *)", "cron's day-of-week"},
		{"cron(0 1 ? * 1 1969)", "cron's year"},
		{"cron(0 1 W * ? *)", "cron's fields"},
		{"cron(0 1 * * ? *) x", "expression"},
		{"at(2026-03-01T10:00:00)", "expression"},
		{"every day", "expression"},
	}
	for _, c := range cases {
		_, err := Parse("ScheduleExpression", c.expr, false)
		var ee *ExprError
		if !errors.As(err, &ee) || ee.Part != c.part || ee.Field != "ScheduleExpression" {
			t.Errorf("%s: %v, want part %q", c.expr, err, c.part)
		}
	}
	if _, err := Parse("ScheduleExpression", "at(2026-13-01T10:00:00)", true); err == nil {
		t.Error("bad at accepted")
	}
}

// FuzzParse: the adapter over cronexpr never panics, and an accepted
// expression gives its next slot without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"rate(5 minutes)", "cron(0/15 8-17 ? * MON-FRI *)", "cron(0 9 ? * 6L *)", "cron(0 9 ? * 2#1 *)",
		"cron(0 9 15W * ? *)", "cron(0 9 L * ? 2030)", "at(2026-03-01T10:00:00)"} {
		f.Add(s)
	}
	from := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse("ScheduleExpression", s, true)
		if err != nil {
			return
		}
		e.Next(from, from, time.UTC)
		e.Due(from, from.Add(48*time.Hour), from, time.UTC)
	})
}
