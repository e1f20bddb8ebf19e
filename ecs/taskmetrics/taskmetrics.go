// Package taskmetrics keeps the resource usage agents report with their
// heartbeats: a bounded window of samples per task, in memory only, and the
// service averages ECS computes from it (ECSServiceAverageCPUUtilization:
// the sum of the tasks' CPU used over the sum of the CPU they reserve, as a
// percentage; memory likewise). Samples are lost at a restart, as a
// CloudWatch datapoint not yet sent would be; the next heartbeats refill
// the window.
package taskmetrics

import (
	"sync"
	"time"
)

// Sample is one task's usage at one time, as its agent reported it.
type Sample struct {
	At         time.Time
	Instance   string // the reporting instance's ARN
	CPUUsed    float64
	CPUReserve int32
	MemUsed    float64 // MiB
	MemReserve int32
}

// Defaults of a Store's window.
const (
	DefaultWindow     = 3 * time.Minute
	DefaultMaxSamples = 64
	DefaultMaxTasks   = 100_000
)

// Store is a bounded, concurrency-safe window of samples per task.
type Store struct {
	window     time.Duration
	maxSamples int
	maxTasks   int

	mu    sync.Mutex
	tasks map[string][]Sample // by task ARN, oldest first
}

// New returns a Store keeping each task's samples of the last window (at
// most maxSamples of them, and at most maxTasks tasks); zeros take the
// defaults.
func New(window time.Duration, maxSamples, maxTasks int) *Store {
	if window <= 0 {
		window = DefaultWindow
	}
	if maxSamples <= 0 {
		maxSamples = DefaultMaxSamples
	}
	if maxTasks <= 0 {
		maxTasks = DefaultMaxTasks
	}
	return &Store{window: window, maxSamples: maxSamples, maxTasks: maxTasks, tasks: map[string][]Sample{}}
}

// Add records a task's sample. A new task beyond the store's bound drops the
// task whose newest sample is oldest.
func (s *Store) Add(task string, smp Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tasks[task]
	if !ok && len(s.tasks) >= s.maxTasks {
		s.evictLocked(smp.At)
	}
	old = append(old, smp)
	old = trim(old, smp.At.Add(-s.window), s.maxSamples)
	s.tasks[task] = old
}

func (s *Store) evictLocked(now time.Time) {
	var victim string
	var oldest time.Time
	for k, v := range s.tasks {
		last := v[len(v)-1].At
		if last.Before(now.Add(-s.window)) {
			delete(s.tasks, k)
			continue
		}
		if victim == "" || last.Before(oldest) {
			victim, oldest = k, last
		}
	}
	if len(s.tasks) >= s.maxTasks && victim != "" {
		delete(s.tasks, victim)
	}
}

// trim drops samples before since and keeps at most max.
func trim(v []Sample, since time.Time, max int) []Sample {
	i := 0
	for i < len(v) && v[i].At.Before(since) {
		i++
	}
	if len(v)-i > max {
		i = len(v) - max
	}
	if i == 0 {
		return v
	}
	return append(v[:0:0], v[i:]...)
}

// Forget drops a task's samples (it stopped).
func (s *Store) Forget(task string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, task)
}

// Window returns a copy of the task's samples in [since, now], oldest first.
func (s *Store) Window(task string, since time.Time) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for _, smp := range s.tasks[task] {
		if !smp.At.Before(since) {
			out = append(out, smp)
		}
	}
	return out
}

// Prune drops every sample older than the window before now.
func (s *Store) Prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.tasks {
		v = trim(v, now.Add(-s.window), s.maxSamples)
		if len(v) == 0 {
			delete(s.tasks, k)
			continue
		}
		s.tasks[k] = v
	}
}

// Len is how many tasks have samples.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}

// TaskRef is a task of a service as the store knows it: its ARN and the
// instance it runs on ("" for Fargate tasks, whose samples are taken from
// whichever host reports them).
type TaskRef struct {
	ARN      string
	Instance string
}

// Utilization is a service's average over a period: CPU and memory used as a
// percentage of what its tasks reserve, and how many tasks reported.
type Utilization struct {
	CPU, Memory float64
	// CPUOK and MemoryOK say whether the percentage is defined: some task
	// reported, and the reporting tasks reserve some CPU (memory).
	CPUOK, MemoryOK bool
	Tasks           int
}

// Average computes the service's utilization over [since, now] from its
// tasks' samples: each task's mean usage over its samples in the period,
// summed over the tasks, divided by the sum of their reservations (as ECS
// computes ECSServiceAverageCPUUtilization and
// ECSServiceAverageMemoryUtilization). A sample from an instance other than
// the task's is ignored.
func (s *Store) Average(tasks []TaskRef, since time.Time) Utilization {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u Utilization
	var cpuUsed, cpuRes, memUsed, memRes float64
	for _, t := range tasks {
		var n int
		var cu, mu, cr, mr float64
		for _, smp := range s.tasks[t.ARN] {
			if smp.At.Before(since) || (t.Instance != "" && smp.Instance != t.Instance) {
				continue
			}
			n++
			cu += smp.CPUUsed
			mu += smp.MemUsed
			cr, mr = float64(smp.CPUReserve), float64(smp.MemReserve)
		}
		if n == 0 {
			continue
		}
		u.Tasks++
		cpuUsed += cu / float64(n)
		memUsed += mu / float64(n)
		cpuRes += cr
		memRes += mr
	}
	if cpuRes > 0 {
		u.CPU, u.CPUOK = 100*cpuUsed/cpuRes, true
	}
	if memRes > 0 {
		u.Memory, u.MemoryOK = 100*memUsed/memRes, true
	}
	return u
}
