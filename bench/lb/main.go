// Command lb measures berth's load balancer listener (package elbv2/proxy):
// requests per second and latency percentiles of the same closed-loop load
// (-concurrency clients for -duration, keep-alive) sent straight to one
// target, through a berth listener round robin over -targets targets, and,
// when haproxy is on PATH, through haproxy with the same targets (HTTP mode,
// round robin, keep-alive). The targets are Go HTTP servers in this process
// answering a small body; everything shares this machine's cores, so the
// numbers compare the paths with each other, not with a fleet. It prints one
// JSON object.
//
//	go run ./bench/lb -duration 5s -concurrency 32
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
	"github.com/berth/berth/elbv2/proxy"
)

type result struct {
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	PerSecond float64 `json:"requests_per_second"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
}

func main() {
	duration := flag.Duration("duration", 5*time.Second, "how long each load runs")
	concurrency := flag.Int("concurrency", 32, "clients sending at once")
	targets := flag.Int("targets", 3, "targets behind the listener")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lb:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*duration, *concurrency, *targets); err != nil {
		fmt.Fprintln(os.Stderr, "lb:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(duration time.Duration, concurrency, n int) error {
	body := strings.Repeat("x", 256)
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
		go srv.Serve(ln)
		defer srv.Close()
		addrs = append(addrs, ln.Addr().String())
	}

	m := proxy.New(proxy.Options{})
	defer m.Close(context.Background())
	const tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/bench/0000000000000000"
	if err := m.Bind("bench", "127.0.0.1:0"); err != nil {
		return err
	}
	gc := elbv2.GroupConfig{Arn: tg, Algorithm: elbv2.RoundRobin, InUse: true, TargetGroup: &berthv1.ELBTargetGroup{TargetGroupArn: tg, HealthCheckEnabled: new(bool)}}
	for _, a := range addrs {
		gc.Targets = append(gc.Targets, elbv2.TargetConfig{Key: a, Addr: a})
	}
	one := int32(1)
	yes := true
	m.Apply(elbv2.Config{Listeners: []elbv2.ListenerConfig{{Arn: "bench", Addr: "127.0.0.1:0", Port: 80, Rules: []*berthv1.ELBRule{{
		Priority: "default", IsDefault: &yes, Actions: []*berthv1.ELBAction{{Type: "forward", TargetGroupArn: tg,
			ForwardConfig: &berthv1.ELBForwardActionConfig{TargetGroups: []*berthv1.ELBTargetGroupTuple{{TargetGroupArn: tg, Weight: &one}}}}}}}}},
		Groups: []elbv2.GroupConfig{gc}})

	out := map[string]any{"duration_s": duration.Seconds(), "concurrency": concurrency, "targets": n}
	direct := load("http://"+addrs[0]+"/", duration, concurrency)
	berth := load("http://"+m.Addr("bench")+"/", duration, concurrency)
	out["direct_to_one_target"] = direct
	out["berth_listener"] = berth
	out["berth_vs_direct_throughput"] = round(berth.PerSecond / direct.PerSecond)
	out["berth_p99_overhead_ms"] = round(berth.P99ms - direct.P99ms)
	if hp, err := haproxy(addrs, duration, concurrency); err != nil {
		out["haproxy"] = err.Error()
	} else {
		out["haproxy"] = hp
		out["berth_vs_haproxy_throughput"] = round(berth.PerSecond / hp.PerSecond)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func round(f float64) float64 { return float64(int(f*1000+0.5)) / 1000 }

// load runs concurrency clients against url for d.
func load(url string, d time.Duration, concurrency int) result {
	tr := &http.Transport{MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	// Warm the connections up first.
	for range concurrency {
		if resp, err := client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					bad++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return round(float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000)
	}
	return result{Requests: len(lat), Errors: errs, PerSecond: round(float64(len(lat)) / elapsed.Seconds()), P50ms: pct(0.5), P99ms: pct(0.99)}
}

// haproxy runs the same load through haproxy in front of the same targets.
func haproxy(addrs []string, d time.Duration, concurrency int) (result, error) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		return result{}, fmt.Errorf("haproxy is not installed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "bench-lb-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global\n  maxconn 4096\n  nbthread 2\ndefaults\n  mode http\n  timeout connect 10s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\nfrontend web\n  bind %s\n  default_backend targets\nbackend targets\n  balance roundrobin\n", addr)
	for i, a := range addrs {
		fmt.Fprintf(&cfg, "  server t%d %s\n", i, a)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		return result{}, err
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 100 {
			return result{}, fmt.Errorf("haproxy did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return load("http://"+addr+"/", d, concurrency), nil
}
