package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"google.golang.org/protobuf/encoding/protojson"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/taskendpoint"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// insideReport is what `testapp inside` prints (testapp's InsideReport).
type insideReport struct {
	ContainerName, TaskARN, KnownStatus, NetworkMode string
	Containers, IPv4Addresses                        []string
	MetadataError                                    string
	AccessKeyID, CredentialSource, CredentialsError  string
	Region                                           string
	FrontDoorStatus, FrontDoorTasks                  int
	FrontDoorError                                   string
	Env                                              map[string]string
}

// The three tests below run a task, in each network mode, whose container
// reads ${ECS_CONTAINER_METADATA_URI_V4} and /task, and its role credentials
// through aws-sdk-go-v2's default chain, over loopback from inside, and shows
// its environment. The control plane does not issue role credentials or
// resolve secrets yet, so the agent's EditAssignment hook fills them in.

func TestInsideABridgeTask(t *testing.T) { t.Parallel(); testInside(t, "bridge") }

func TestInsideAHostTask(t *testing.T) { t.Parallel(); testInside(t, "host") }

func TestInsideAnAWSVPCTask(t *testing.T) { t.Parallel(); testInside(t, "awsvpc") }

func testInside(t *testing.T, mode string) {
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	endpointURL := "http://" + s.CP.HTTPAddr()
	secret := "s3cret-" + mode
	creds := &berthv1.RoleCredentials{RoleArn: "arn:aws:iam::000000000000:role/inside", AccessKeyId: "ASIAINSIDE" + strings.ToUpper(mode),
		SecretAccessKey: "secret", SessionToken: "session", Expiration: float64(time.Now().Add(time.Hour).Unix())}
	var mu sync.Mutex
	var gotKey, gotEndpoint string
	s.startDockerAgent(t, agent.Config{
		DataDir: t.TempDir(),
		Engine:  engine.Options{PauseImage: img, PauseCommand: []string{"sleep"}},
		EditAssignment: func(a *berthv1.TaskAssignment) {
			// Filled in only where the control plane sent nothing; what the
			// agent got is what the container must find.
			if a.TaskRoleCredentials == nil {
				a.TaskRoleCredentials = creds
			}
			if a.AwsEndpointUrl == "" {
				a.AwsEndpointUrl = endpointURL
			}
			mu.Lock()
			gotKey, gotEndpoint = a.TaskRoleCredentials.GetAccessKeyId(), a.AwsEndpointUrl
			mu.Unlock()
			if len(a.ContainerSecrets) == 0 {
				a.ContainerSecrets = []*berthv1.ContainerSecrets{{ContainerName: "app", Environment: map[string]string{"DB_PASSWORD": secret}}}
			}
		},
	})
	s.connected(t)
	td := s.register(t, &berthv1.RegisterTaskDefinitionRequest{
		Family: "inside-" + mode, NetworkMode: mode,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: img, Memory: new(int32(64)), DockerLabels: dockertest.Labels(nil),
			Command: []string{"inside", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "DB_PASSWORD",
				taskendpoint.EnvCredentialsFullURI, taskendpoint.EnvAuthorizationToken, taskendpoint.EnvMetadataV3}}},
	})
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
	t.Logf("inside the %s task: %s", mode, out)

	if r.MetadataError != "" || r.TaskARN != task || r.ContainerName != "app" || len(r.Containers) != 1 || r.NetworkMode != mode {
		t.Errorf("metadata from inside: %+v", r)
	}
	if mode != "host" && len(r.IPv4Addresses) == 0 {
		t.Errorf("no address in the container's Networks: %+v", r)
	}
	mu.Lock()
	wantKey, endpointURL := gotKey, gotEndpoint
	mu.Unlock()
	if r.CredentialsError != "" || r.AccessKeyID != wantKey {
		t.Errorf("credentials from inside: key %q, source %q, error %q", r.AccessKeyID, r.CredentialSource, r.CredentialsError)
	}
	wantEndpoint := endpointURL // host mode: the front door's own address
	if mode != "host" {         // a forwarder in the task's namespace
		wantEndpoint = "http://127.0.0.1:" + strconv.Itoa(taskendpoint.DefaultFrontDoorPort)
	}
	if r.Region != "us-east-1" || r.Env["AWS_DEFAULT_REGION"] != "us-east-1" || r.Env["AWS_ENDPOINT_URL"] != wantEndpoint || r.Env["DB_PASSWORD"] != secret {
		t.Errorf("environment: region %q, %v", r.Region, r.Env)
	}
	// The front door answers from inside, in every mode. It refuses the
	// hand-made credentials until the control plane issues real ones; then
	// DescribeTasks finds the task itself.
	if r.FrontDoorStatus == 0 || (r.FrontDoorStatus == http.StatusOK && r.FrontDoorTasks != 1) {
		t.Errorf("DescribeTasks from inside: status %d, %d tasks, %s", r.FrontDoorStatus, r.FrontDoorTasks, r.FrontDoorError)
	}
	full, err := url.Parse(r.Env[taskendpoint.EnvCredentialsFullURI])
	if err != nil || full.Hostname() != "127.0.0.1" {
		t.Fatalf("%s = %q", taskendpoint.EnvCredentialsFullURI, r.Env[taskendpoint.EnvCredentialsFullURI])
	}
	inNetns := full.Port() == strconv.Itoa(taskendpoint.DefaultNetnsPort)
	if inNetns != (mode != "host") {
		t.Errorf("%s task: credentials at %s: a listener in the task's namespace: %v", mode, full, inNetns)
	}
	described, _ := protojson.Marshal(s.describe(t, task))
	if strings.Contains(string(described), secret) {
		t.Error("DescribeTasks shows the secret")
	}

	s.stopTask(t, task, "done")
	s.waitStatus(t, task, engine.StatusStopped)
	if mode == "host" { // the shared listener answers, and refuses the stopped task
		req, _ := http.NewRequest(http.MethodGet, full.String(), nil)
		req.Header.Set("Authorization", r.Env[taskendpoint.EnvAuthorizationToken])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("a stopped task's credentials: %d %s", resp.StatusCode, body)
		}
	}
}

// TestInsideAfterAnAgentRestart: a restarted agent answers a re-adopted
// bridge container at the URI it was given, inside its namespace.
func TestInsideAfterAnAgentRestart(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	cfg := agent.Config{DataDir: t.TempDir()}
	first := s.startDockerAgent(t, cfg)
	s.connected(t)
	td := s.register(t, &berthv1.RegisterTaskDefinitionRequest{
		Family: "inside-restart", NetworkMode: "bridge",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: img, Memory: new(int32(64)), DockerLabels: dockertest.Labels(nil),
			Command: []string{"inside", taskendpoint.EnvMetadataV3}}},
	})
	task := s.runTask(t, td)
	id := containerOf(t, s.waitStatus(t, task, engine.StatusRunning), "app").GetRuntimeId()
	out := pollWithin(t, 60*time.Second, "the container's report", func() string {
		out, _ := s.taskLogs(s.Ctx, &berthv1.GetTaskLogsRequest{Task: task, Container: "app"})
		return out["app/stdout"]
	}, func(s string) bool { return strings.Contains(s, "\n") })
	var r insideReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("the container printed %q: %v", out, err)
	}
	uri := r.Env[taskendpoint.EnvMetadataV3] + "/task"
	if code := s.execIn(t, id, testimage.Entrypoint, "health", uri); code != 0 {
		t.Fatalf("GET %s from inside: exit %d", uri, code)
	}

	if err := first.Stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	s.startDockerAgent(t, cfg)
	cptest.Eventually(t, "the metadata endpoint after the restart", func() bool {
		return s.execIn(t, id, testimage.Entrypoint, "health", uri) == 0
	})
	s.stopTask(t, task, "test over")
	s.waitStatus(t, task, engine.StatusStopped)
}

// execIn runs cmd in a container and returns its exit code.
func (s *stack) execIn(t *testing.T, id string, cmd ...string) int {
	t.Helper()
	ctx, cancel := dockertest.Context()
	defer cancel()
	ex, err := s.docker.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd})
	if err != nil {
		t.Fatalf("exec in %s: %v", id, err)
	}
	if err := s.docker.ContainerExecStart(ctx, ex.ID, container.ExecStartOptions{}); err != nil {
		t.Fatalf("exec in %s: %v", id, err)
	}
	for {
		info, err := s.docker.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			t.Fatalf("exec in %s: %v", id, err)
		}
		if !info.Running {
			return info.ExitCode
		}
		time.Sleep(20 * time.Millisecond)
	}
}
