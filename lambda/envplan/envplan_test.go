package envplan

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func env(id, key, fn string, busy bool, idleSince int) Env {
	e := Env{ID: id, Key: key, Function: fn, Busy: busy}
	if !busy {
		e.IdleSince = t0.Add(time.Duration(idleSince) * time.Second)
	}
	return e
}

func TestDecide(t *testing.T) {
	acct := Limits{Account: 1000}
	for _, tc := range []struct {
		name string
		envs []Env
		key  string
		fn   string
		lim  Limits
		want Decision
	}{
		{"none: cold start", nil, "f@1", "f", acct, Decision{Action: Start}},
		{"warm idle reused", []Env{env("a", "f@1", "f", false, 1)}, "f@1", "f", acct, Decision{Action: Reuse, Env: "a"}},
		{"most recently used reused", []Env{env("a", "f@1", "f", false, 1), env("b", "f@1", "f", false, 5), env("c", "f@1", "f", false, 3)},
			"f@1", "f", acct, Decision{Action: Reuse, Env: "b"}},
		{"busy one not reused: start", []Env{env("a", "f@1", "f", true, 0)}, "f@1", "f", acct, Decision{Action: Start}},
		{"other key not reused", []Env{env("a", "f@2", "f", false, 1)}, "f@1", "f", acct, Decision{Action: Start}},
		{"reserved reached", []Env{env("a", "f@1", "f", true, 0), env("b", "f@1", "f", true, 0)}, "f@1", "f",
			Limits{Account: 1000, Reserved: map[string]int32{"f": 2}}, Decision{Action: Throttle, Reason: ReasonReserved}},
		{"reserved counts all versions", []Env{env("a", "f@1", "f", true, 0), env("b", "f@2", "f", true, 0)}, "f@1", "f",
			Limits{Account: 1000, Reserved: map[string]int32{"f": 2}}, Decision{Action: Throttle, Reason: ReasonReserved}},
		{"reserved below: start", []Env{env("a", "f@1", "f", true, 0)}, "f@1", "f",
			Limits{Account: 1000, Reserved: map[string]int32{"f": 2}}, Decision{Action: Start}},
		{"reserved zero: throttled", nil, "f@1", "f", Limits{Account: 1000, Reserved: map[string]int32{"f": 0}},
			Decision{Action: Throttle, Reason: ReasonReserved}},
		{"idle ones do not count", []Env{env("a", "f@2", "f", false, 0), env("b", "f@2", "f", false, 0)}, "f@1", "f",
			Limits{Account: 1000, Reserved: map[string]int32{"f": 2}}, Decision{Action: Start}},
		{"account reached", []Env{env("a", "g@1", "g", true, 0), env("b", "h@1", "h", true, 0)}, "f@1", "f",
			Limits{Account: 2}, Decision{Action: Throttle, Reason: ReasonAccount}},
		{"account reached, warm one not reused", []Env{env("a", "g@1", "g", true, 0), env("b", "f@1", "f", false, 0)}, "f@1", "f",
			Limits{Account: 1}, Decision{Action: Throttle, Reason: ReasonAccount}},
		{"unreserved pool is account less reservations", []Env{env("a", "g@1", "g", true, 0)}, "f@1", "f",
			Limits{Account: 3, Reserved: map[string]int32{"r": 2}}, Decision{Action: Throttle, Reason: ReasonAccount}},
		{"reserved function keeps its share", []Env{env("a", "g@1", "g", true, 0)}, "r@1", "r",
			Limits{Account: 3, Reserved: map[string]int32{"r": 2}}, Decision{Action: Start}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Decide(tc.envs, tc.key, tc.fn, tc.lim); got != tc.want {
				t.Errorf("Decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestIdle(t *testing.T) {
	envs := []Env{env("old", "k", "f", false, 0), env("new", "k", "f", false, 250), env("busy", "k", "f", true, 0), env("edge", "k", "f", false, 100)}
	got := Idle(envs, t0.Add(400*time.Second), 300*time.Second)
	if !slices.Equal(got, []string{"old", "edge"}) {
		t.Errorf("Idle = %v", got)
	}
}

func TestAged(t *testing.T) {
	at := func(id string, busy bool, startedS int) Env {
		return Env{ID: id, Busy: busy, Started: t0.Add(time.Duration(startedS) * time.Second)}
	}
	envs := []Env{at("old", false, 0), at("young", false, 3000), at("oldbusy", true, 0), at("edge", false, 400), {ID: "unknown"}}
	if got := Aged(envs, t0.Add(4000*time.Second), 3600*time.Second); !slices.Equal(got, []string{"old", "edge"}) {
		t.Errorf("Aged = %v", got)
	}
	if got := Aged(envs, t0.Add(4000*time.Second), 0); got != nil {
		t.Errorf("Aged without a lifetime = %v", got)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		exit     Exit
		wantType string
		wantMsg  string
	}{
		{Exit{Code: 2}, "Runtime.ExitError", "RequestId: r Error: Runtime exited with error: exit status 2"},
		{Exit{Code: 137, OOMKilled: true}, "Runtime.OutOfMemory", "RequestId: r Error: Runtime exited with error: signal: killed"},
		{Exit{Code: 137}, "Runtime.ExitError", "RequestId: r Error: Runtime exited with error: signal: killed"},
		{Exit{StartFailed: true, Reason: "exec: /var/task/bootstrap: no such file"}, "Runtime.InvalidEntrypoint", "RequestId: r Error: exec: /var/task/bootstrap: no such file"},
	} {
		e := ExitError("r", tc.exit)
		if e.Type != tc.wantType || e.Message != tc.wantMsg {
			t.Errorf("%+v: %+v", tc.exit, e)
		}
	}
	if e := Timeout("r", 3*time.Second); e.Type != "Sandbox.Timedout" || e.Message != "RequestId: r Error: Task timed out after 3.00 seconds" {
		t.Errorf("timeout %+v", e)
	}
}

func TestReport(t *testing.T) {
	r := Report{RequestID: "r", Duration: 1500 * time.Microsecond, MemoryMB: 128, MaxMemoryUsedMB: 20, InitDuration: 85*time.Millisecond + 126*time.Microsecond}
	want := "REPORT RequestId: r\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 85.13 ms"
	if got := r.Line(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r = Report{RequestID: "r", Duration: 3 * time.Second, MemoryMB: 128, Status: "timeout"}
	if got := r.Line(); got != "REPORT RequestId: r\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 0 MB\tStatus: timeout" {
		t.Errorf("got %q", got)
	}
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Microsecond, 1}, {time.Millisecond, 1}, {time.Millisecond + 1, 2}, {2 * time.Second, 2000}} {
		if got := BilledMS(tc.d); got != tc.want {
			t.Errorf("BilledMS(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if CPUUnits(1769) != 1024 || CPUUnits(128) != 128 || CPUUnits(10240) != 5927 {
		t.Errorf("CPUUnits: %d %d %d", CPUUnits(1769), CPUUnits(128), CPUUnits(10240))
	}
}
