// Command lambdafn is berth's test Lambda function: a Go function written
// with aws-lambda-go's lambda.Start, built static and run FROM scratch as a
// container image or as a provided.al2023 zip's bootstrap. Its event says
// what to do:
//
//	{"op": "echo", "value": X}     returns X
//	{"op": "env"}                  returns Lambda's variables it sees and whether /tmp is writable
//	{"op": "error"}                returns an error (a function error)
//	{"op": "sleep", "ms": N}       sleeps N ms, then returns "slept"
//	{"op": "exit", "code": N}      exits with N in the middle of the invocation
//	{"op": "oom"}                  allocates until killed
//	{"op": "aws"}                  calls berth's ECS ListClusters through aws-sdk-go-v2's default
//	                               config (the execution role's credentials and AWS_ENDPOINT_URL
//	                               in its environment) and returns the cluster ARNs and the keys it used
//	{"op": "put", "bucket": B, "key": K, "value": X}
//	                               puts X at s3://B/K the same way, and returns "put"
//
// Each invocation prints "lambdafn handling OP" to stdout.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

type event struct {
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
	MS    int             `json:"ms"`
	Code  int             `json:"code"`

	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

var hold [][]byte

func handle(ctx context.Context, ev event) (any, error) {
	fmt.Printf("lambdafn handling %s\n", ev.Op)
	switch ev.Op {
	case "echo":
		return ev.Value, nil
	case "env":
		out := map[string]string{}
		for _, k := range []string{"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
			"AWS_REGION", "_HANDLER", "LAMBDA_TASK_ROOT", "TZ", "MY_VAR", "AWS_LAMBDA_RUNTIME_API"} {
			out[k] = os.Getenv(k)
		}
		err := os.WriteFile("/tmp/probe", []byte("x"), 0o600)
		out["tmpWritable"] = fmt.Sprint(err == nil)
		return out, nil
	case "error":
		return nil, errors.New("lambdafn was asked to fail")
	case "sleep":
		time.Sleep(time.Duration(ev.MS) * time.Millisecond)
		return "slept", nil
	case "exit":
		os.Exit(ev.Code)
	case "aws":
		return callECS(ctx)
	case "put":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		cli := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		_, err = cli.PutObject(ctx, &s3.PutObjectInput{Bucket: &ev.Bucket, Key: &ev.Key, Body: bytes.NewReader(ev.Value)})
		if err != nil {
			return nil, err
		}
		return "put", nil
	case "oom":
		for {
			b := make([]byte, 16<<20)
			for i := range b {
				b[i] = 1
			}
			hold = append(hold, b)
		}
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}

// callECS lists the clusters with the SDK's default chain, as a function
// in Lambda calls AWS.
func callECS(ctx context.Context) (any, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, err
	}
	out, err := ecs.NewFromConfig(cfg).ListClusters(ctx, &ecs.ListClustersInput{})
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"clusterArns": out.ClusterArns, "source": creds.Source, "endpoint": os.Getenv("AWS_ENDPOINT_URL"),
		"accessKeyId": creds.AccessKeyID, "secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
	}, nil
}

func main() { lambda.Start(handle) }
