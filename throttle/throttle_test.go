package throttle

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The documented example: Cluster read actions hold 50 tokens and refill 20
// a second, shared by DescribeClusters and ListClusters.
func TestClusterReadExample(t *testing.T) {
	l := New(ECS)
	for i := range 25 {
		if ok, _ := l.Allow(t0, Call{Operation: "DescribeClusters"}); !ok {
			t.Fatalf("DescribeClusters %d refused", i)
		}
		if ok, _ := l.Allow(t0, Call{Operation: "ListClusters"}); !ok {
			t.Fatalf("ListClusters %d refused", i)
		}
	}
	ok, retry := l.Allow(t0, Call{Operation: "ListClusters"})
	if ok || retry != 50*time.Millisecond {
		t.Fatalf("51st call in one instant: ok %v, retry after %v; want refused, 50ms (one token at 20/s)", ok, retry)
	}
	// The refused call took nothing: after one second, exactly 20 pass.
	t1 := t0.Add(time.Second)
	for i := range 20 {
		if ok, _ := l.Allow(t1, Call{Operation: "DescribeClusters"}); !ok {
			t.Fatalf("call %d a second later refused", i)
		}
	}
	if ok, _ := l.Allow(t1, Call{Operation: "DescribeClusters"}); ok {
		t.Fatal("21st call a second later passed")
	}
	// Another category is untouched.
	if ok, _ := l.Allow(t1, Call{Operation: "DescribeServices"}); !ok {
		t.Fatal("DescribeServices refused while only cluster reads were spent")
	}
	// An operation of no category (berth's own) is never throttled.
	if ok, _ := l.Allow(t1, Call{Operation: "ExplainTask"}); !ok {
		t.Fatal("ExplainTask throttled")
	}
}

func TestCategoriesNameEachOperationOnce(t *testing.T) {
	seen := map[string]string{}
	for _, c := range ECS {
		if c.Burst <= 0 || c.Rate <= 0 {
			t.Errorf("%s: burst %d, rate %v", c.Name, c.Burst, c.Rate)
		}
		for _, op := range c.Operations {
			if prev, ok := seen[op]; ok {
				t.Errorf("%s in %s and %s", op, prev, c.Name)
			}
			seen[op] = c.Name
		}
	}
	if got := len(New(ECS).Operations()); got != len(seen) {
		t.Errorf("Operations lists %d, the table %d", got, len(seen))
	}
}

// Fargate: RunTask calls at 20 a second, task launches 100 at once then 20
// a second, and a call refused by one bucket takes from none.
func TestFargateLaunches(t *testing.T) {
	l := New(ECS)
	for i := range 10 {
		if ok, _ := l.Allow(t0, Call{Operation: "RunTask", FargateTasks: 10}); !ok {
			t.Fatalf("RunTask %d of 10 tasks refused", i)
		}
	}
	ok, retry := l.Allow(t0, Call{Operation: "RunTask", FargateTasks: 1})
	if ok || retry != 50*time.Millisecond {
		t.Fatalf("the 101st task: ok %v, retry %v", ok, retry)
	}
	// Spot has its own bucket of launches, but shares the RunTask calls.
	for i := range 10 {
		if ok, _ := l.Allow(t0, Call{Operation: "RunTask", FargateSpotTasks: 1}); !ok {
			t.Fatalf("Spot RunTask %d refused", i)
		}
	}
	if ok, _ := l.Allow(t0, Call{Operation: "RunTask", FargateSpotTasks: 1}); ok {
		t.Fatal("the 21st Fargate RunTask call in one instant passed")
	}
	// EC2 RunTask calls draw only on cluster resource modify actions (100):
	// the 20 calls that passed above took 20 of them (refused ones took none).
	for i := range 80 {
		if ok, _ := l.Allow(t0, Call{Operation: "RunTask"}); !ok {
			t.Fatalf("EC2 RunTask %d refused", i)
		}
	}
	if ok, _ := l.Allow(t0, Call{Operation: "StopTask"}); ok {
		t.Fatal("the 101st cluster resource modify action passed")
	}
	// More tasks than the bucket holds can never pass.
	if ok, retry := New(ECS).Allow(t0, Call{Operation: "RunTask", FargateTasks: 101}); ok || retry != 0 {
		t.Fatalf("101 tasks in one call: ok %v, retry %v", ok, retry)
	}
}
