package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ghzVersion is the ghz release the harness installs (go install).
const ghzVersion = "v0.93.0"

// ghzResult is one ghz run's numbers.
type ghzResult struct {
	Call         string         `json:"call"`
	Concurrency  int            `json:"concurrency"`
	Requests     int            `json:"requests"`
	PerSec       float64        `json:"per_sec"`
	P99Ms        float64        `json:"p99_ms"`
	StatusCounts map[string]int `json:"status_counts"`
}

// installGhz installs ghz into dir with go install.
func installGhz(dir string) (string, error) {
	cmd := exec.Command("go", "install", "github.com/bojand/ghz/cmd/ghz@"+ghzVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install ghz: %v: %s", err, out)
	}
	return filepath.Join(dir, "ghz"), nil
}

// runGhz drives one method of the ECS service with ghz (server reflection
// finds the schema) and reads its JSON report.
func runGhz(bin string, cp *controlPlane, method string, body any, concurrency int, duration string) (ghzResult, error) {
	data, _ := json.Marshal(body)
	md, _ := json.Marshal(map[string]string{"authorization": cp.bearer})
	cmd := exec.Command(bin, "--insecure", "--call", "berth.v1.ECS."+method,
		"-c", fmt.Sprint(concurrency), "-z", duration, "-d", string(data), "-m", string(md), "-O", "json", cp.grpcAddr)
	out, err := cmd.Output()
	if err != nil {
		return ghzResult{}, fmt.Errorf("ghz %s: %w", method, err)
	}
	var report struct {
		Count               int     `json:"count"`
		Rps                 float64 `json:"rps"`
		LatencyDistribution []struct {
			Percentage int     `json:"percentage"`
			Latency    float64 `json:"latency"` // nanoseconds
		} `json:"latencyDistribution"`
		StatusCodeDistribution map[string]int `json:"statusCodeDistribution"`
	}
	if err := json.Unmarshal(out, &report); err != nil {
		return ghzResult{}, fmt.Errorf("ghz %s report: %w", method, err)
	}
	res := ghzResult{Call: method, Concurrency: concurrency, Requests: report.Count, PerSec: report.Rps, StatusCounts: report.StatusCodeDistribution}
	for _, l := range report.LatencyDistribution {
		if l.Percentage == 99 {
			res.P99Ms = l.Latency / 1e6
		}
	}
	return res, nil
}
