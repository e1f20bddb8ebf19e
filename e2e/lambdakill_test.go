package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/e2e/chaos"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestLambdaEventSurvivesKillNine (issue 18): Event invocations a real
// control plane process acknowledged with 202 are all run, at least once,
// after a kill -9 right after the last one and a restart on the same data
// dir. The function runs on Docker (the lambdafn image) through an agent
// that stays up across the kill, and puts an S3 object per event.
func TestLambdaEventSurvivesKillNine(t *testing.T) {
	t.Parallel()
	dockertest.Client(t) // skip (or fail) without a daemon
	img := "berth-e2e-killnine-fn:1"
	testimage.Tag(t, testimage.Lambda(t), img)
	t.Cleanup(func() { removeContainersOf(t, img) })

	bin, err := chaos.BuildControlPlane(t.TempDir(), raceEnabled)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	grpcAddr, err := chaos.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, err := chaos.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cp := &chaos.ControlPlane{Bin: bin, DataDir: dataDir, GRPCAddr: grpcAddr,
		Args: []string{"--http-addr", httpAddr, "--lambda-cluster", "default"}}
	if err := cp.Start(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Kill)

	token, err := os.ReadFile(filepath.Join(dataDir, "join.token"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := dockertest.Context()
	defer cancel()
	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() }) // registered before the agent's stop: runs after it
	agentCtx, stopAgent := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- agent.Run(agentCtx, agent.Config{ControlPlane: grpcAddr, JoinToken: strings.TrimSpace(string(token)),
			Cluster: "default", Runtime: rt, DataDir: t.TempDir(), CPU: 2048, Memory: 4096, Logger: testLogger(t)})
	}()
	t.Cleanup(func() { stopAgent(); <-agentDone })

	_, key, err := awsapi.LoadOrCreateKeys(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	cfg := aws.Config{Region: "us-east-1", HTTPClient: hc, BaseEndpoint: aws.String("http://" + httpAddr),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	lc := lambda.NewFromConfig(cfg)
	bg := context.Background()

	const bucket, fn = "e2e-killnine-events", "e2e-killnine-fn"
	if _, err := s3c.CreateBucket(bg, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.CreateFunction(bg, &lambda.CreateFunctionInput{FunctionName: aws.String(fn),
		PackageType: lambdatypes.PackageTypeImage, Code: &lambdatypes.FunctionCode{ImageUri: aws.String(img)},
		Role: aws.String("arn:aws:iam::000000000000:role/" + fn), Timeout: aws.Int32(60)}); err != nil {
		t.Fatal(err)
	}
	pollWithin(t, 90*time.Second, "the function Active", func() lambdatypes.State {
		out, err := lc.GetFunction(bg, &lambda.GetFunctionInput{FunctionName: aws.String(fn)})
		if err != nil {
			return ""
		}
		return out.Configuration.State
	}, func(s lambdatypes.State) bool { return s == lambdatypes.StateActive })

	const n = 20
	for i := range n {
		out, err := lc.Invoke(bg, &lambda.InvokeInput{FunctionName: aws.String(fn), InvocationType: lambdatypes.InvocationTypeEvent,
			Payload: fmt.Appendf(nil, `{"op":"put","bucket":%q,"key":"event-%02d","value":"%d"}`, bucket, i, i)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("Event invocation %d: %v, status %d", i, err, out.StatusCode)
		}
	}
	cp.Kill()
	hc.CloseIdleConnections()
	if err := cp.Start(2 * time.Minute); err != nil {
		t.Fatal(err)
	}

	missing := func() []string {
		var out []string
		for i := range n {
			k := fmt.Sprintf("event-%02d", i)
			if _, err := s3c.HeadObject(bg, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
				out = append(out, k)
			}
		}
		return out
	}
	t.Logf("after the restart, %d of the %d events' objects still missing", len(missing()), n)
	pollWithin(t, 3*time.Minute, "every acknowledged event's object", missing, func(m []string) bool { return len(m) == 0 })
}

// removeContainersOf force-removes the agent's containers of image img:
// the function's execution environments, which a control plane in another
// process does not label for the test.
func removeContainersOf(t *testing.T, img string) {
	cli, err := dockertest.NewClient()
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer cli.Close()
	ctx, cancel := dockertest.Context()
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", runtime.LabelInstanceARN), filters.Arg("ancestor", img))})
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, c := range list {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Logf("cleanup container %s: %v", c.ID, err)
		}
	}
}
