// Command registry measures the task definition registry over real gRPC on
// loopback with durable writes: RegisterTaskDefinition and
// DescribeTaskDefinition from many concurrent clients. It starts its own
// control plane on a temporary data dir and prints one JSON object.
//
//	go run ./bench/registry -clients 32 -duration 10s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
)

type result struct {
	Operation string  `json:"operation"`
	Clients   int     `json:"clients"`
	Conns     int     `json:"connections"`
	Calls     int     `json:"calls"`
	Errors    int     `json:"errors"`
	PerSec    float64 `json:"per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	DurationS float64 `json:"duration_s"`
	Revisions int32   `json:"last_revision,omitempty"`
	Durable   bool    `json:"durable_writes,omitempty"`
}

func main() {
	clients := flag.Int("clients", 32, "concurrent gRPC clients")
	conns := flag.Int("conns", 0, "gRPC connections the clients share, round robin (default: one per client)")
	duration := flag.Duration("duration", 10*time.Second, "how long each operation is driven")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/registry:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *conns <= 0 || *conns > *clients {
		*conns = *clients
	}
	if err := run(*clients, *conns, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "bench/registry:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(clients, conns int, duration time.Duration) error {
	dir, err := os.MkdirTemp("", "berth-bench-registry-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer cp.Shutdown(context.Background())
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken())

	shared := make([]berthv1.ECSClient, conns)
	for i := range shared {
		conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return err
		}
		defer conn.Close()
		shared[i] = berthv1.NewECSClient(conn)
	}
	callers := make([]berthv1.ECSClient, clients)
	for i := range callers {
		callers[i] = shared[i%conns]
	}
	req := &berthv1.RegisterTaskDefinitionRequest{
		Family:      "web",
		NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{
			Name: "web", Image: "nginx", Cpu: 256, Memory: proto.Int32(512),
			PortMappings: []*berthv1.PortMapping{{ContainerPort: 80}},
			Environment:  []*berthv1.KeyValuePair{{Name: "MODE", Value: "bench"}},
		}},
	}
	register := drive("RegisterTaskDefinition", callers, duration, func(c berthv1.ECSClient) error {
		_, err := c.RegisterTaskDefinition(ctx, req)
		return err
	})
	last, err := callers[0].DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web"})
	if err != nil {
		return err
	}
	register.Revisions = last.TaskDefinition.Revision
	register.Durable = true
	describe := drive("DescribeTaskDefinition", callers, duration, func(c berthv1.ECSClient) error {
		_, err := c.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:1"})
		return err
	})
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	register.Conns, describe.Conns = conns, conns
	return out.Encode(map[string]any{"register": register, "describe": describe})
}

// drive calls call from every client in a loop for d and reports throughput
// and latency percentiles.
func drive(op string, conns []berthv1.ECSClient, d time.Duration, call func(berthv1.ECSClient) error) result {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				t := time.Now()
				if err := call(c); err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	return result{
		Operation: op, Clients: len(conns), Calls: len(latencies), Errors: errs,
		PerSec: float64(len(latencies)) / elapsed.Seconds(), P50Ms: pct(0.50), P99Ms: pct(0.99),
		DurationS: elapsed.Seconds(),
	}
}
