// Command inside measures the task endpoint from inside a container: requests/s
// and p99 of ${ECS_CONTAINER_METADATA_URI_V4}/task and of the container
// credentials endpoint, beside a plain net/http server in the same place (in
// the container's network namespace for a bridge task, on the host's loopback
// for a host task) answering a fixed body of the same size. It prints one JSON
// object per network mode with the medians of a few runs and the ratios
// (plain / endpoint requests/s, endpoint / plain p99; 1.0 is no overhead).
//
//	go run ./bench/inside -n 20000 -c 8 -runs 3 -modes bridge,host
//
// It builds the project's tiny test image (nothing is pulled), whose program
// is the load generator (`testapp load`), runs one container per mode and
// removes what it made.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/agent/taskendpoint"
	"github.com/berth/berth/internal/testimage"
)

// label marks everything the benchmark creates.
const label = "berth.bench"

// plainPort is the plain server's port in a bridge container's namespace.
const plainPort = 8089

type load struct {
	RPS   float64 `json:"rps"`
	P99MS float64 `json:"p99_ms"`
}

type result struct {
	Mode        string `json:"mode"`
	Requests    int    `json:"requests"`
	Concurrency int    `json:"concurrency"`
	Runs        int    `json:"runs"`
	// The plain server answering the metadata body, and the credentials body.
	PlainRPS         float64 `json:"plain_rps"`
	PlainP99MS       float64 `json:"plain_p99_ms"`
	PlainCredRPS     float64 `json:"plain_credentials_rps"`
	PlainCredP99MS   float64 `json:"plain_credentials_p99_ms"`
	MetadataRPS      float64 `json:"metadata_rps"`
	MetadataP99MS    float64 `json:"metadata_p99_ms"`
	CredentialsRPS   float64 `json:"credentials_rps"`
	CredentialsP99MS float64 `json:"credentials_p99_ms"`
	// Ratios against the plain server: requests/s plain/endpoint, p99
	// endpoint/plain. The target is at most 1.5.
	MetadataRPSRatio    float64 `json:"metadata_rps_ratio"`
	MetadataP99Ratio    float64 `json:"metadata_p99_ratio"`
	CredentialsRPSRatio float64 `json:"credentials_rps_ratio"`
	CredentialsP99Ratio float64 `json:"credentials_p99_ratio"`
}

func main() {
	n := flag.Int("n", 20000, "requests per run")
	conc := flag.Int("c", 8, "concurrent requests")
	runs := flag.Int("runs", 3, "runs per endpoint (the median is reported)")
	modes := flag.String("modes", "bridge,host", "network modes (none: only the secrets bench)")
	secretTasks := flag.Int("secret-tasks", 20, "tasks of each kind for secret resolution's cost to task start (0: skip it)")
	flag.Parse()
	if *secretTasks > 0 {
		r, err := benchSecrets(*secretTasks)
		if err != nil {
			fmt.Fprintln(os.Stderr, "inside: secrets:", err)
			os.Exit(1)
		}
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	if *modes == "none" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, *n, *conc, *runs, strings.Split(*modes, ","))
	if cerr := testimage.Cleanup(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "inside:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, n, conc, runs int, modes []string) error {
	img, err := testimage.BuildApp()
	if err != nil {
		return err
	}
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		return err
	}
	defer rt.Close()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer cli.Close()
	srv, err := taskendpoint.New(taskendpoint.Config{Runtime: rt, Namespaces: rt.NetworkNamespaces()})
	if err != nil {
		return err
	}
	defer srv.Close()
	for _, mode := range modes {
		r, err := bench(ctx, cli, rt, srv, img, mode, n, conc, runs)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	}
	return nil
}

func bench(ctx context.Context, cli *client.Client, rt *docker.Runtime, srv *taskendpoint.Server, img, mode string, n, conc, runs int) (result, error) {
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:000000000000:task/bench/%s%d", mode, time.Now().UnixNano())
	a := &berthv1.TaskAssignment{
		Task: &berthv1.Task{TaskArn: arn, ClusterArn: "arn:aws:ecs:us-east-1:000000000000:cluster/bench", DesiredStatus: "RUNNING"},
		TaskDefinition: &berthv1.TaskDefinition{Family: "inside-bench", Revision: 1, NetworkMode: mode,
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: img}}},
		TaskRoleCredentials: &berthv1.RoleCredentials{RoleArn: "arn:aws:iam::000000000000:role/bench", AccessKeyId: "ASIABENCH",
			SecretAccessKey: "secret", SessionToken: "session", Expiration: float64(time.Now().Add(time.Hour).Unix())},
	}
	env := srv.Environment(a, "app")
	defer srv.TaskGone(arn)
	var envList []string
	for k, v := range env {
		envList = append(envList, k+"="+v)
	}
	created, err := cli.ContainerCreate(ctx, &container.Config{Image: img, Cmd: []string{"sleep"}, Env: envList, Labels: map[string]string{label: "1"}},
		&container.HostConfig{NetworkMode: container.NetworkMode(mode)}, nil, nil, "")
	if err != nil {
		return result{}, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = cli.ContainerRemove(rctx, created.ID, container.RemoveOptions{Force: true})
	}()
	if err := cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return result{}, err
	}
	st, err := rt.Inspect(ctx, created.ID)
	if err != nil {
		return result{}, err
	}
	srv.TaskChanged(a, &berthv1.TaskStateChange{TaskArn: arn, LastStatus: "RUNNING",
		Containers: []*berthv1.ContainerStateChange{{Name: "app", RuntimeId: created.ID, LastStatus: "RUNNING"}}})
	if err := srv.ContainerStarted(ctx, arn, "app", st); err != nil {
		return result{}, err
	}

	// The bodies the endpoint answers, read on the shared listener (which
	// answers every task's ids), are what the plain server answers too.
	metaURI, credURI, token := env[taskendpoint.EnvMetadataV4]+"/task", env[taskendpoint.EnvCredentialsFullURI], env[taskendpoint.EnvAuthorizationToken]
	metaBody, err := fetch(strings.Replace(metaURI, base(metaURI), srv.URL(), 1), "")
	if err != nil {
		return result{}, err
	}
	credBody, err := fetch(strings.Replace(credURI, base(credURI), srv.URL(), 1), token)
	if err != nil {
		return result{}, err
	}
	plain := http.NewServeMux()
	plain.HandleFunc("/task", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(metaBody)
	})
	plain.HandleFunc("/credentials", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(credBody)
	})
	var l net.Listener
	if mode == "host" {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	} else {
		l, err = taskendpoint.ListenInNetns(st.Pid, "127.0.0.1:"+strconv.Itoa(plainPort))
	}
	if err != nil {
		return result{}, err
	}
	ps := &http.Server{Handler: plain}
	done := make(chan struct{})
	go func() { defer close(done); _ = ps.Serve(l) }()
	defer func() { ps.Close(); <-done }()
	plainURL := "http://" + l.Addr().String()

	r := result{Mode: mode, Requests: n, Concurrency: conc, Runs: runs}
	if _, err := loadFrom(ctx, cli, created.ID, n/10+1, conc, plainURL+"/task", ""); err != nil { // warm up
		return r, err
	}
	// The four are measured in turn in each run, so that the machine's other
	// work weighs on each alike; the medians are reported.
	targets := []struct{ url, auth string }{{plainURL + "/task", ""}, {metaURI, ""}, {plainURL + "/credentials", ""}, {credURI, token}}
	rps, p99 := make([][]float64, len(targets)), make([][]float64, len(targets))
	for range runs {
		for i, tg := range targets {
			l, err := loadFrom(ctx, cli, created.ID, n, conc, tg.url, tg.auth)
			if err != nil {
				return r, err
			}
			rps[i], p99[i] = append(rps[i], l.RPS), append(p99[i], l.P99MS)
		}
	}
	med := func(i int) load { return load{RPS: median(rps[i]), P99MS: median(p99[i])} }
	plainMeta, meta, plainCred, cred := med(0), med(1), med(2), med(3)
	r.PlainRPS, r.PlainP99MS = plainMeta.RPS, plainMeta.P99MS
	r.PlainCredRPS, r.PlainCredP99MS = plainCred.RPS, plainCred.P99MS
	r.MetadataRPS, r.MetadataP99MS = meta.RPS, meta.P99MS
	r.CredentialsRPS, r.CredentialsP99MS = cred.RPS, cred.P99MS
	r.MetadataRPSRatio, r.MetadataP99Ratio = round(plainMeta.RPS/meta.RPS), round(meta.P99MS/plainMeta.P99MS)
	r.CredentialsRPSRatio, r.CredentialsP99Ratio = round(plainCred.RPS/cred.RPS), round(cred.P99MS/plainCred.P99MS)
	return r, nil
}

// loadFrom runs `testapp load` in the container and reads its report.
func loadFrom(ctx context.Context, cli *client.Client, id string, n, conc int, url, auth string) (load, error) {
	cmd := []string{testimage.Entrypoint, "load", strconv.Itoa(n), strconv.Itoa(conc), url}
	if auth != "" {
		cmd = append(cmd, auth)
	}
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return load{}, err
	}
	resp, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return load{}, err
	}
	defer resp.Close()
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, resp.Reader); err != nil {
		return load{}, err
	}
	var rep struct {
		Errors int     `json:"errors"`
		RPS    float64 `json:"rps"`
		P99MS  float64 `json:"p99_ms"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return load{}, fmt.Errorf("load %s: %q %q: %w", url, stdout.String(), stderr.String(), err)
	}
	if rep.Errors > 0 {
		return load{}, fmt.Errorf("load %s: %d of %d requests failed", url, rep.Errors, n)
	}
	return load{RPS: rep.RPS, P99MS: rep.P99MS}, nil
}

func fetch(url, auth string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, err
}

// base is a URL's scheme and host.
func base(u string) string {
	i := strings.Index(u[len("http://"):], "/")
	return u[:len("http://")+i]
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return round(s[len(s)/2])
}

func round(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
