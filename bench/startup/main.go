// Command startup measures how fast the control plane starts and how much
// memory it holds idle. It builds cmd/controlplane once, then -n times starts
// it on a fresh data dir (a cold start: tokens, keys and the state file are
// made) and once more on the same data dir (a warm start), each time with
// every service on, as `controlplane --data-dir DIR` runs. For each start it
// measures the time from starting the process until GET /healthz answers 200
// (polled every millisecond), the resident memory (VmRSS) after -idle of
// idling, and the time from SIGTERM to exit. A trivial Go HTTP server
// (bench/startup/baseline), built in the same run, is measured the same way
// as the baseline; the ratios are the control plane's over it. It prints one
// JSON object. Linux only (/proc).
//
//	go run ./bench/startup -n 10
//
// The ports are picked free beforehand, so that /healthz can be polled from
// the first millisecond: the control plane listens on ":0" too, but it only
// tells the port it got in its log line "control plane serving".
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The project's targets for a control plane with every service on.
const (
	targetStartMs = 100
	targetIdleMiB = 40
)

type stats struct {
	StartP50Ms float64 `json:"start_p50_ms"`
	StartMaxMs float64 `json:"start_max_ms"`
	RSSP50MiB  float64 `json:"idle_rss_p50_mib"`
	RSSMaxMiB  float64 `json:"idle_rss_max_mib"`
	StopP50Ms  float64 `json:"stop_p50_ms"`
	StopMaxMs  float64 `json:"stop_max_ms"`
}

type ratios struct {
	ColdStart float64 `json:"cold_start_p50"`
	WarmStart float64 `json:"warm_start_p50"`
	ColdRSS   float64 `json:"cold_idle_rss_p50"`
	WarmRSS   float64 `json:"warm_idle_rss_p50"`
}

type result struct {
	Runs       int     `json:"runs"`
	IdleS      float64 `json:"idle_s"`
	Cores      int     `json:"cores"`
	Go         string  `json:"go"`
	BinaryMiB  float64 `json:"controlplane_binary_mib"`
	Cold       stats   `json:"cold"`
	Warm       stats   `json:"warm"`
	Baseline   stats   `json:"baseline"`
	Ratio      ratios  `json:"ratio_to_baseline"`
	TargetMs   float64 `json:"target_start_ms"`
	TargetMiB  float64 `json:"target_idle_rss_mib"`
	MeetsStart bool    `json:"meets_start_target"`
	MeetsRSS   bool    `json:"meets_idle_rss_target"`
}

// sample is one start.
type sample struct{ startMs, rssMiB, stopMs float64 }

func main() {
	n := flag.Int("n", 10, "cold starts (each followed by a warm start on its data dir) and baseline starts")
	idle := flag.Duration("idle", 2*time.Second, "how long a started process idles before its RSS is read")
	flag.Parse()
	if err := run(*n, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "bench/startup:", err)
		os.Exit(1)
	}
}

func run(n int, idle time.Duration) error {
	if n < 1 {
		return errors.New("-n must be at least 1")
	}
	dir, err := os.MkdirTemp("", "berth-bench-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, base := filepath.Join(dir, "controlplane"), filepath.Join(dir, "baseline")
	for bin, pkg := range map[string]string{cp: "./cmd/controlplane", base: "./bench/startup/baseline"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s (run from the repository root): %w", pkg, err)
		}
	}
	var cold, warm, baseline []sample
	for i := range n {
		// Interleaved, so that whatever else the machine does weighs on all
		// three alike.
		s, err := measure(base, idle, func(addr string) []string { return []string{"--http-addr", addr} })
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		baseline = append(baseline, s)
		data := filepath.Join(dir, fmt.Sprintf("data-%d", i))
		args := func(addr string) []string {
			return []string{"--data-dir", data, "--grpc-addr", freeAddr(), "--http-addr", addr, "--registry-addr", freeAddr()}
		}
		if s, err = measure(cp, idle, args); err != nil {
			return fmt.Errorf("cold start: %w", err)
		}
		cold = append(cold, s)
		if s, err = measure(cp, idle, args); err != nil {
			return fmt.Errorf("warm start: %w", err)
		}
		warm = append(warm, s)
		fmt.Fprintf(os.Stderr, "run %d: baseline %.1f ms %.1f MiB, cold %.1f ms %.1f MiB, warm %.1f ms %.1f MiB\n",
			i+1, baseline[i].startMs, baseline[i].rssMiB, cold[i].startMs, cold[i].rssMiB, warm[i].startMs, warm[i].rssMiB)
	}
	res := result{Runs: n, IdleS: idle.Seconds(), Cores: runtime.NumCPU(), Go: runtime.Version(),
		Cold: summarize(cold), Warm: summarize(warm), Baseline: summarize(baseline),
		TargetMs: targetStartMs, TargetMiB: targetIdleMiB}
	if fi, err := os.Stat(cp); err == nil {
		res.BinaryMiB = round(float64(fi.Size()) / (1 << 20))
	}
	b := res.Baseline
	res.Ratio = ratios{
		ColdStart: round(res.Cold.StartP50Ms / b.StartP50Ms), WarmStart: round(res.Warm.StartP50Ms / b.StartP50Ms),
		ColdRSS: round(res.Cold.RSSP50MiB / b.RSSP50MiB), WarmRSS: round(res.Warm.RSSP50MiB / b.RSSP50MiB),
	}
	res.MeetsStart = max(res.Cold.StartMaxMs, res.Warm.StartMaxMs) < targetStartMs
	res.MeetsRSS = max(res.Cold.RSSMaxMiB, res.Warm.RSSMaxMiB) < targetIdleMiB
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// measure starts bin with args(HTTP address), times it to its first 200 from
// /healthz, reads its RSS after idle, and stops it with SIGTERM.
func measure(bin string, idle time.Duration, args func(httpAddr string) []string) (sample, error) {
	httpAddr := freeAddr()
	cmd := exec.Command(bin, args(httpAddr)...)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	url := "http://" + httpAddr + "/healthz"
	// A connection per poll, as a load balancer's health check makes.
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) (sample, error) {
		cmd.Process.Kill()
		<-exited
		return sample{}, fmt.Errorf("%w\n%s", err, output.String())
	}
	var s sample
	for {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.startMs = ms(time.Since(t0))
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return fail(fmt.Errorf("exited before /healthz answered: %v", err))
		case <-time.After(time.Millisecond):
		}
		if time.Since(t0) > 30*time.Second {
			return fail(errors.New("/healthz did not answer 200 within 30s"))
		}
	}
	time.Sleep(idle)
	rss, err := rssMiB(cmd.Process.Pid)
	if err != nil {
		return fail(err)
	}
	s.rssMiB = rss
	t1 := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fail(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			return sample{}, fmt.Errorf("after SIGTERM: %w\n%s", err, output.String())
		}
	case <-time.After(30 * time.Second):
		return fail(errors.New("still running 30s after SIGTERM"))
	}
	s.stopMs = ms(time.Since(t1))
	return s, nil
}

// rssMiB is the process's resident set (VmRSS) in MiB.
func rssMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return round(kb / 1024), nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

func summarize(samples []sample) stats {
	pick := func(f func(sample) float64) (p50, top float64) {
		v := make([]float64, len(samples))
		for i, s := range samples {
			v[i] = f(s)
		}
		slices.Sort(v)
		return round(v[(len(v)-1)/2]), round(v[len(v)-1])
	}
	var st stats
	st.StartP50Ms, st.StartMaxMs = pick(func(s sample) float64 { return s.startMs })
	st.RSSP50MiB, st.RSSMaxMiB = pick(func(s sample) float64 { return s.rssMiB })
	st.StopP50Ms, st.StopMaxMs = pick(func(s sample) float64 { return s.stopMs })
	return st
}

// freeAddr is a loopback address with a port free now. Another process could
// take it before ours listens; on a machine that runs the benchmark that is
// rare, and the start then fails rather than measuring something else.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
