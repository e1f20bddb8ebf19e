// Command scale measures one control plane holding many instances and tasks.
// It builds and starts the control plane and hollow agents as separate
// processes (so that the control plane's own CPU and memory are what is
// measured), creates services totalling the task count, and prints one JSON
// object: how long until every task runs, placements per second, the control
// plane's RSS and CPU at steady state, heartbeats per second, DescribeTasks
// and ListTasks latency under that load, the state file's size and how long a
// cold restart takes until it serves.
//
//	go run ./bench/scale -instances 10000 -tasks 100000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

type result struct {
	Instances         int     `json:"instances"`
	Tasks             int     `json:"tasks"`
	Services          int     `json:"services"`
	HeartbeatPeriodS  float64 `json:"heartbeat_period_s"`
	AgentProcesses    int     `json:"agent_processes"`
	MemoryLimit       string  `json:"memory_limit,omitempty"`
	Cores             int     `json:"cores"`
	InstancesUpS      float64 `json:"instances_up_s"`
	AllPlacedS        float64 `json:"all_placed_s"`
	AllRunningS       float64 `json:"all_running_s"`
	PlacementsPerSec  float64 `json:"placements_per_sec"`
	RSSMiB            float64 `json:"rss_mib"`
	CPUCoresSteady    float64 `json:"cpu_cores_steady"`
	HeartbeatsPerSec  float64 `json:"heartbeats_per_sec"`
	WritesPerSec      float64 `json:"store_writes_per_sec_steady"`
	DescribeTasksP99  float64 `json:"describe_tasks_p99_ms"`
	DescribeTasksRate float64 `json:"describe_tasks_per_sec"`
	ListTasksP99      float64 `json:"list_tasks_p99_ms"`
	ListTasksRate     float64 `json:"list_tasks_per_sec"`
	// RSSAnonMiB and RSSFileMiB split RSSMiB (Linux): the Go heap, stacks
	// and runtime against the mapped pages of the state file.
	RSSAnonMiB    float64 `json:"rss_anon_mib,omitempty"`
	RSSFileMiB    float64 `json:"rss_file_mib,omitempty"`
	HeapInuseMiB  float64 `json:"heap_inuse_mib"`
	HeapAllocMiB  float64 `json:"heap_alloc_mib"`
	StackInuseMiB float64 `json:"stack_inuse_mib"`
	Goroutines    float64 `json:"goroutines"`
	// AllocMiBPerSec and GCCycles are the steady window's allocation rate
	// and garbage collections.
	AllocMiBPerSec  float64 `json:"alloc_mib_per_sec_steady"`
	GCCycles        float64 `json:"gc_cycles_steady"`
	LoadRSSMiB      float64 `json:"rss_mib_after_load"`
	DBMiB           float64 `json:"db_mib"`
	StopS           float64 `json:"stop_s"` // SIGTERM until the process exited
	RestartHealthyS float64 `json:"restart_healthz_s"`
	RestartReadyS   float64 `json:"restart_ready_s"`
	ReconnectedS    float64 `json:"agents_reconnected_s"`
	RestartRSSMiB   float64 `json:"rss_mib_after_restart"`
	// RestartSteadyRSSMiB and RestartSteadyCPU are the restarted control plane's, over
	// a steady window once every agent is back.
	RestartSteadyRSSMiB float64 `json:"rss_mib_restarted_steady"`
	RestartSteadyCPU    float64 `json:"cpu_cores_restarted_steady"`
	// StoppedAfterRestart counts the tasks STOPPED by the end of that window:
	// none of the services' tasks should be lost to a restart.
	StoppedAfterRestart int `json:"tasks_stopped_after_restart"`
	// Ghz is the API load test at 50 concurrent clients, with -ghz.
	Ghz []ghzResult `json:"ghz,omitempty"`
}

type options struct {
	instances, tasks, services, procs, clients int
	heartbeat, steady, load                    time.Duration
	keep, ghz                                  bool
	profile, memLimit                          string
}

func main() {
	var o options
	flag.IntVar(&o.instances, "instances", 1000, "container instances (hollow)")
	flag.IntVar(&o.tasks, "tasks", 10000, "tasks, over all services")
	flag.IntVar(&o.services, "services", 100, "services the tasks are divided among")
	flag.IntVar(&o.procs, "agent-processes", 0, "agent processes the instances are divided among (default: one per 2,000, a multiple of 3 for the zones)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients for the DescribeTasks and ListTasks load")
	flag.DurationVar(&o.heartbeat, "heartbeat", 5*time.Second, "agents' heartbeat period")
	flag.DurationVar(&o.steady, "steady", 30*time.Second, "steady-state window for CPU and heartbeats")
	flag.DurationVar(&o.load, "load", 10*time.Second, "how long each of DescribeTasks and ListTasks is driven")
	flag.StringVar(&o.memLimit, "memory-limit", "", "the control plane's --memory-limit (e.g. 768MiB, or off; default: the control plane's default)")
	flag.BoolVar(&o.ghz, "ghz", false, "also load DescribeTasks, ListTasks and RunTask with ghz (go install'ed) at 50 concurrent clients")
	flag.BoolVar(&o.keep, "keep", false, "keep the work dir (data dir, logs) and print its path")
	flag.StringVar(&o.profile, "cpuprofile", "", "write the control plane's CPU profiles of the placement (FILE.placement), the steady window (FILE.steady), the reconnection after the restart (FILE.reconnect) and the steady window after it (FILE.restarted)")
	flag.Parse()
	if o.procs == 0 {
		o.procs = 3 * max(1, (o.instances+5999)/6000)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scale:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func run(o options) error {
	work, err := os.MkdirTemp("", "berth-bench-scale-")
	if err != nil {
		return err
	}
	if o.keep {
		logf("work dir %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	bins, err := build(work)
	if err != nil {
		return err
	}
	res := result{Instances: o.instances, Tasks: o.tasks, Services: o.services, HeartbeatPeriodS: o.heartbeat.Seconds(),
		AgentProcesses: o.procs, Cores: runtime.NumCPU(), MemoryLimit: o.memLimit}

	cp := &controlPlane{bin: bins["controlplane"], dataDir: filepath.Join(work, "data"), heartbeat: o.heartbeat, logDir: work, memLimit: o.memLimit}
	if err := cp.start(); err != nil {
		return err
	}
	defer cp.stop()
	agents, err := startAgents(bins["agent"], work, cp, o)
	if err != nil {
		return err
	}
	defer agents.stop()

	t0 := time.Now()
	if err := cp.waitMetric("berth_agent_sessions", float64(o.instances), 10*time.Minute); err != nil {
		return err
	}
	res.InstancesUpS = since(t0)
	logf("%d instances connected in %.1fs", o.instances, res.InstancesUpS)

	stopProfile := cp.profile(o.profile, "placement", 15*time.Second)
	t0 = time.Now()
	if err := createServices(cp, o); err != nil {
		return err
	}
	logf("%d services created in %.1fs", o.services, since(t0))
	placed, running, err := cp.waitTasks(o.tasks, 15*time.Minute)
	if err != nil {
		return err
	}
	stopProfile()
	res.AllPlacedS, res.AllRunningS = placed.Sub(t0).Seconds(), running.Sub(t0).Seconds()
	res.PlacementsPerSec = float64(o.tasks) / res.AllPlacedS
	logf("%d tasks placed in %.1fs, running in %.1fs", o.tasks, res.AllPlacedS, res.AllRunningS)

	time.Sleep(5 * time.Second) // let the last state reports settle
	m0, err := cp.metrics()
	if err != nil {
		return err
	}
	if o.profile != "" { // the steady window's allocations: pprof -diff_base FILE.heap0 FILE.heap
		cp.save("/debug/pprof/heap", o.profile+".heap0")
	}
	w0 := time.Now()
	stopProfile = cp.profile(o.profile, "steady", o.steady)
	time.Sleep(o.steady)
	stopProfile()
	cp.heapProfile(o.profile)
	m1, err := cp.metrics()
	if err != nil {
		return err
	}
	window := since(w0)
	res.CPUCoresSteady = (m1["process_cpu_seconds_total"] - m0["process_cpu_seconds_total"]) / window
	res.HeartbeatsPerSec = (m1["berth_agent_heartbeats_total"] - m0["berth_agent_heartbeats_total"]) / window
	res.WritesPerSec = (m1["berth_store_revision"] - m0["berth_store_revision"]) / window
	res.RSSMiB = m1["process_resident_memory_bytes"] / (1 << 20)
	res.RSSAnonMiB, res.RSSFileMiB = cp.rssSplit()
	res.HeapInuseMiB = m1["go_memstats_heap_inuse_bytes"] / (1 << 20)
	res.HeapAllocMiB = m1["go_memstats_heap_alloc_bytes"] / (1 << 20)
	res.StackInuseMiB = m1["go_memstats_stack_inuse_bytes"] / (1 << 20)
	res.Goroutines = m1["go_goroutines"]
	res.AllocMiBPerSec = (m1["go_memstats_alloc_bytes_total"] - m0["go_memstats_alloc_bytes_total"]) / window / (1 << 20)
	res.GCCycles = m1["go_gc_duration_seconds_count"] - m0["go_gc_duration_seconds_count"]
	logf("steady: %.3f cores, %.0f MiB (anon %.0f, file %.0f; heap in use %.0f, stacks %.0f, %.0f goroutines; %.1f MiB/s allocated, %.0f GCs), %.0f heartbeats/s, %.1f store writes/s",
		res.CPUCoresSteady, res.RSSMiB, res.RSSAnonMiB, res.RSSFileMiB, res.HeapInuseMiB, res.StackInuseMiB, res.Goroutines, res.AllocMiBPerSec, res.GCCycles, res.HeartbeatsPerSec, res.WritesPerSec)
	logf("memstats: %s", memstats(m1))

	arns, err := cp.someTasks(10000)
	if err != nil {
		return err
	}
	res.DescribeTasksP99, res.DescribeTasksRate = drive(o.clients, o.load, func(r *rand.Rand) error {
		batch := make([]string, 100)
		for i := range batch {
			batch[i] = arns[r.IntN(len(arns))]
		}
		out, err := cp.ecs.DescribeTasks(cp.ctx, &berthv1.DescribeTasksRequest{Tasks: batch})
		if err == nil && len(out.Tasks) != len(batch) {
			err = fmt.Errorf("DescribeTasks: %d tasks, %d failures", len(out.Tasks), len(out.Failures))
		}
		return err
	})
	res.ListTasksP99, res.ListTasksRate = drive(o.clients, o.load, func(r *rand.Rand) error {
		svc := fmt.Sprintf("svc-%03d", r.IntN(o.services))
		_, err := cp.ecs.ListTasks(cp.ctx, &berthv1.ListTasksRequest{ServiceName: svc, MaxResults: 100})
		return err
	})
	if m, err := cp.metrics(); err == nil {
		res.LoadRSSMiB = m["process_resident_memory_bytes"] / (1 << 20)
	}
	if o.ghz {
		if res.Ghz, err = ghzLoad(work, cp, arns[:100]); err != nil {
			return err
		}
	}
	logf("DescribeTasks p99 %.1f ms (%.0f/s), ListTasks p99 %.1f ms (%.0f/s)", res.DescribeTasksP99, res.DescribeTasksRate, res.ListTasksP99, res.ListTasksRate)

	live, err := cp.liveTasks()
	if err != nil {
		return err
	}
	t0 = time.Now()
	if err := cp.stop(); err != nil {
		return err
	}
	res.StopS = since(t0)
	if fi, err := os.Stat(filepath.Join(cp.dataDir, "state.db")); err == nil {
		res.DBMiB = float64(fi.Size()) / (1 << 20)
	}
	t0 = time.Now()
	if err := cp.start(); err != nil {
		return err
	}
	res.RestartHealthyS = since(t0)
	stopProfile = cp.profile(o.profile, "reconnect", 20*time.Second)
	goroutines := time.AfterFunc(15*time.Second, func() { // where the sessions wait, if they still do
		if o.profile != "" {
			cp.save("/debug/pprof/goroutine?debug=1", o.profile+".reconnect.goroutine")
		}
	})
	if err := cp.waitServing(live); err != nil {
		return err
	}
	res.RestartReadyS = since(t0)
	if err := cp.waitMetric("berth_agent_sessions", float64(o.instances), 5*time.Minute); err != nil {
		return err
	}
	res.ReconnectedS = since(t0)
	goroutines.Stop()
	stopProfile()
	if m, err := cp.metrics(); err == nil {
		res.RestartRSSMiB = m["process_resident_memory_bytes"] / (1 << 20)
		commits := m["berth_store_commit_duration_seconds_count"]
		logf("reconnection: %.0f store commits of %.1f commands on average, %.1f ms each, %.1f s in all; %.1f s of CPU since the start",
			commits, m["berth_store_commit_commands_sum"]/commits, 1000*m["berth_store_commit_duration_seconds_sum"]/commits,
			m["berth_store_commit_duration_seconds_sum"], m["process_cpu_seconds_total"])
	}
	logf("restart: /healthz in %.2fs, serving its tasks in %.2fs, all agents back in %.1fs", res.RestartHealthyS, res.RestartReadyS, res.ReconnectedS)
	time.Sleep(5 * time.Second)
	if m0, err := cp.metrics(); err == nil {
		w0 := time.Now()
		stop := cp.profile(o.profile, "restarted", o.steady)
		time.Sleep(o.steady)
		stop()
		if o.profile != "" {
			cp.save("/debug/pprof/heap", o.profile+".restarted.heap")
		}
		if m1, err := cp.metrics(); err == nil {
			res.RestartSteadyCPU = (m1["process_cpu_seconds_total"] - m0["process_cpu_seconds_total"]) / since(w0)
			res.RestartSteadyRSSMiB = m1["process_resident_memory_bytes"] / (1 << 20)
		}
	}
	if res.StoppedAfterRestart, err = cp.stoppedTasks(); err != nil {
		return err
	}
	logf("restarted, steady: %.3f cores, %.0f MiB, %d tasks STOPPED", res.RestartSteadyCPU, res.RestartSteadyRSSMiB, res.StoppedAfterRestart)

	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

// ghzLoad runs ghz against DescribeTasks (100 tasks a call), ListTasks (a
// service's first page) and RunTask (one task a call).
func ghzLoad(work string, cp *controlPlane, arns []string) ([]ghzResult, error) {
	bin, err := installGhz(work)
	if err != nil {
		return nil, err
	}
	var out []ghzResult
	for _, call := range []struct {
		method string
		body   any
	}{
		{"DescribeTasks", map[string]any{"tasks": arns}},
		{"ListTasks", map[string]any{"serviceName": "svc-000", "maxResults": 100}},
		{"RunTask", map[string]any{"taskDefinition": "scale", "count": 1}},
	} {
		r, err := runGhz(bin, cp, call.method, call.body, 50, "10s")
		if err != nil {
			return nil, err
		}
		logf("ghz %s: %.0f/s, p99 %.1f ms, %v", r.Call, r.PerSec, r.P99Ms, r.StatusCounts)
		out = append(out, r)
	}
	return out, nil
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

// build compiles the control plane and agent binaries into dir.
func build(dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, name := range []string{"controlplane", "agent"} {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/%s (run from the repository root): %w", name, err)
		}
		bins[name] = out
	}
	return bins, nil
}

// controlPlane is the control plane process and clients of it.
type controlPlane struct {
	bin, dataDir, logDir string
	logFile              string // the current process's
	memLimit             string
	heartbeat            time.Duration
	grpcAddr, httpAddr   string
	cmd                  *exec.Cmd
	done                 chan error
	conn                 *grpc.ClientConn
	ecs                  berthv1.ECSClient
	ctx                  context.Context // carries bearer
	bearer               string          // "Bearer <admin token>"
	starts               int
}

func (c *controlPlane) start() error {
	if c.grpcAddr == "" {
		c.grpcAddr, c.httpAddr = freeAddr(), freeAddr()
	}
	c.starts++
	c.logFile = filepath.Join(c.logDir, fmt.Sprintf("controlplane-%d.log", c.starts))
	logFile, err := os.Create(c.logFile)
	if err != nil {
		return err
	}
	args := []string{"--data-dir", c.dataDir, "--grpc-addr", c.grpcAddr, "--http-addr", c.httpAddr,
		"--heartbeat-period", c.heartbeat.String(), "--log-level", "warn", "--pprof",
		"--no-throttle", // raw speed: ECS's throttling off
		"--metrics-public"}
	if c.memLimit != "" {
		args = append(args, "--memory-limit", c.memLimit)
	}
	c.cmd = exec.Command(c.bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.done = make(chan error, 1)
	go func() { c.done <- c.cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(time.Minute)
	for {
		if resp, err := http.Get("http://" + c.httpAddr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return errors.New("the control plane did not come up within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	token, err := os.ReadFile(filepath.Join(c.dataDir, "admin.token"))
	if err != nil {
		return err
	}
	c.bearer = "Bearer " + strings.TrimSpace(string(token))
	c.ctx = metadata.AppendToOutgoingContext(context.Background(), "authorization", c.bearer)
	if c.conn, err = grpc.NewClient(c.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return err
	}
	c.ecs = berthv1.NewECSClient(c.conn)
	return nil
}

// stopWithin is how long the control plane may take to exit after SIGTERM:
// it stores the departure of every agent session first, which for 10,000
// sessions on a busy machine has taken more than 30 seconds.
const stopWithin = 2 * time.Minute

// stop ends the control plane with SIGTERM, as an operator would.
func (c *controlPlane) stop() error {
	if c.cmd == nil {
		return nil
	}
	c.conn.Close()
	c.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-c.done:
	case <-time.After(stopWithin):
		// SIGQUIT: the Go runtime writes every goroutine to the log, to
		// show what held the shutdown up.
		c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.done
		}
		err = fmt.Errorf("the control plane did not stop within %s of SIGTERM (its goroutines are in %s with -keep)", stopWithin, c.logFile)
	}
	c.cmd = nil
	return err
}

// memstats is the Go runtime's memory gauges, in MiB, for the log.
func memstats(m map[string]float64) string {
	var b strings.Builder
	for _, name := range []string{"sys", "heap_sys", "heap_idle", "heap_released", "heap_inuse", "stack_sys", "mspan_sys", "gc_sys", "other_sys", "next_gc"} {
		fmt.Fprintf(&b, "%s %.0f ", name, m["go_memstats_"+name+"_bytes"]/(1<<20))
	}
	return strings.TrimSpace(b.String())
}

// rssSplit reads the control plane's RssAnon and RssFile in MiB from
// /proc/<pid>/status; zeros where there is no /proc.
func (c *controlPlane) rssSplit() (anon, file float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		switch {
		case err != nil:
		case name == "RssAnon":
			anon = kb / 1024
		case name == "RssFile":
			file = kb / 1024
		}
	}
	return anon, file
}

// liveTasks is the default cluster's running and pending tasks.
func (c *controlPlane) liveTasks() (int, error) {
	out, err := c.ecs.DescribeClusters(c.ctx, &berthv1.DescribeClustersRequest{})
	if err != nil {
		return 0, err
	}
	return int(out.Clusters[0].GetRunningTasksCount() + out.Clusters[0].GetPendingTasksCount()), nil
}

// waitServing waits until the control plane answers DescribeClusters with
// at least the tasks it had: it has its state back.
func (c *controlPlane) waitServing(tasks int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if n, err := c.liveTasks(); err == nil && n >= tasks { // calls still in flight at the stop may have added some
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("the restarted control plane did not serve its tasks within 5 minutes")
}

// waitTasks waits until the default cluster has n tasks placed, then n
// RUNNING, and says when each happened.
func (c *controlPlane) waitTasks(n int, within time.Duration) (placed, running time.Time, err error) {
	deadline := time.Now().Add(within)
	last := time.Now()
	for time.Now().Before(deadline) {
		out, err := c.ecs.DescribeClusters(c.ctx, &berthv1.DescribeClustersRequest{})
		if err != nil {
			return placed, running, err
		}
		cl := out.Clusters[0]
		now := time.Now()
		if placed.IsZero() && int(cl.GetRunningTasksCount()+cl.GetPendingTasksCount()) >= n {
			placed = now
		}
		if int(cl.GetRunningTasksCount()) >= n {
			return placed, now, nil
		}
		if now.Sub(last) > 5*time.Second {
			logf("  pending %d running %d", cl.GetPendingTasksCount(), cl.GetRunningTasksCount())
			last = now
		}
		time.Sleep(100 * time.Millisecond)
	}
	return placed, running, fmt.Errorf("not all %d tasks RUNNING within %s", n, within)
}

// someTasks lists up to n task ARNs.
func (c *controlPlane) someTasks(n int) ([]string, error) {
	var arns []string
	token := ""
	for len(arns) < n {
		out, err := c.ecs.ListTasks(c.ctx, &berthv1.ListTasksRequest{NextToken: token})
		if err != nil {
			return nil, err
		}
		arns = append(arns, out.TaskArns...)
		if token = out.NextToken; token == "" {
			break
		}
	}
	return arns, nil
}

// stoppedTasks counts the default cluster's STOPPED tasks.
func (c *controlPlane) stoppedTasks() (int, error) {
	n, token := 0, ""
	for {
		out, err := c.ecs.ListTasks(c.ctx, &berthv1.ListTasksRequest{DesiredStatus: "STOPPED", MaxResults: 100, NextToken: token})
		if err != nil {
			return n, err
		}
		n += len(out.TaskArns)
		if token = out.NextToken; token == "" {
			return n, nil
		}
	}
}

// metrics reads the control plane's /metrics samples without labels.
func (c *controlPlane) metrics() (map[string]float64, error) {
	resp, err := http.Get("http://" + c.httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// profile fetches a CPU profile of the next d into file.what, in the
// background; the returned func waits for it.
func (c *controlPlane) profile(file, what string, d time.Duration) func() {
	if file == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.save(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), file+"."+what)
	}()
	return func() { <-done }
}

// heapProfile saves the control plane's heap and goroutine profiles as
// file.heap and file.goroutine.
func (c *controlPlane) heapProfile(file string) {
	if file != "" {
		c.save("/debug/pprof/heap", file+".heap")
		c.save("/debug/pprof/goroutine", file+".goroutine")
	}
}

// save writes what the admin-token-guarded HTTP path answers to file.
func (c *controlPlane) save(path, file string) {
	req, _ := http.NewRequest("GET", "http://"+c.httpAddr+path, nil)
	req.Header.Set("Authorization", c.bearer)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var f *os.File
		if f, err = os.Create(file); err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
	}
	if err != nil {
		logf("%s: %v", path, err)
	}
}

func (c *controlPlane) waitMetric(name string, want float64, within time.Duration) error {
	deadline, last := time.Now().Add(within), time.Now()
	var got float64
	for time.Now().Before(deadline) {
		m, err := c.metrics()
		if err == nil && m[name] >= want {
			return nil
		}
		got = m[name]
		if time.Since(last) > 5*time.Second {
			logf("  %s %v", name, got)
			last = time.Now()
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("%s: %v, not %v within %s", name, got, want, within)
}

// agents are the hollow agent processes.
type agents struct{ cmds []*exec.Cmd }

func startAgents(bin, work string, cp *controlPlane, o options) (*agents, error) {
	a := &agents{}
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	for i := range o.procs {
		n := o.instances / o.procs
		if i < o.instances%o.procs {
			n++
		}
		logFile, err := os.Create(filepath.Join(work, fmt.Sprintf("agents-%d.log", i)))
		if err != nil {
			return a, err
		}
		cmd := exec.Command(bin, "--runtime", "hollow", "--instances", strconv.Itoa(n),
			"--control-plane", cp.grpcAddr, "--join-token-file", filepath.Join(cp.dataDir, "join.token"),
			"--data-dir", filepath.Join(work, fmt.Sprintf("agents-%d", i)), "--cpu", "4096", "--memory", "16384",
			"--availability-zone", zones[i%len(zones)], "--instance-type", "m5.xlarge")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return a, err
		}
		a.cmds = append(a.cmds, cmd)
	}
	return a, nil
}

func (a *agents) stop() {
	for _, c := range a.cmds {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range a.cmds {
		c.Wait()
	}
}

// createServices registers one small task definition and creates the
// services, the tasks divided evenly among them.
func createServices(cp *controlPlane, o options) error {
	_, err := cp.ecs.RegisterTaskDefinition(cp.ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: "scale",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{
			Name: "app", Image: "berth-test/app", Cpu: 256, Memory: proto.Int32(512),
		}},
	})
	if err != nil {
		return err
	}
	// Eight clients create the services at once, as a deployment tool would.
	names := make(chan int)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for i := range names {
				n := o.tasks / o.services
				if i < o.tasks%o.services {
					n++
				}
				if err == nil {
					_, err = cp.ecs.CreateService(cp.ctx, &berthv1.CreateServiceRequest{
						ServiceName: fmt.Sprintf("svc-%03d", i), TaskDefinition: "scale", DesiredCount: proto.Int32(int32(n)),
					})
				}
			}
			errs <- err
		}()
	}
	for i := range o.services {
		names <- i
	}
	close(names)
	var first error
	for range 8 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// drive runs call from clients goroutines for d and returns the p99 latency
// in milliseconds and the calls per second.
func drive(clients int, d time.Duration, call func(*rand.Rand) error) (p99ms, perSec float64) {
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var firstErr error
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 1))
			var mine []time.Duration
			for time.Now().Before(end) {
				t := time.Now()
				err := call(r)
				mine = append(mine, time.Since(t))
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if errs > 0 {
		logf("  %d errors, the first: %v", errs, firstErr)
	}
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return float64(lat[len(lat)*99/100].Microseconds()) / 1000, float64(len(lat)) / since(start)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}
