// Command events measures the time from an event to the function it
// invokes, on the local Docker, and prints one JSON object:
//
//   - S3: PutObject to a bucket whose notification names the function, until
//     the function's first line reaches berth;
//   - EventBridge: PutEvents matching a rule whose target is the function,
//     until its first line reaches berth;
//   - the baseline, in the same run: a direct Invoke (RequestResponse) until
//     the function's first line reaches berth, and until Invoke answered.
//
// Each is p50 / p99 over -n sequential events with a warm function (an
// aws-lambda-go function FROM scratch that prints "lambdafn handling OP"
// first). The line travels the same way in all three (the environment's
// output followed through the agent), so the differences are the events'
// own paths: S3's notification and Lambda's durable Event queue; the bus's
// event log, dispatcher and delivery queue, then Lambda's queue.
//
// It starts its own control plane on a temporary data dir and an agent on
// the local Docker, and removes what it made.
//
//	go run ./bench/events -n 200
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
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
)

type latency struct {
	P50MS float64 `json:"p50_ms"`
	P99MS float64 `json:"p99_ms"`
}

type result struct {
	N int `json:"n"`
	// To the function's first line.
	S3PutObject       latency `json:"s3_put_object_to_function"`
	EventBridge       latency `json:"put_events_to_function"`
	DirectInvoke      latency `json:"direct_invoke_to_function"`
	DirectInvokeReply latency `json:"direct_invoke_answered"`
}

func main() {
	n := flag.Int("n", 200, "events of each kind")
	flag.Parse()
	res, err := run(*n)
	if cerr := testimage.Cleanup(); cerr != nil {
		fmt.Fprintln(os.Stderr, "bench/events:", cerr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/events:", err)
		os.Exit(1)
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(out))
}

func run(n int) (*result, error) {
	image, err := testimage.BuildLambda()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "berth-bench-events-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The function's lines, as berth reads them from its environment.
	lines := make(chan string, 1024)
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		RegistryAddr: "127.0.0.1:0", Logger: quiet, HeartbeatPeriod: 200 * time.Millisecond, EventsTick: 10 * time.Millisecond,
		Lambda: controlplane.LambdaRunnerConfig{Log: func(_ invoke.Function, _ string, line []byte) {
			if s := string(line); strings.HasPrefix(s, "lambdafn handling") {
				select {
				case lines <- s:
				default:
				}
			}
		}}})
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
	auth := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cp.AdminToken())
	ecs := berthv1.NewECSClient(conn)
	if _, err := ecs.CreateCluster(auth, &berthv1.CreateClusterRequest{ClusterName: environments.DefaultCluster}); err != nil {
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

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	key := cp.AccessKey()
	cfg := aws.Config{Region: "us-east-1", HTTPClient: hc, BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	lc, eb := lambda.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)

	fn, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("bench-events"), PackageType: lambdatypes.PackageTypeImage,
		Code: &lambdatypes.FunctionCode{ImageUri: aws.String(image)}, Role: aws.String("arn:aws:iam::000000000000:role/bench"), Timeout: aws.Int32(30)})
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bench-events")})
		if err == nil && out.Configuration.State == lambdatypes.StateActive {
			break
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the function is not Active")
		}
	}
	// S3's records have no op: the function answers with an error, which
	// must not be retried.
	if _, err := lc.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{FunctionName: aws.String("bench-events"),
		MaximumRetryAttempts: aws.Int32(0)}); err != nil {
		return nil, err
	}
	for _, p := range []string{"s3.amazonaws.com", "events.amazonaws.com"} {
		if _, err := lc.AddPermission(ctx, &lambda.AddPermissionInput{FunctionName: aws.String("bench-events"), StatementId: aws.String(strings.Split(p, ".")[0]),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String(p)}); err != nil {
			return nil, err
		}
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench-events")}); err != nil {
		return nil, err
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("bench-events"),
		NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{{
			LambdaFunctionArn: fn.FunctionArn, Events: []s3types.Event{"s3:ObjectCreated:*"}}}}}); err != nil {
		return nil, err
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("bench"), EventPattern: aws.String(`{"source":["bench.events"]}`)}); err != nil {
		return nil, err
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("bench"), Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: fn.FunctionArn,
		Input: aws.String(`{"op":"echo","value":"bus"}`)}}}); err != nil {
		return nil, err
	}

	// seen waits for the function's next line.
	seen := func(start time.Time) (time.Duration, error) {
		select {
		case <-lines:
			return time.Since(start), nil
		case <-time.After(60 * time.Second):
			return 0, errors.New("no line from the function within 60 s")
		}
	}
	direct := func() (time.Duration, time.Duration, error) {
		start := time.Now()
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("bench-events"), Payload: []byte(`{"op":"echo","value":1}`)})
		if err != nil || out.FunctionError != nil {
			return 0, 0, fmt.Errorf("invoke: %v", err)
		}
		answered := time.Since(start)
		line, err := seen(start)
		return line, answered, err
	}
	// Warm the environment.
	for range 3 {
		if _, _, err := direct(); err != nil {
			return nil, err
		}
	}
	var putObj, putEv, inv, invAns []time.Duration
	for i := range n {
		line, ans, err := direct()
		if err != nil {
			return nil, err
		}
		inv, invAns = append(inv, line), append(invAns, ans)

		start := time.Now()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench-events"), Key: aws.String(fmt.Sprintf("o/%d", i)),
			Body: strings.NewReader("x")}); err != nil {
			return nil, err
		}
		d, err := seen(start)
		if err != nil {
			return nil, fmt.Errorf("s3: %w", err)
		}
		putObj = append(putObj, d)

		start = time.Now()
		out, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{Source: aws.String("bench.events"),
			DetailType: aws.String("tick"), Detail: aws.String(`{"i":1}`)}}})
		if err != nil || out.FailedEntryCount != 0 {
			return nil, fmt.Errorf("put events: %v", err)
		}
		if d, err = seen(start); err != nil {
			return nil, fmt.Errorf("eventbridge: %w", err)
		}
		putEv = append(putEv, d)
	}
	return &result{N: n, S3PutObject: stats(putObj), EventBridge: stats(putEv), DirectInvoke: stats(inv), DirectInvokeReply: stats(invAns)}, nil
}

func stats(ds []time.Duration) latency {
	s := slices.Clone(ds)
	slices.Sort(s)
	return latency{P50MS: ms(s[len(s)/2]), P99MS: ms(s[min(len(s)-1, len(s)*99/100)])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
