// Command e2e measures how long a service takes to go from 0 to N RUNNING
// tasks on the local Docker, beside Docker Swarm doing the same on the same
// daemon and the floor of N plain container starts, 8 at a time. It prints
// one JSON object per N with the medians of a few runs.
//
//	go run ./bench/e2e -n 50,100 -runs 3
//
// It builds the project's tiny test image (nothing is pulled), puts the
// daemon in swarm mode for the Swarm runs and leaves it again, and removes
// every container, service and image it made.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/testimage"
)

// label marks everything the benchmark creates.
const label = "berth.bench"

type result struct {
	N          int       `json:"n"`
	Runs       int       `json:"runs"`
	BerthS     float64   `json:"berth_s"`
	SwarmS     float64   `json:"swarm_s"`
	FloorS     float64   `json:"floor_s"`
	Ratio      float64   `json:"ratio"`
	FloorRatio float64   `json:"floor_ratio"`
	BerthRuns  []float64 `json:"berth_runs_s"`
	SwarmRuns  []float64 `json:"swarm_runs_s"`
	FloorRuns  []float64 `json:"floor_runs_s"`
}

func main() {
	ns := flag.String("n", "50,100", "comma-separated task counts")
	runs := flag.Int("runs", 3, "runs of each, the median reported")
	skipSwarm := flag.Bool("skip-swarm", false, "do not measure Docker Swarm")
	flag.Parse()
	if err := run(*ns, *runs, *skipSwarm); err != nil {
		fmt.Fprintln(os.Stderr, "bench/e2e:", err)
		os.Exit(1)
	}
}

func run(ns string, runs int, skipSwarm bool) error {
	// Interrupted, the run stops waiting and still removes what it made.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	image, err := testimage.BuildApp()
	if err != nil {
		return fmt.Errorf("build the test image: %w", err)
	}
	defer testimage.Cleanup()
	out := json.NewEncoder(os.Stdout)
	for _, field := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n < 1 {
			return fmt.Errorf("-n: %q is not a task count", field)
		}
		r := result{N: n, Runs: runs}
		for range runs {
			s, err := floor(ctx, cli, image, n)
			if err != nil {
				return fmt.Errorf("floor: %w", err)
			}
			r.FloorRuns = append(r.FloorRuns, s)
			if s, err = berth(ctx, image, n); err != nil {
				return fmt.Errorf("berth: %w", err)
			}
			r.BerthRuns = append(r.BerthRuns, s)
			if !skipSwarm {
				if s, err = swarmRun(ctx, cli, image, n); err != nil {
					return fmt.Errorf("swarm: %w", err)
				}
				r.SwarmRuns = append(r.SwarmRuns, s)
			}
		}
		r.BerthS, r.SwarmS, r.FloorS = median(r.BerthRuns), median(r.SwarmRuns), median(r.FloorRuns)
		if r.SwarmS > 0 {
			r.Ratio = r.BerthS / r.SwarmS
		}
		r.FloorRatio = r.BerthS / r.FloorS
		if err := out.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// floor starts n plain containers, 8 at a time, and removes them.
func floor(ctx context.Context, cli *client.Client, image string, n int) (float64, error) {
	defer removeLabelled(context.WithoutCancel(ctx), cli)
	start := time.Now()
	sem := make(chan struct{}, 8)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := cli.ContainerCreate(ctx, &container.Config{Image: image, Cmd: []string{"sleep"}, Labels: map[string]string{label: "floor"}},
				&container.HostConfig{Resources: container.Resources{Memory: 16 << 20}}, nil, nil, "")
			if err == nil {
				err = cli.ContainerStart(ctx, c.ID, container.StartOptions{})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start).Seconds(), nil
}

func removeLabelled(ctx context.Context, cli *client.Client) {
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return
	}
	for _, c := range cs {
		cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	}
}

// berth runs a control plane and one agent on the local Docker, creates a
// service of n tasks and times it from CreateService to n RUNNING.
func berth(ctx context.Context, image string, n int) (float64, error) {
	dir, err := os.MkdirTemp("", "berth-bench-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: dir + "/cp", GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", Logger: quiet})
	if err != nil {
		return 0, err
	}
	defer cp.Shutdown(context.Background())
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		return 0, err
	}
	defer rt.Close()
	agentCtx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- agent.Run(agentCtx, agent.Config{ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(),
			AvailabilityZone: "local-1a", InstanceType: "bench", CPU: 64 * 1024, Memory: 64 * 1024,
			Runtime: rt, DataDir: dir + "/agent", Logger: quiet, RemoveContainersOnExit: true})
	}()
	defer func() { stopAgent(); <-agentDone }()

	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ecs := berthv1.NewECSClient(conn)
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cp.AdminToken())
	if err := waitFor(ctx, 30*time.Second, func() (bool, error) {
		l, err := ecs.ListContainerInstances(actx, &berthv1.ListContainerInstancesRequest{Filter: "agentConnected == true"})
		return len(l.GetContainerInstanceArns()) == 1, err
	}); err != nil {
		return 0, fmt.Errorf("agent: %w", err)
	}
	_, err = ecs.RegisterTaskDefinition(actx, &berthv1.RegisterTaskDefinitionRequest{Family: "bench",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: image, Command: []string{"sleep"}, Memory: proto.Int32(16)}}})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := ecs.CreateService(actx, &berthv1.CreateServiceRequest{ServiceName: "bench", TaskDefinition: "bench", DesiredCount: proto.Int32(int32(n))}); err != nil {
		return 0, err
	}
	err = waitFor(ctx, 5*time.Minute, func() (bool, error) {
		d, err := ecs.DescribeServices(actx, &berthv1.DescribeServicesRequest{Services: []string{"bench"}})
		return err == nil && len(d.Services) == 1 && d.Services[0].GetRunningCount() == int32(n), err
	})
	took := time.Since(start).Seconds()
	if err != nil {
		return 0, err
	}
	return took, nil
}

// swarmRun puts the daemon in swarm mode, creates a service of n replicas and
// times it to n running tasks, then leaves swarm mode.
func swarmRun(ctx context.Context, cli *client.Client, image string, n int) (float64, error) {
	_, gwErr := cli.NetworkInspect(ctx, "docker_gwbridge", network.InspectOptions{})
	if _, err := cli.SwarmInit(ctx, swarm.InitRequest{ListenAddr: "127.0.0.1:2377", AdvertiseAddr: "127.0.0.1:2377"}); err != nil {
		return 0, fmt.Errorf("swarm init: %w", err)
	}
	defer func() {
		cli.SwarmLeave(context.Background(), true)
		if gwErr != nil { // swarm made the gateway bridge: take it away again
			cli.NetworkRemove(context.Background(), "docker_gwbridge")
		}
	}()
	replicas := uint64(n)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: "berth-bench", Labels: map[string]string{label: "swarm"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: image, Args: []string{"sleep"}},
			Resources: &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: 16 << 20}}},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	start := time.Now()
	created, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		return 0, err
	}
	defer func() {
		cli.ServiceRemove(context.Background(), created.ID)
		waitFor(context.Background(), 2*time.Minute, func() (bool, error) {
			cs, err := cli.ContainerList(context.Background(), container.ListOptions{All: true,
				Filters: filters.NewArgs(filters.Arg("label", "com.docker.swarm.service.id="+created.ID))})
			return len(cs) == 0, err
		})
	}()
	err = waitFor(ctx, 5*time.Minute, func() (bool, error) {
		tasks, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", created.ID))})
		running := 0
		for _, t := range tasks {
			if t.Status.State == swarm.TaskStateRunning {
				running++
			}
		}
		return running == n, err
	})
	return time.Since(start).Seconds(), err
}

// waitFor polls cond until it holds, limit passes or ctx ends.
func waitFor(ctx context.Context, limit time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("not within %s", limit), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
