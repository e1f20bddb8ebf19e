package environments_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"

	"github.com/berth/berth/lambda/environments"
)

// A function calls berth's ECS through aws-sdk-go-v2's default chain with
// its execution role's credentials, which Lambda's variables carry
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, with
// AWS_ENDPOINT_URL at the front door); once its environment stops (idle),
// they are refused.
func TestFunctionCallsBerthWithItsRole(t *testing.T) {
	s := newLambdaStack(t, 2*time.Second)
	fn := lambdaFunction(t, "caller")
	fn.Role = "arn:aws:iam::000000000000:role/caller-role"

	r := mustCall(t, s.pool, fn, `{"op":"aws"}`)
	if r.FunctionError != "" {
		t.Fatalf("the function's ECS call failed: %s\n%s", r.Payload, s.log())
	}
	var out struct {
		ClusterArns                                []string
		Source, Endpoint                           string
		AccessKeyID, SecretAccessKey, SessionToken string
	}
	if err := json.Unmarshal(r.Payload, &out); err != nil {
		t.Fatalf("%s: %v", r.Payload, err)
	}
	if !slices.Contains(out.ClusterArns, "arn:aws:ecs:us-east-1:000000000000:cluster/"+environments.DefaultCluster) {
		t.Errorf("ListClusters from the function: %v", out.ClusterArns)
	}
	if out.Source != "EnvConfigCredentials" || !strings.HasPrefix(out.AccessKeyID, "ASIA") || out.SessionToken == "" {
		t.Errorf("credentials from %q: %q (token %d bytes), want the environment's ASIA... keys", out.Source, out.AccessKeyID, len(out.SessionToken))
	}
	if out.Endpoint != "http://"+s.c.CP.HTTPAddr() {
		t.Errorf("AWS_ENDPOINT_URL = %q, want the front door http://%s", out.Endpoint, s.c.CP.HTTPAddr())
	}

	// Max Memory Used is the container's peak, in the result and the REPORT line.
	if r.MaxMemoryUsedMB <= 0 || r.MaxMemoryUsedMB > fn.MemoryMB {
		t.Errorf("Max Memory Used %d MB, want within (0, %d]", r.MaxMemoryUsedMB, fn.MemoryMB)
	}
	if want := fmt.Sprintf("Max Memory Used: %d MB", r.MaxMemoryUsedMB); !strings.Contains(string(r.Log), want) {
		t.Errorf("the log tail lacks %q:\n%s", want, r.Log)
	}
	t.Logf("Max Memory Used: %d MB", r.MaxMemoryUsedMB)

	// The same keys from outside work while the environment runs...
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	cli := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.c.CP.HTTPAddr()), HTTPClient: httpClient, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(out.AccessKeyID, out.SecretAccessKey, out.SessionToken),
	})
	if _, err := cli.ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("the environment's keys while it runs: %v", err)
	}
	// ... and are refused once it stopped, idle.
	within(t, time.Minute, "the idle environment stopped", func() bool { return len(s.pool.Stats()) == 0 && s.running(t) == 0 })
	var lastErr error
	within(t, time.Minute, "the stopped environment's keys refused", func() bool {
		_, lastErr = cli.ListClusters(context.Background(), &ecs.ListClustersInput{})
		return lastErr != nil
	})
	var ae smithy.APIError
	if !errors.As(lastErr, &ae) || (ae.ErrorCode() != "UnrecognizedClientException" && ae.ErrorCode() != "InvalidClientTokenId") {
		t.Errorf("after the stop: %v, want UnrecognizedClientException", lastErr)
	}
}

// within polls cond every 50 ms until it holds, failing t after d (Docker
// on a loaded machine is slow to stop a container).
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
	}
}
