package taskmetrics

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

func TestAverageIsSumOverSum(t *testing.T) {
	s := New(time.Minute, 0, 0)
	t0 := time.Unix(1_700_000_000, 0)
	// a: 512 of 1024 units (50%), b: 256 of 256 (100%): the service is
	// 768/1280 = 60%, not the mean of the tasks' 75%.
	s.Add("a", Sample{At: t0, Instance: "i1", CPUUsed: 512, CPUReserve: 1024, MemUsed: 100, MemReserve: 400})
	s.Add("b", Sample{At: t0, Instance: "i2", CPUUsed: 256, CPUReserve: 256, MemUsed: 100, MemReserve: 100})
	u := s.Average([]TaskRef{{"a", "i1"}, {"b", "i2"}, {"c", "i3"}}, t0.Add(-time.Minute))
	if !u.CPUOK || math.Abs(u.CPU-60) > 1e-9 || u.Tasks != 2 {
		t.Fatalf("cpu %+v, want 60%% over 2 tasks", u)
	}
	if !u.MemoryOK || math.Abs(u.Memory-40) > 1e-9 {
		t.Fatalf("memory %+v, want 40%%", u)
	}
}

func TestAverageMeansEachTasksSamples(t *testing.T) {
	s := New(time.Minute, 0, 0)
	t0 := time.Unix(1_700_000_000, 0)
	for i, used := range []float64{100, 300} {
		s.Add("a", Sample{At: t0.Add(time.Duration(i) * time.Second), CPUUsed: used, CPUReserve: 1000})
	}
	u := s.Average([]TaskRef{{ARN: "a"}}, t0)
	if math.Abs(u.CPU-20) > 1e-9 || u.MemoryOK {
		t.Fatalf("%+v, want cpu 20%% and no memory (nothing reserved)", u)
	}
}

func TestForeignInstanceIgnored(t *testing.T) {
	s := New(time.Minute, 0, 0)
	t0 := time.Unix(1_700_000_000, 0)
	s.Add("a", Sample{At: t0, Instance: "evil", CPUUsed: 1000, CPUReserve: 1000})
	if u := s.Average([]TaskRef{{"a", "i1"}}, t0); u.CPUOK || u.Tasks != 0 {
		t.Fatalf("%+v: a sample from another instance counted", u)
	}
}

func TestWindowBounds(t *testing.T) {
	s := New(time.Minute, 3, 2)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 10 {
		s.Add("a", Sample{At: t0.Add(time.Duration(i) * time.Second), CPUUsed: float64(i), CPUReserve: 10})
	}
	if w := s.Window("a", t0); len(w) != 3 || w[0].CPUUsed != 7 {
		t.Fatalf("window %+v, want the last 3", w)
	}
	s.Add("a", Sample{At: t0.Add(5 * time.Minute)})
	if w := s.Window("a", time.Time{}); len(w) != 1 {
		t.Fatalf("window %+v, want only the sample within a minute", w)
	}
	s.Add("b", Sample{At: t0.Add(5 * time.Minute)})
	s.Add("c", Sample{At: t0.Add(6 * time.Minute)})
	if s.Len() != 2 || len(s.Window("c", time.Time{})) != 1 {
		t.Fatalf("%d tasks kept, want 2 with the newest", s.Len())
	}
	s.Prune(t0.Add(time.Hour))
	if s.Len() != 0 {
		t.Fatalf("%d tasks after prune", s.Len())
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(time.Minute, 8, 50)
	t0 := time.Now()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				task := fmt.Sprintf("t%d", (g*200+i)%60)
				s.Add(task, Sample{At: t0.Add(time.Duration(i) * time.Millisecond), CPUUsed: 1, CPUReserve: 2})
				s.Average([]TaskRef{{ARN: task}}, t0)
			}
		}()
	}
	wg.Wait()
	if s.Len() > 50 {
		t.Fatalf("%d tasks, bound 50", s.Len())
	}
}
