// Command wire measures ECS JSON wire latency through the control plane's
// HTTP front door beside a baseline revision's: DescribeTasks of real tasks,
// SigV4 signed, from many concurrent clients. It builds cmd/controlplane from
// the working tree and from the baseline revision (git archive into a
// temporary directory), runs one at a time on a fresh data dir with a hollow
// agent, alternating them in rounds to cancel the machine's drift, and prints
// one JSON object: each one's calls per second, p50 and p99, and the ratios.
//
//	go run ./bench/wire                          # against 437b23b, the last old gateway
//	go run ./bench/wire -baseline HEAD~1 -rounds 5 -duration 20s
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"syscall"
	"time"
)

type options struct {
	baseline          string
	clients, rounds   int
	tasks, perCall    int
	duration, warmup  time.Duration
	profile           string
	keep, resignEvery bool
}

// impl is one side's numbers over all of its rounds.
type impl struct {
	Binary string  `json:"binary"`
	Calls  int     `json:"calls"`
	Errors int     `json:"errors"`
	PerSec float64 `json:"calls_per_sec"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	// CPUMicros is the server's CPU time (user and system) per call.
	CPUMicros float64 `json:"server_cpu_us_per_call"`
	// RespBytes is the size of one DescribeTasks answer.
	RespBytes int      `json:"response_bytes"`
	RoundsRun []rounds `json:"rounds"`
	lat       []time.Duration
	seconds   float64
	cpu       time.Duration
}

// rounds is one round's numbers of one side.
type rounds struct {
	Round  int     `json:"round"`
	PerSec float64 `json:"calls_per_sec"`
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	Errors int     `json:"errors"`
	// CPUMicros is the server's CPU time per call.
	CPUMicros float64 `json:"server_cpu_us_per_call"`
	RespBytes int     `json:"response_bytes"`
}

type result struct {
	Operation    string  `json:"operation"`
	Baseline     string  `json:"baseline"`
	BaselineRev  string  `json:"baseline_commit"`
	NewRev       string  `json:"new_commit"`
	NewDirty     bool    `json:"new_dirty_tree"`
	Clients      int     `json:"clients"`
	TasksPerCall int     `json:"tasks_per_call"`
	Tasks        int     `json:"tasks"`
	Rounds       int     `json:"rounds"`
	Order        string  `json:"order"`
	DurationS    float64 `json:"duration_s"`
	WarmupS      float64 `json:"warmup_s"`
	Cores        int     `json:"cores"`
	Old          *impl   `json:"old"`
	New          *impl   `json:"new"`
	// Ratios are new against old, so that above 1 is slower either way.
	P50Ratio        float64 `json:"p50_ratio_new_old"`
	P99Ratio        float64 `json:"p99_ratio_new_old"`
	ThroughputRatio float64 `json:"throughput_ratio_old_new"`
	// CPURatio is the server's CPU time per call, new against old: what
	// the throughput ratio comes to when the machine is not shared.
	CPURatio     float64 `json:"server_cpu_ratio_new_old"`
	Target       float64 `json:"target"`
	WithinTarget bool    `json:"within_target"`
}

func main() {
	var o options
	flag.StringVar(&o.baseline, "baseline", "437b23b", "git revision of the old gateway (the last commit with awsapi/gateway.go)")
	flag.IntVar(&o.clients, "clients", 50, "concurrent clients, each with its own keep-alive connection")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of each server, alternated old/new, new/old, ...")
	flag.IntVar(&o.tasks, "tasks", 50, "tasks run on the hollow agent before the load")
	flag.IntVar(&o.perCall, "tasks-per-call", 10, "task ARNs in each DescribeTasks call")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured load of each server in each round")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	flag.StringVar(&o.profile, "cpuprofile", "", "write the servers' CPU profiles of each measurement to FILE-old-1.pprof, FILE-new-1.pprof, ... (starts them with --pprof)")
	flag.BoolVar(&o.resignEvery, "sign-each", false, "sign every request (default: a client signs once and sends that request until its signature is a minute old)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (binaries, data dirs, logs) and print its path")
	flag.Parse()
	if o.clients < 1 || o.rounds < 1 || o.perCall < 1 || o.tasks < o.perCall || o.duration <= 0 || o.warmup < 0 {
		fmt.Fprintln(os.Stderr, "bench/wire: -clients, -rounds and -tasks-per-call must be positive, -tasks at least -tasks-per-call, -duration positive")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/wire:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func run(o options) (err error) {
	// Interrupted, the run stops where it is and still stops its processes
	// and removes what it made.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	work, err := os.MkdirTemp("", "berth-bench-wire-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work dir %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	b, err := build(ctx, work, o.baseline)
	if err != nil {
		return err
	}
	res := result{
		Operation: "DescribeTasks", Baseline: o.baseline, BaselineRev: b.baselineRev, NewRev: b.newRev, NewDirty: b.dirty,
		Clients: o.clients, TasksPerCall: o.perCall, Tasks: o.tasks, Rounds: o.rounds,
		DurationS: o.duration.Seconds(), WarmupS: o.warmup.Seconds(), Cores: runtime.NumCPU(), Target: 1.05,
		Old: &impl{Binary: "baseline " + o.baseline}, New: &impl{Binary: "working tree"},
	}
	for r := 1; r <= o.rounds; r++ {
		order := []string{"old", "new"}
		if r%2 == 0 {
			order = []string{"new", "old"}
		}
		for _, side := range order {
			res.Order += side[:1]
			bin, into := b.old, res.Old
			if side == "new" {
				bin, into = b.new, res.New
			}
			rd, l, err := round(ctx, o, work, b.agent, bin, side, r)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r, side, err)
			}
			logf("round %d %s: %.0f calls/s, p50 %.2f ms, p99 %.2f ms, %d errors, server CPU %.0f µs a call", r, side, rd.PerSec, rd.P50Ms, rd.P99Ms, rd.Errors, rd.CPUMicros)
			into.RoundsRun = append(into.RoundsRun, rd)
			into.lat = append(into.lat, l.lat...)
			into.Errors += rd.Errors
			into.seconds += l.seconds
			into.cpu += l.cpu
			into.RespBytes = l.respBytes
		}
	}
	for _, s := range []*impl{res.Old, res.New} {
		s.Calls = len(s.lat)
		s.PerSec = round3(float64(s.Calls) / s.seconds)
		s.P50Ms, s.P90Ms, s.P99Ms = quantileMs(s.lat, 0.50), quantileMs(s.lat, 0.90), quantileMs(s.lat, 0.99)
		s.CPUMicros = round3(float64(s.cpu/time.Microsecond) / float64(s.Calls+s.Errors))
	}
	res.CPURatio = round3(res.New.CPUMicros / res.Old.CPUMicros)
	res.P50Ratio = round3(res.New.P50Ms / res.Old.P50Ms)
	res.P99Ratio = round3(res.New.P99Ms / res.Old.P99Ms)
	res.ThroughputRatio = round3(res.Old.PerSec / res.New.PerSec)
	res.WithinTarget = max(res.P50Ratio, res.P99Ratio, res.ThroughputRatio) <= res.Target
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// round runs one server on a fresh data dir with its own hollow agent, seeds
// the tasks and measures the load.
func round(ctx context.Context, o options, work, agentBin, bin, side string, r int) (rd rounds, l load, err error) {
	dir := filepath.Join(work, fmt.Sprintf("%s-%d", side, r))
	cp, err := startControlPlane(ctx, bin, dir, o.profile != "")
	if err != nil {
		return rd, l, err
	}
	defer func() { err = errors.Join(err, cp.stop()) }()
	ag, err := startAgent(agentBin, dir, cp)
	if err != nil {
		return rd, l, err
	}
	defer func() { err = errors.Join(err, ag.stop()) }()
	c, err := newClient(cp, o.clients)
	if err != nil {
		return rd, l, err
	}
	defer c.close()
	arns, err := seed(ctx, c, o.tasks)
	if err != nil {
		return rd, l, fmt.Errorf("seeding: %w", err)
	}
	var profile func() error
	if o.profile != "" {
		profile = cp.profile(ctx, o.duration, fmt.Sprintf("%s-%s-%d.pprof", o.profile, side, r))
	}
	if l, err = drive(ctx, c, arns, o, profile, cp.cpuTime); err != nil {
		return rd, l, err
	}
	rd = rounds{Round: r, PerSec: round3(float64(len(l.lat)) / l.seconds), P50Ms: quantileMs(l.lat, 0.5), P99Ms: quantileMs(l.lat, 0.99), Errors: l.errors,
		CPUMicros: round3(float64(l.cpu/time.Microsecond) / float64(len(l.lat)+l.errors)), RespBytes: l.respBytes}
	return rd, l, nil
}

// quantileMs is the q quantile of lat in milliseconds (nearest rank).
func quantileMs(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return round3(float64(s[i]) / float64(time.Millisecond))
}

func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
