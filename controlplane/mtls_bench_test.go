package controlplane_test

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/pki"
)

// TestSessionCPUWithMTLS compares the process's CPU (control plane and
// hollow agents together) while N agents heartbeat over mutual TLS and over
// plain text. It runs only with BERTH_BENCH_MTLS=N (e.g. 1000), without
// -race, and prints the ratio; it asserts nothing about time.
func TestSessionCPUWithMTLS(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_MTLS"))
	if n <= 0 {
		t.Skip("set BERTH_BENCH_MTLS=N to run")
	}
	measure := func(mtls bool) (time.Duration, int) {
		c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, AgentTTL: 5 * time.Second})
		tok := c.CP.JoinToken()
		if !mtls {
			jt, _ := pki.ParseJoinToken(tok)
			tok = jt.Secret // the older plain bearer token: plain text
		}
		agents := make([]*cptest.Agent, n)
		for i := range agents {
			agents[i] = c.StartAgent(t, agent.Config{JoinToken: tok})
		}
		for deadline := time.Now().Add(3 * time.Minute); metricValue(t, "http://"+c.CP.HTTPAddr()+"/metrics?access="+c.CP.ViewerToken(), "berth_agent_sessions") < float64(n); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d sessions not open within 3 minutes", n)
			}
		}
		time.Sleep(time.Second)
		hb0 := heartbeats(t, c)
		cpu0 := cpuTime()
		time.Sleep(10 * time.Second)
		cpu := cpuTime() - cpu0
		hb := heartbeats(t, c) - hb0
		for _, a := range agents {
			a.Stop()
		}
		return cpu, hb
	}
	plainCPU, plainHB := measure(false)
	tlsCPU, tlsHB := measure(true)
	t.Logf("%d agents, 10 s: plain text %v CPU for %d heartbeats; mutual TLS %v CPU for %d heartbeats; CPU ratio %.2fx",
		n, plainCPU, plainHB, tlsCPU, tlsHB, float64(tlsCPU)/float64(plainCPU)*float64(plainHB)/float64(tlsHB))
}

func heartbeats(t *testing.T, c *cptest.Cluster) int {
	t.Helper()
	m := metricValue(t, "http://"+c.CP.HTTPAddr()+"/metrics?access="+c.CP.ViewerToken(), "berth_agent_heartbeats_total")
	return int(m)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// metricValue reads one unlabelled sample of /metrics.
func metricValue(t *testing.T, rawURL, name string) float64 {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}
