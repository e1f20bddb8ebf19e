// Command lambda measures berth's Lambda runner on the local Docker and
// prints one JSON object:
//
//   - warm invocations (an aws-lambda-go function FROM scratch echoing its
//     event) p50 / p99 and throughput, beside a plain HTTP call over loopback
//     to a server doing the same work (decode the event, encode the value):
//     the runner's overhead;
//   - cold starts (a new environment: ECS task placed by the scheduler,
//     container started, runtime's first call, the invocation) beside
//     `docker run` of the same image answering its first request through a
//     Runtime API: the ratio;
//   - 0 -> N concurrent environments: N invocations at once of a function
//     that sleeps, the time until all answered, and how many were throttled.
//
// It starts its own control plane on a temporary data dir and an agent on the
// local Docker in the berth-lambda cluster, and removes what it made.
//
//	go run ./bench/lambda -warm 500 -cold 5 -concurrency 20
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/testimage"
	"github.com/berth/berth/lambda/environments"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/runtimeapi"
)

type latency struct {
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
	// PerSecond is sequential throughput (one caller).
	PerSecond float64 `json:"per_second"`
}

type result struct {
	Warm      latency `json:"warm_invoke"`
	PlainHTTP latency `json:"plain_http"`
	// WarmOverheadP99MS is warm p99 less plain p99.
	WarmOverheadP99MS float64 `json:"warm_overhead_p99_ms"`
	WarmRatioP50      float64 `json:"warm_ratio_p50"`

	ColdStartMS      float64 `json:"cold_start_ms_median"`
	ColdInitMS       float64 `json:"cold_init_duration_ms_median"`
	DockerRunFirstMS float64 `json:"docker_run_first_request_ms_median"`
	ColdRatio        float64 `json:"cold_ratio"`

	Concurrency      int     `json:"concurrency"`
	ConcurrentSecs   float64 `json:"zero_to_n_seconds"`
	ConcurrentOK     int     `json:"zero_to_n_answered"`
	ConcurrentThrott int     `json:"zero_to_n_throttled"`
	// DockerRunNSecs is N `docker run`s at once, each up to its first
	// answer: the same burst without berth.
	DockerRunNSecs float64 `json:"docker_run_n_seconds"`
	MemoryMB       int     `json:"memory_mb"`
}

func main() {
	warm := flag.Int("warm", 500, "warm invocations")
	cold := flag.Int("cold", 5, "cold starts (and docker runs)")
	conc := flag.Int("concurrency", 20, "concurrent environments from zero")
	memory := flag.Int("memory", 128, "the function's MemorySize (MB): its memory limit, and its CPU in proportion (1,769 MB = 1 vCPU)")
	flag.Parse()
	res, err := run(*warm, *cold, *conc, *memory)
	if cerr := testimage.Cleanup(); cerr != nil {
		fmt.Fprintln(os.Stderr, "bench/lambda:", cerr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/lambda:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(out))
}

func run(nWarm, nCold, nConc, memory int) (*result, error) {
	image, err := testimage.BuildLambda()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-bench-lambda-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		RegistryAddr: "127.0.0.1:0", Logger: quiet, HeartbeatPeriod: 200 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), 20*time.Second)
		defer c()
		cp.Shutdown(sctx)
	}()
	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	auth := func(ctx context.Context) context.Context {
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cp.AdminToken())
	}
	ecs := berthv1.NewECSClient(conn)
	if _, err := ecs.CreateCluster(auth(ctx), &berthv1.CreateClusterRequest{ClusterName: environments.DefaultCluster}); err != nil {
		return nil, err
	}
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	actx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- agent.Run(actx, agent.Config{ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(), Cluster: environments.DefaultCluster,
			CPU: 1 << 16, Memory: 1 << 16, Runtime: rt, DataDir: dir + "/agent", Logger: quiet, RemoveContainersOnExit: true,
			Engine: engine.Options{StopTimeout: 2 * time.Second}})
	}()
	defer func() { stopAgent(); <-agentDone }()
	pool := environments.New(environments.Config{Logger: quiet, Launcher: environments.NewECSLauncher(environments.ECSConfig{
		ECS: environments.ECSClient{C: ecs, Auth: auth}, Logger: quiet, DockerLabels: map[string]string{"berth.test": "1"}})})
	defer pool.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		l, err := ecs.ListContainerInstances(auth(ctx), &berthv1.ListContainerInstancesRequest{Cluster: environments.DefaultCluster})
		if err == nil && len(l.ContainerInstanceArns) == 1 {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the agent did not join")
		}
	}
	fn := func(name string) invoke.Function {
		return invoke.Function{ARN: "arn:aws:lambda:us-east-1:000000000000:function:" + name + ":$LATEST", Name: name, Version: "$LATEST",
			PackageType: "Image", Image: image, MemoryMB: int32(memory), Timeout: 30 * time.Second, ReservedConcurrency: -1}
	}
	res := &result{Concurrency: nConc, MemoryMB: memory}
	event := []byte(`{"op":"echo","value":{"n":1}}`)

	// Cold starts: a new function each time.
	var colds, inits, runs []time.Duration
	for i := range nCold {
		start := time.Now()
		r, err := pool.Invoke(ctx, invoke.Request{Function: fn(fmt.Sprintf("cold%d", i)), Payload: event})
		if err != nil || r.FunctionError != "" {
			return nil, fmt.Errorf("cold invoke: %v %s", err, r.Payload)
		}
		colds, inits = append(colds, time.Since(start)), append(inits, r.InitDuration)
		d, err := dockerRunFirst(ctx, image, event, memory)
		if err != nil {
			return nil, err
		}
		runs = append(runs, d)
	}
	res.ColdStartMS, res.ColdInitMS, res.DockerRunFirstMS = ms(median(colds)), ms(median(inits)), ms(median(runs))
	res.ColdRatio = res.ColdStartMS / res.DockerRunFirstMS

	// Warm: one environment, one caller.
	wf := fn("warm")
	if _, err := pool.Invoke(ctx, invoke.Request{Function: wf, Payload: event}); err != nil {
		return nil, err
	}
	var warm []time.Duration
	began := time.Now()
	for range nWarm {
		start := time.Now()
		if _, err := pool.Invoke(ctx, invoke.Request{Function: wf, Payload: event}); err != nil {
			return nil, err
		}
		warm = append(warm, time.Since(start))
	}
	res.Warm = stats(warm, time.Since(began))
	plain, total, err := plainHTTP(nWarm, event)
	if err != nil {
		return nil, err
	}
	res.PlainHTTP = stats(plain, total)
	res.WarmOverheadP99MS = res.Warm.P99MS - res.PlainHTTP.P99MS
	res.WarmRatioP50 = res.Warm.P50MS / res.PlainHTTP.P50MS

	// 0 -> N environments at once.
	cf := fn("burst")
	var wg sync.WaitGroup
	var mu sync.Mutex
	began = time.Now()
	for range nConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := pool.Invoke(ctx, invoke.Request{Function: cf, Payload: []byte(`{"op":"sleep","ms":500}`)})
			mu.Lock()
			defer mu.Unlock()
			if err == nil && r.FunctionError == "" {
				res.ConcurrentOK++
			} else if err != nil && strings.Contains(err.Error(), "Rate Exceeded") {
				res.ConcurrentThrott++
			}
		}()
	}
	wg.Wait()
	res.ConcurrentSecs = time.Since(began).Seconds()
	began = time.Now()
	errs := make(chan error, nConc)
	for range nConc {
		go func() {
			_, err := dockerRunFirst(ctx, image, []byte(`{"op":"sleep","ms":500}`), memory)
			errs <- err
		}()
	}
	for range nConc {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	res.DockerRunNSecs = time.Since(began).Seconds()
	return res, nil
}

// dockerRunFirst is `docker run` of image up to its answer to a first
// invocation through a Runtime API served here.
func dockerRunFirst(ctx context.Context, image string, event []byte, memory int) (time.Duration, error) {
	api, err := runtimeapi.Start("127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer api.Close()
	name := fmt.Sprintf("berth-bench-lambda-%d", time.Now().UnixNano())
	start := time.Now()
	cmd := exec.CommandContext(ctx, "docker", "run", "--rm", "--name", name, "--label", "berth.test=1", "--network", "host",
		"-m", fmt.Sprintf("%dm", memory), "--cpu-shares", fmt.Sprint(max(memory*1024/1769, 128)), "-e", "AWS_LAMBDA_RUNTIME_API="+api.Addr(), image)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		exec.Command("docker", "rm", "-f", name).Run()
		cmd.Wait()
	}()
	// Generous: with -concurrency 100 the baseline starts 100 containers at
	// once, and Docker starts them one after another.
	ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := api.Invoke(ictx, runtimeapi.Invocation{RequestID: "bench", Payload: event, Deadline: time.Now().Add(5 * time.Minute),
		FunctionARN: "arn:aws:lambda:us-east-1:000000000000:function:bench"})
	if err != nil || out.Error {
		return 0, fmt.Errorf("docker run's first request: %v %s", err, out.Payload)
	}
	return time.Since(start), nil
}

// plainHTTP is n calls over loopback to a server doing the function's work.
func plainHTTP(n int, event []byte) ([]time.Duration, time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Op    string          `json:"op"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := json.Marshal(ev.Value)
		w.Write(b)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	cli := &http.Client{}
	url := "http://" + ln.Addr().String() + "/"
	var out []time.Duration
	began := time.Now()
	for range n {
		start := time.Now()
		resp, err := cli.Post(url, "application/json", strings.NewReader(string(event)))
		if err != nil {
			return nil, 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, time.Since(start))
	}
	return out, time.Since(began), nil
}

func stats(ds []time.Duration, total time.Duration) latency {
	s := slices.Clone(ds)
	slices.Sort(s)
	return latency{P50MS: ms(s[len(s)/2]), P99MS: ms(s[min(len(s)-1, len(s)*99/100)]), PerSecond: float64(len(s)) / total.Seconds()}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
