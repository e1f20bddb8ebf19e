// Package schedules is the schedule expressions of EventBridge rules and
// EventBridge Scheduler (rate(...), cron(...) in AWS's six fields, at(...))
// and the decision of which slot is due: pure, no I/O, no goroutines, no
// clock (callers pass the time). AWS's cron is adapted to
// github.com/hashicorp/cronexpr, which does the parsing and the calendar.
// Package schedules/schedulerapi serves EventBridge Scheduler's API and
// runs the schedules.
package schedules

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// Kinds of expression.
const (
	KindRate = "rate"
	KindCron = "cron"
	KindAt   = "at"
)

// Expression is a parsed schedule expression.
type Expression struct {
	Kind string
	// Rate is rate(...)'s period.
	Rate time.Duration
	// At is at(...)'s wall time (its location is the schedule's time zone,
	// applied by Next).
	At   time.Time
	cron *cronexpr.Expression
}

// ExprError is an expression AWS refuses: Field is the member
// ("ScheduleExpression"), Part the part of it that is wrong ("rate's
// unit", "cron's day-of-week").
type ExprError struct {
	Field, Part, Message string
}

func (e *ExprError) Error() string {
	return fmt.Sprintf("Parameter %s is not valid: %s: %s", e.Field, e.Part, e.Message)
}

var (
	rateRE = regexp.MustCompile(`^rate\(\s*([^\s)]+)\s+([^\s)]+)\s*\)$`)
	cronRE = regexp.MustCompile(`^cron\((.*)\)$`)
	atRE   = regexp.MustCompile(`^at\((.*)\)$`)
)

// Parse parses a schedule expression; allowAt admits at(...)
// (EventBridge Scheduler's one-time schedules). field names the member in
// errors.
func Parse(field, expr string, allowAt bool) (Expression, error) {
	bad := func(part, format string, args ...any) (Expression, error) {
		return Expression{}, &ExprError{Field: field, Part: part, Message: fmt.Sprintf(format, args...)}
	}
	expr = strings.TrimSpace(expr)
	if m := rateRE.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return bad("rate's value", "%q is not a positive whole number", m[1])
		}
		var unit time.Duration
		switch strings.TrimSuffix(m[2], "s") {
		case "minute":
			unit = time.Minute
		case "hour":
			unit = time.Hour
		case "day":
			unit = 24 * time.Hour
		default:
			return bad("rate's unit", "%q is not minute(s), hour(s) or day(s)", m[2])
		}
		plural := strings.HasSuffix(m[2], "s")
		if n == 1 && plural {
			return bad("rate's unit", "a value of 1 takes the singular unit (%s)", strings.TrimSuffix(m[2], "s"))
		}
		if n > 1 && !plural {
			return bad("rate's unit", "a value above 1 takes the plural unit (%ss)", m[2])
		}
		return Expression{Kind: KindRate, Rate: time.Duration(n) * unit}, nil
	}
	if m := cronRE.FindStringSubmatch(expr); m != nil {
		c, err := parseCron(m[1])
		if err != nil {
			return bad("cron's "+err.part, "%s", err.msg)
		}
		return Expression{Kind: KindCron, cron: c}, nil
	}
	if m := atRE.FindStringSubmatch(expr); m != nil && allowAt {
		t, err := time.Parse("2006-01-02T15:04:05", strings.TrimSpace(m[1]))
		if err != nil {
			return bad("at's time", "%q is not yyyy-mm-ddThh:mm:ss", m[1])
		}
		return Expression{Kind: KindAt, At: t}, nil
	}
	if allowAt {
		return bad("expression", "%q is not rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)", expr)
	}
	return bad("expression", "%q is not rate(value unit) or cron(fields)", expr)
}

type cronError struct{ part, msg string }

var cronFields = []string{"minutes", "hours", "day-of-month", "month", "day-of-week", "year"}

// parseCron adapts AWS's six fields (minutes hours day-of-month month
// day-of-week year; day-of-week 1-7 = SUN-SAT; one of the days ?) to
// cronexpr's seven (seconds first; day-of-week 0-6 = SUN-SAT).
func parseCron(text string) (*cronexpr.Expression, *cronError) {
	fields := strings.Fields(text)
	if len(fields) != 6 {
		return nil, &cronError{"fields", fmt.Sprintf("%d fields, want 6: minutes hours day-of-month month day-of-week year", len(fields))}
	}
	dom, dow := fields[2], fields[4]
	if (dom == "?") == (dow == "?") {
		return nil, &cronError{"day-of-month", "one of day-of-month and day-of-week must be ?, and only one"}
	}
	bounds := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {1, 7}, {1970, 2199}}
	for i, f := range fields {
		if err := checkField(f, bounds[i][0], bounds[i][1], i); err != nil {
			return nil, &cronError{cronFields[i], err.Error()}
		}
	}
	shifted, err := shiftDOW(dow)
	if err != nil {
		return nil, &cronError{"day-of-week", err.Error()}
	}
	c, perr := cronexpr.Parse("0 " + strings.Join([]string{fields[0], fields[1], dom, fields[3], shifted, fields[5]}, " "))
	if perr != nil {
		return nil, &cronError{"fields", perr.Error()}
	}
	return c, nil
}

var (
	months = map[string]bool{"JAN": true, "FEB": true, "MAR": true, "APR": true, "MAY": true, "JUN": true, "JUL": true, "AUG": true, "SEP": true, "OCT": true, "NOV": true, "DEC": true}
	days   = map[string]bool{"SUN": true, "MON": true, "TUE": true, "WED": true, "THU": true, "FRI": true, "SAT": true}
)

// checkField checks the numbers of one field against AWS's bounds and its
// characters against what AWS allows in it (? and L and W and # only where
// AWS has them).
func checkField(f string, lo, hi, i int) error {
	allowed := ",-*/"
	switch i {
	case 2:
		allowed += "?LW"
	case 4:
		allowed += "?L#"
	}
	for _, item := range strings.Split(f, ",") {
		if item == "" {
			return fmt.Errorf("an empty item in %q", f)
		}
		for _, r := range item {
			isLetter := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z'
			if r >= '0' && r <= '9' || strings.ContainsRune(allowed, r) || isLetter {
				continue
			}
			return fmt.Errorf("%q is not allowed in %q", r, f)
		}
		word := strings.Builder{}
		num := strings.Builder{}
		flush := func(afterSlash bool) error {
			if num.Len() > 0 {
				n, _ := strconv.Atoi(num.String())
				if !afterSlash && (n < lo || n > hi) {
					return fmt.Errorf("%d is outside %d-%d", n, lo, hi)
				}
				num.Reset()
			}
			if word.Len() > 0 {
				w := strings.ToUpper(word.String())
				ok := w == "L" && (i == 2 || i == 4) || w == "W" && i == 2 || w == "LW" && i == 2 ||
					i == 3 && months[w] || i == 4 && days[w]
				if !ok {
					return fmt.Errorf("%q is not allowed in %q", word.String(), f)
				}
				word.Reset()
			}
			return nil
		}
		afterSlash := false
		for _, r := range item {
			switch {
			case r >= '0' && r <= '9':
				num.WriteRune(r)
			case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z':
				if num.Len() > 0 && (r == 'L' || r == 'W') {
					if err := flush(afterSlash); err != nil {
						return err
					}
				}
				word.WriteRune(r)
			default:
				if err := flush(afterSlash); err != nil {
					return err
				}
				afterSlash = r == '/' || r == '#'
			}
		}
		if err := flush(afterSlash); err != nil {
			return err
		}
	}
	return nil
}

// shiftDOW turns AWS's day-of-week numbers (1-7, SUN-SAT) into cronexpr's
// (0-6): every number that names a day (not a step after / nor the week
// after #) goes down by one.
func shiftDOW(f string) (string, error) {
	if f == "?" || f == "*" {
		return f, nil
	}
	var out strings.Builder
	num := strings.Builder{}
	noShift := false
	flush := func() {
		if num.Len() == 0 {
			return
		}
		n, _ := strconv.Atoi(num.String())
		if !noShift {
			n--
		}
		out.WriteString(strconv.Itoa(n))
		num.Reset()
	}
	for _, r := range f {
		if r >= '0' && r <= '9' {
			num.WriteRune(r)
			continue
		}
		flush()
		switch r {
		case '/', '#':
			noShift = true
		case ',', '-':
			noShift = false
		}
		out.WriteRune(r)
	}
	flush()
	return out.String(), nil
}

// Next is the first slot strictly after after: for rate, anchor plus a
// whole number of periods; for cron, the next time its fields match in loc;
// for at, its time in loc if that is after after. ok false: no further slot.
func (e Expression) Next(after, anchor time.Time, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	switch e.Kind {
	case KindRate:
		if after.Before(anchor) {
			return anchor.Add(e.Rate), true
		}
		k := after.Sub(anchor)/e.Rate + 1
		return anchor.Add(k * e.Rate), true
	case KindCron:
		next := e.cron.Next(after.In(loc))
		return next, !next.IsZero()
	case KindAt:
		at := time.Date(e.At.Year(), e.At.Month(), e.At.Day(), e.At.Hour(), e.At.Minute(), e.At.Second(), 0, loc)
		return at, at.After(after)
	}
	return time.Time{}, false
}

// maxCatchUp bounds the slots Due steps over to find the latest due one.
const maxCatchUp = 1 << 20

// Due is the latest slot in (last, now] (last: the slot fired last, or
// the schedule's start), or ok false when none is due: however many slots
// were missed, one fires.
func (e Expression) Due(last, now, anchor time.Time, loc *time.Location) (slot time.Time, ok bool) {
	if e.Kind == KindRate && !now.Before(anchor) {
		k := now.Sub(anchor) / e.Rate
		s := anchor.Add(k * e.Rate)
		if s.After(last) && k >= 1 {
			return s, true
		}
		return time.Time{}, false
	}
	cur := last
	for range maxCatchUp {
		next, more := e.Next(cur, anchor, loc)
		if !more || next.After(now) {
			break
		}
		slot, ok, cur = next, true, next
	}
	return slot, ok
}
