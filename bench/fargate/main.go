// Command fargate measures the Fargate pool: N Fargate tasks from PENDING
// demand to RUNNING on a pool that starts empty, with in-process hollow hosts
// and no provisioning delay. It starts its own control plane on a temporary
// data dir, creates one FARGATE service per task size (the sizes share the
// tasks equally), waits until every task runs and prints one JSON object:
// the time, the pool hosts used against the lower bound (the tasks' total
// CPU and memory over the host size, whichever needs more hosts), the peak
// pool size and the pool's utilization once steady.
//
//	go run ./bench/fargate -tasks 1000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/engine"
	rt "github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/internal/inprocess"
)

type result struct {
	Tasks          int      `json:"tasks"`
	Sizes          []string `json:"sizes"`
	HostCPU        int      `json:"host_cpu"`
	HostMemory     int      `json:"host_memory_mib"`
	ProvisionDelay string   `json:"provisioning_delay"`
	Runtime        string   `json:"runtime"`
	// SecondsToRunning is from the first CreateService to every task RUNNING.
	SecondsToRunning float64 `json:"seconds_to_all_running"`
	HostsUsed        int     `json:"hosts_used"`
	HostsPeak        int     `json:"hosts_peak"`
	HostsLowerBound  int     `json:"hosts_lower_bound"`
	CPUUtilization   float64 `json:"pool_cpu_utilization"`
	MemUtilization   float64 `json:"pool_memory_utilization"`
	// Utilization is the fuller resource's: what limits packing.
	Utilization float64 `json:"pool_utilization"`
}

func main() {
	tasks := flag.Int("tasks", 1000, "Fargate tasks to run")
	sizes := flag.String("sizes", "256/512,512/1024,1024/2048,2048/4096", "task sizes cpu/memory, comma-separated; the tasks are shared equally")
	hostCPU := flag.Int("host-cpu", fargate.DefaultHostCPU, "pool host CPU units")
	hostMemory := flag.Int("host-memory", fargate.DefaultHostMemory, "pool host memory (MiB)")
	delay := flag.Duration("delay", 0, "provisioning delay of each host")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after")
	flag.Parse()
	if err := run(*tasks, strings.Split(*sizes, ","), *hostCPU, *hostMemory, *delay, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/fargate:", err)
		os.Exit(1)
	}
}

func run(n int, sizes []string, hostCPU, hostMemory int, delay, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "berth-bench-fargate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	prov := &inprocess.Pool{
		Runtime: func(hostpool.HostSpec) (rt.Runtime, error) { return hollow.New(hollow.Config{}), nil },
		DataDir: filepath.Join(dir, "pool"), Delay: delay, Engine: engine.Options{PauseImage: "pause"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: filepath.Join(dir, "cp"), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fargate: fargate.Config{Provisioner: prov, HostCPU: hostCPU, HostMemory: hostMemory, MaxHosts: 4 * n,
			Cooldown: time.Hour, Resync: 500 * time.Millisecond},
	})
	if err != nil {
		return err
	}
	defer cp.Shutdown(context.Background())
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken())
	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ecs := berthv1.NewECSClient(conn)

	var sumCPU, sumMemory int64
	counts := make([]int, len(sizes))
	for i := range n {
		counts[i%len(sizes)]++
	}
	for i, size := range sizes {
		cpu, memory, ok := strings.Cut(strings.TrimSpace(size), "/")
		c, err1 := strconv.Atoi(cpu)
		m, err2 := strconv.Atoi(memory)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("size %q: want cpu/memory", size)
		}
		sumCPU += int64(c * counts[i])
		sumMemory += int64(m * counts[i])
		_, err := ecs.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{
			Family: fmt.Sprintf("size%d", i), RequiresCompatibilities: []string{"FARGATE"}, NetworkMode: "awsvpc", Cpu: cpu, Memory: memory,
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "bench/app"}},
		})
		if err != nil {
			return err
		}
	}
	lower := int(math.Ceil(max(float64(sumCPU)/float64(hostCPU), float64(sumMemory)/float64(hostMemory))))

	pool := cp.FargatePool()
	start := time.Now()
	names := make([]string, len(sizes))
	for i := range sizes {
		names[i] = fmt.Sprintf("svc%d", i)
		if _, err := ecs.CreateService(ctx, &berthv1.CreateServiceRequest{ServiceName: names[i], TaskDefinition: fmt.Sprintf("size%d", i),
			LaunchType: "FARGATE", DesiredCount: proto.Int32(int32(counts[i]))}); err != nil {
			return err
		}
	}
	peak := 0
	var took time.Duration
	for {
		s := pool.Stats("default")
		peak = max(peak, s.Hosts+s.Starting)
		res, err := ecs.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: names})
		if err != nil {
			return err
		}
		running := 0
		for _, svc := range res.Services {
			running += int(svc.GetRunningCount())
		}
		if running == n {
			took = time.Since(start)
			break
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("%d of %d tasks RUNNING after %v; pool %+v", running, n, timeout, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // steady: nothing more should start
	s := pool.Stats("default")
	peak = max(peak, s.Hosts+s.Starting)
	cpuUtil := float64(s.ReservedCPU) / float64(max(s.RegisteredCPU, 1))
	memUtil := float64(s.ReservedMemory) / float64(max(s.RegisteredMemory, 1))
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	return out.Encode(result{
		Tasks: n, Sizes: sizes, HostCPU: hostCPU, HostMemory: hostMemory, ProvisionDelay: delay.String(), Runtime: "hollow",
		SecondsToRunning: round(took.Seconds()), HostsUsed: s.Hosts, HostsPeak: peak, HostsLowerBound: lower,
		CPUUtilization: round(cpuUtil), MemUtilization: round(memUtil), Utilization: round(max(cpuUtil, memUtil)),
	})
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }
