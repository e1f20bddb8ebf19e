package ecsapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/internal/cptest"
)

const ecsContentType = "application/x-amz-json-1.1"

func start(t *testing.T) *controlplane.ControlPlane {
	t.Helper()
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	return cptest.Start(t, controlplane.Config{}).CP
}

// sdk is aws-sdk-go-v2's ECS client pointed at berth.
func sdk(t *testing.T, cp *controlplane.ControlPlane, key awsapi.Key) *ecs.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	return ecs.New(ecs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://" + cp.HTTPAddr()),
		Credentials:  credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
		HTTPClient:   httpClient,
	})
}

func readTaskDef(t *testing.T, name string) *ecs.RegisterTaskDefinitionInput {
	t.Helper()
	dir, _ := os.Getwd()
	for ; dir != "/"; dir = filepath.Dir(dir) {
		b, err := os.ReadFile(filepath.Join(dir, "shared", "testdata", "ecs-taskdefs", name))
		if err == nil {
			in := &ecs.RegisterTaskDefinitionInput{}
			if err := json.Unmarshal(b, in); err != nil {
				t.Fatal(err)
			}
			return in
		}
	}
	t.Fatalf("no shared/testdata/ecs-taskdefs/%s above the working directory", name)
	return nil
}

func TestSDKAgainstBerth(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()

	in := readTaskDef(t, "aws-samples__amazon-ecs-firelens-examples__appmesh-firelens-colorteller-black-ecs-task-def.json")
	in.Cpu, in.Memory = aws.String("1 vCPU"), aws.String("2 GB") // normalized as stored
	reg, err := client.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	td := reg.TaskDefinition
	if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" || td.Revision != 1 || td.Status != types.TaskDefinitionStatusActive ||
		td.RegisteredAt == nil || time.Since(*td.RegisteredAt) > time.Minute {
		t.Fatalf("registered through the SDK: %+v", td)
	}
	for range 4 {
		if _, err := client.RegisterTaskDefinition(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	desc, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: td.Family})
	if err != nil || desc.TaskDefinition.Revision != 5 || aws.ToString(desc.TaskDefinition.TaskDefinitionArn) == "" {
		t.Fatalf("describe: %+v, %v", desc, err)
	}

	var arns []string
	pages := ecs.NewListTaskDefinitionsPaginator(client, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, page.TaskDefinitionArns...)
	}
	if len(arns) != 5 {
		t.Fatalf("paginated %d task definitions, want 5", len(arns))
	}

	cl, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod")})
	if err != nil || aws.ToString(cl.Cluster.ClusterArn) != "arn:aws:ecs:us-east-1:000000000000:cluster/prod" {
		t.Fatalf("create cluster: %+v, %v", cl, err)
	}
	run, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("prod"), TaskDefinition: td.Family,
		LaunchType: types.LaunchTypeEc2})
	if err == nil || !strings.Contains(err.Error(), "does not support launch_type EC2") {
		t.Fatalf("RunTask of a FARGATE-only task definition on EC2: %+v, %v", run, err)
	}
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("error type %T, want InvalidParameterException", err)
	}

	_, err = client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("nope")})
	var clientErr *types.ClientException
	if !errors.As(err, &clientErr) {
		t.Fatalf("unknown task definition: %T %v, want ClientException", err, err)
	}
	_, err = client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("nope")})
	var noCluster *types.ClusterNotFoundException
	if !errors.As(err, &noCluster) {
		t.Fatalf("unknown cluster: %T %v, want ClusterNotFoundException", err, err)
	}
}

func TestSDKWithWrongKeys(t *testing.T) {
	cp := start(t)
	ctx := context.Background()
	_, err := sdk(t, cp, awsapi.Key{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}).ListClusters(ctx, &ecs.ListClustersInput{})
	if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Fatalf("unknown access key: %v", err)
	}
	wrongSecret := cp.AccessKey()
	wrongSecret.SecretAccessKey = "not-the-secret"
	_, err = sdk(t, cp, wrongSecret).ListClusters(ctx, &ecs.ListClustersInput{})
	if err == nil || !strings.Contains(err.Error(), "InvalidSignatureException") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// raw sends a hand-made request and returns the status and ECS error type.
func raw(t *testing.T, cp *controlplane.ControlPlane, target, contentType string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+cp.HTTPAddr()+"/", bytes.NewReader(body))
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(b, &e)
	if e.Type != resp.Header.Get("X-Amzn-Errortype") {
		t.Fatalf("__type %q and X-Amzn-Errortype %q differ", e.Type, resp.Header.Get("X-Amzn-Errortype"))
	}
	return resp.StatusCode, e.Type
}

func TestWireBadInput(t *testing.T) {
	cp := start(t)
	op := ecsapi.TargetPrefix + ".ListClusters"
	tests := []struct {
		name, target, contentType string
		body                      []byte
		status                    int
		exception                 string
	}{
		{"unknown operation", ecsapi.TargetPrefix + ".LaunchRockets", ecsContentType, []byte("{}"), 400, "UnknownOperationException"},
		{"no target", "", ecsContentType, []byte("{}"), 400, "UnknownOperationException"},
		{"wrong content type", op, "application/json", []byte("{}"), 400, "SerializationException"},
		{"unsigned", op, ecsContentType, []byte("{}"), 400, "MissingAuthenticationTokenException"},
		{"oversized body", op, ecsContentType, bytes.Repeat([]byte(" "), controlplane.MaxHTTPRequestBytes+1), 413, "SerializationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, exception := raw(t, cp, tt.target, tt.contentType, tt.body)
			if status != tt.status || exception != tt.exception {
				t.Fatalf("got %d %s, want %d %s", status, exception, tt.status, tt.exception)
			}
		})
	}
}

// Malformed JSON and unknown members are rejected after the signature is
// checked, with the field named, and nothing is stored.
func TestWireMalformedBodies(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()
	_, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx")}},
	})
	if err == nil || !strings.Contains(err.Error(), "At least one of 'memory' or 'memoryReservation' must be specified.") {
		t.Fatalf("container without memory: %v", err)
	}
	list, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
	if err != nil || len(list.TaskDefinitionArns) != 0 {
		t.Fatalf("a rejected registration stored something: %v, %v", list, err)
	}
}

// signed sends body to the operation, signed with the berth key, and
// returns the status and the error's type and message.
func signed(t *testing.T, cp *controlplane.ControlPlane, op string, body []byte, at time.Time) (int, string, string) {
	t.Helper()
	status, b := signedDoc(t, cp, op, body, at)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	json.Unmarshal(b, &e)
	return status, e.Type, e.Message
}

// signedDoc sends body to the operation, signed with the berth key, and
// returns the status and the response body.
func signedDoc(t *testing.T, cp *controlplane.ControlPlane, op string, body []byte, at time.Time) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+cp.HTTPAddr()+"/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", ecsapi.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", ecsContentType)
	sum := sha256.Sum256(body)
	key := cp.AccessKey()
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), "ecs", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestWireSignedButBad(t *testing.T) {
	cp := start(t)
	tests := []struct {
		name, op  string
		body      string
		at        time.Time
		exception string
		message   string
	}{
		{"malformed JSON", "RegisterTaskDefinition", `{"family": "web",`, time.Now(), "ClientException", "invalid JSON"},
		{"unknown member", "RegisterTaskDefinition", `{"family": "web", "containerDefinitions": [{"name": "a", "image": "b", "memory": 64, "portBindings": []}]}`,
			time.Now(), "ClientException", "containerDefinitions[0].portBindings: unknown field"},
		{"stale date", "ListClusters", `{}`, time.Now().Add(-10 * time.Minute), "InvalidSignatureException", "Signature expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, exception, message := signed(t, cp, tt.op, []byte(tt.body), tt.at)
			if status != 400 || exception != tt.exception || !strings.Contains(message, tt.message) {
				t.Fatalf("got %d %s %q, want 400 %s containing %q", status, exception, message, tt.exception, tt.message)
			}
		})
	}
	if status, exception, _ := signed(t, cp, "ListClusters", nil, time.Now()); status != 200 || exception != "" {
		t.Fatalf("an empty body is an empty request: %d %s", status, exception)
	}
}

func TestSDKTags(t *testing.T) {
	cp := start(t)
	client := sdk(t, cp, cp.AccessKey())
	ctx := context.Background()

	cl, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("tagged"),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	a := cl.Cluster.ClusterArn
	if _, err := client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: a, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("b")}, {Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	list := func() string {
		t.Helper()
		out, err := client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: a})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tg := range out.Tags {
			kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		return strings.Join(kv, ",")
	}
	if got := list(); got != "team=b,env=dev" {
		t.Fatalf("tags = %q", got)
	}
	if _, err := client.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: a, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != "env=dev" {
		t.Fatalf("tags after untag = %q", got)
	}

	_, err = client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: a, Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "tags[0].key") {
		t.Fatalf("aws: key: %v (%T), want InvalidParameterException naming tags[0].key", err, err)
	}
	_, err = client.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:service/tagged/nope"),
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	var missing *types.ResourceNotFoundException
	if !errors.As(err, &missing) {
		t.Fatalf("unknown service: %v (%T), want ResourceNotFoundException", err, err)
	}
	_, err = client.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecs:us-east-1:000000000000:cluster/nope")})
	var noCluster *types.ClusterNotFoundException
	if !errors.As(err, &noCluster) {
		t.Fatalf("unknown cluster: %v (%T), want ClusterNotFoundException", err, err)
	}
	if got := list(); got != "env=dev" {
		t.Fatalf("tags after bad calls = %q", got)
	}
}
