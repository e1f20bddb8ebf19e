package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/protobuf/encoding/protojson"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// TestEnvironmentFilesInABridgeTask: a container's environmentFiles, put in
// berth's S3 with the SDK, are in its environment, with the container's own
// environment over them; an environment file that does not exist stops its
// task before any container starts, with ECS's reason naming it.
func TestEnvironmentFilesInABridgeTask(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)

	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := s.CP.AccessKey()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.CP.HTTPAddr()), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if _, err := client.CreateBucket(s.Ctx, &s3.CreateBucketInput{Bucket: aws.String("envfiles-e2e")}); err != nil {
		t.Fatal(err)
	}
	for k, body := range map[string]string{
		"app.env":    "# the app's settings\nFROM_FILE=file-value\nOVERRIDDEN=from-file\n\nTWICE=first-file\n",
		"second.env": "TWICE=second-file\nSECOND=yes\n",
	} {
		if _, err := client.PutObject(s.Ctx, &s3.PutObjectInput{Bucket: aws.String("envfiles-e2e"), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	const execRole = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole"
	container := func(files ...string) []*berthv1.ContainerDefinition {
		c := &berthv1.ContainerDefinition{Name: "app", Image: img, Memory: new(int32(64)), DockerLabels: dockertest.Labels(nil),
			Environment: []*berthv1.KeyValuePair{{Name: "OVERRIDDEN", Value: "from-environment"}},
			Command:     []string{"inside", "FROM_FILE", "OVERRIDDEN", "TWICE", "SECOND"}}
		for _, f := range files {
			c.EnvironmentFiles = append(c.EnvironmentFiles, &berthv1.EnvironmentFile{Type: "s3", Value: "arn:aws:s3:::envfiles-e2e/" + f})
		}
		return []*berthv1.ContainerDefinition{c}
	}
	td := s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "envfiles-e2e", NetworkMode: "bridge", ExecutionRoleArn: execRole,
		ContainerDefinitions: container("app.env", "second.env")})
	task := s.runTask(t, td)
	s.waitStatus(t, task, engine.StatusRunning)
	out := pollWithin(t, 60*time.Second, "the container's report", func() string {
		out, err := s.taskLogs(s.Ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "app"})
		if err != nil {
			t.Fatalf("GetTaskLogs: %v", err)
		}
		return out["app/stdout"]
	}, func(s string) bool { return strings.Contains(s, "\n") })
	var r insideReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("the container printed %q: %v", out, err)
	}
	want := map[string]string{"FROM_FILE": "file-value", "OVERRIDDEN": "from-environment", "TWICE": "first-file", "SECOND": "yes"}
	for k, v := range want {
		if r.Env[k] != v {
			t.Errorf("%s in the container = %q, want %q (environment %v)", k, r.Env[k], v, r.Env)
		}
	}
	if b, _ := protojson.Marshal(s.describe(t, task)); strings.Contains(string(b), "file-value") {
		t.Error("DescribeTasks shows an environment file's value")
	}
	s.stopTask(t, task, "test over")
	s.waitStatus(t, task, engine.StatusStopped)

	missing := s.register(t, &berthv1.RegisterTaskDefinitionRequest{Family: "envfiles-e2e-missing", NetworkMode: "bridge", ExecutionRoleArn: execRole,
		ContainerDefinitions: container("app.env", "missing.env")})
	task = s.runTask(t, missing)
	stopped := s.waitStatus(t, task, engine.StatusStopped)
	reason := stopped.GetStoppedReason()
	if !strings.HasPrefix(reason, controlplane.EnvFilesPrefix) || !strings.Contains(reason, "arn:aws:s3:::envfiles-e2e/missing.env") {
		t.Errorf("stoppedReason %q, want ECS's ResourceInitializationError naming the file", reason)
	}
	if stopped.GetStartedAt() != 0 || containerOf(t, stopped, "app").GetRuntimeId() != "" {
		t.Errorf("a container started: %+v", stopped)
	}
}
