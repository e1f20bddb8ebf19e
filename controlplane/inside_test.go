package controlplane_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/pki"
)

const (
	taskRole = "arn:aws:iam::000000000000:role/app"
	execRole = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole"
)

// handAgent speaks the agent protocol by hand, to see what the control plane
// sends: assignments and renewed credentials.
type handAgent struct {
	t      *testing.T
	stream berthv1.AgentSessions_SessionClient
	in     chan *berthv1.ControlPlaneMessage
	errs   chan error
	batch  uint64
}

func connectHand(t *testing.T, c *cptest.Cluster) *handAgent {
	t.Helper()
	ctx, cancel := context.WithCancel(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+joinSecret(t, c.CP)))
	stream, err := berthv1.NewAgentSessionsClient(c.Dial(t)).Session(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := &handAgent{t: t, stream: stream, in: make(chan *berthv1.ControlPlaneMessage, 100), errs: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := stream.Recv()
			if err != nil {
				a.errs <- err
				return
			}
			select {
			case a.in <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	err = stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_Register{Register: &berthv1.RegisterInstance{
		InstanceId: "i-hand",
		RegisteredResources: []*berthv1.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: proto.Int32(4096)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: proto.Int32(8192)},
		},
		Attributes: []*berthv1.Attribute{{Name: "ecs.availability-zone", Value: "us-east-1a"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	a.next(func(m *berthv1.ControlPlaneMessage) bool { return m.GetRegistered() != nil })
	return a
}

// next returns the first message that match accepts, skipping others.
func (a *handAgent) next(match func(*berthv1.ControlPlaneMessage) bool) *berthv1.ControlPlaneMessage {
	a.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-a.in:
			if match(m) {
				return m
			}
		case err := <-a.errs:
			a.t.Fatalf("session ended: %v", err)
		case <-timeout:
			a.t.Fatal("no such message from the control plane within 20s")
		}
	}
}

// assignment waits for an assignment of taskArn with desired status want.
func (a *handAgent) assignment(taskArn, want string) *berthv1.TaskAssignment {
	a.t.Helper()
	var got *berthv1.TaskAssignment
	a.next(func(m *berthv1.ControlPlaneMessage) bool {
		for _, ta := range m.GetAssignments().GetTasks() {
			if ta.GetTask().GetTaskArn() == taskArn && ta.GetTask().GetDesiredStatus() == want {
				got = ta
				return true
			}
		}
		return false
	})
	return got
}

// report sends the task's new last status.
func (a *handAgent) report(taskArn, status string) {
	a.t.Helper()
	a.batch++
	c := &berthv1.TaskStateChange{TaskArn: taskArn, LastStatus: status, Containers: []*berthv1.ContainerStateChange{{Name: "app", LastStatus: status}}}
	if status == "STOPPED" {
		c.StopCode, c.StoppedReason = "UserInitiated", "stopped"
	}
	err := a.stream.Send(&berthv1.AgentMessage{Message: &berthv1.AgentMessage_StateChanges{StateChanges: &berthv1.TaskStateChanges{
		Batch: a.batch, Tasks: []*berthv1.TaskStateChange{c}}}})
	if err != nil {
		a.t.Fatal(err)
	}
}

func sdkAs(t *testing.T, cp *controlplane.ControlPlane, c *berthv1.RoleCredentials) *ecs.Client {
	t.Helper()
	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	return ecs.New(ecs.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String("http://" + cp.HTTPAddr()),
		Credentials:      credentials.NewStaticCredentialsProvider(c.GetAccessKeyId(), c.GetSecretAccessKey(), c.GetSessionToken()),
		HTTPClient:       httpClient,
		RetryMaxAttempts: 1,
	})
}

// apiErrorCode is the exception an SDK call failed with.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func registerTD(t *testing.T, c *cptest.Cluster, td *berthv1.RegisterTaskDefinitionRequest) {
	t.Helper()
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, td); err != nil {
		t.Fatal(err)
	}
}

func runTask(t *testing.T, c *cptest.Cluster, family string) string {
	t.Helper()
	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: family})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %v", run, err)
	}
	return run.Tasks[0].TaskArn
}

// TestTaskRoleCredentials: a task with a taskRoleArn is assigned credentials
// and the front door's address; the SDK with them calls ECS as the role;
// they are renewed over the session before they expire, expired ones are
// refused (ExpiredTokenException), and all of them stop working when the
// task stops. A task without a role gets no credentials.
func TestTaskRoleCredentials(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{TaskCredentialsLifetime: 3 * time.Second, AgentTTL: time.Minute})
	a := connectHand(t, c)
	registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: "app", TaskRoleArn: taskRole,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128)}}})
	registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: "plain",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128)}}})

	plainArn := runTask(t, c, "plain")
	plain := a.assignment(plainArn, "RUNNING")
	if plain.GetTaskRoleCredentials() != nil || plain.GetAwsEndpointUrl() != "http://"+c.CP.HTTPAddr() {
		t.Errorf("a task without a role: credentials %v, endpoint %q", plain.GetTaskRoleCredentials(), plain.GetAwsEndpointUrl())
	}

	taskArn := runTask(t, c, "app")
	as := a.assignment(taskArn, "RUNNING")
	first := as.GetTaskRoleCredentials()
	if first.GetRoleArn() != taskRole || !strings.HasPrefix(first.GetAccessKeyId(), "ASIA") || first.GetSessionToken() == "" || first.GetExpiration() == 0 {
		t.Fatalf("task role credentials: %v", first)
	}
	if as.GetAwsEndpointUrl() != "http://"+c.CP.HTTPAddr() {
		t.Errorf("aws_endpoint_url = %q", as.GetAwsEndpointUrl())
	}
	a.report(taskArn, "RUNNING")

	// The SDK with the task's credentials: DescribeTasks of itself.
	out, err := sdkAs(t, c.CP, first).DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{taskArn}})
	if err != nil || len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].TaskArn) != taskArn {
		t.Fatalf("DescribeTasks with the task's credentials: %v, %v", out, err)
	}

	// Renewed over the session before they expire.
	renewed := a.next(func(m *berthv1.ControlPlaneMessage) bool { return m.GetTaskCredentials().GetTaskArn() == taskArn }).GetTaskCredentials().GetTaskRoleCredentials()
	if renewed.GetAccessKeyId() == first.GetAccessKeyId() || renewed.GetExpiration() <= first.GetExpiration() || renewed.GetRoleArn() != taskRole {
		t.Fatalf("renewed credentials: %v (first %v)", renewed, first)
	}

	// Expired credentials are refused with ExpiredTokenException.
	cptest.Eventually(t, "the first credentials expire", func() bool {
		_, err := sdkAs(t, c.CP, first).ListClusters(context.Background(), &ecs.ListClustersInput{})
		return apiErrorCode(err) == "ExpiredTokenException"
	})
	// The latest are renewed again as they run; take them from the session.
	latest := a.next(func(m *berthv1.ControlPlaneMessage) bool { return m.GetTaskCredentials().GetTaskArn() == taskArn }).GetTaskCredentials().GetTaskRoleCredentials()
	if _, err := sdkAs(t, c.CP, latest).ListClusters(context.Background(), &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("renewed credentials refused: %v", err)
	}

	// The task stops: its credentials are revoked.
	if _, err := c.ECS.StopTask(c.Ctx, &berthv1.StopTaskRequest{Task: taskArn}); err != nil {
		t.Fatal(err)
	}
	a.assignment(taskArn, "STOPPED")
	a.report(taskArn, "STOPPED")
	cptest.Eventually(t, "the stopped task's credentials refused", func() bool {
		_, err := sdkAs(t, c.CP, latest).ListClusters(context.Background(), &ecs.ListClustersInput{})
		return apiErrorCode(err) == "UnrecognizedClientException"
	})
	// Forged: a token of the right shape with another key id.
	forged := proto.Clone(latest).(*berthv1.RoleCredentials)
	forged.AccessKeyId = "ASIAAAAAAAAAAAAAAAAA"
	if _, err := sdkAs(t, c.CP, forged).ListClusters(context.Background(), &ecs.ListClustersInput{}); apiErrorCode(err) != "UnrecognizedClientException" {
		t.Errorf("forged credentials: %v", err)
	}
}

// TestTaskSecrets: a task's secrets (SSM SecureString by name and by ARN, a
// Secrets Manager secret's JSON key) and log driver secret options are
// resolved into its assignment, and appear by name only in DescribeTasks.
func TestTaskSecrets(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{AgentTTL: time.Minute})
	a := connectHand(t, c)
	conn := c.Dial(t)
	if _, err := berthv1.NewSSMClient(conn).PutParameter(c.Ctx, &berthv1.PutParameterRequest{Name: "/app/db-password", Value: "hunter2-ssm", Type: "SecureString"}); err != nil {
		t.Fatal(err)
	}
	sec, err := berthv1.NewSecretsManagerClient(conn).CreateSecret(c.Ctx, &berthv1.CreateSecretRequest{Name: "app/api", SecretString: proto.String(`{"token":"tok-from-asm","other":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: "app", ExecutionRoleArn: execRole,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128),
			Secrets: []*berthv1.Secret{
				{Name: "DB_PASSWORD", ValueFrom: "/app/db-password"},
				{Name: "DB_PASSWORD_BY_ARN", ValueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/app/db-password"},
				{Name: "API_TOKEN", ValueFrom: sec.Arn + ":token::"},
			},
			LogConfiguration: &berthv1.LogConfiguration{LogDriver: "json-file", SecretOptions: []*berthv1.Secret{{Name: "token", ValueFrom: sec.Arn + ":token::"}}},
		}}})
	taskArn := runTask(t, c, "app")
	as := a.assignment(taskArn, "RUNNING")
	if as.GetImagePullsError() != "" || len(as.GetContainerSecrets()) != 1 {
		t.Fatalf("assignment: error %q, secrets %d", as.GetImagePullsError(), len(as.GetContainerSecrets()))
	}
	cs := as.GetContainerSecrets()[0]
	env := cs.GetEnvironment()
	if cs.GetContainerName() != "app" || env["DB_PASSWORD"] != "hunter2-ssm" || env["DB_PASSWORD_BY_ARN"] != "hunter2-ssm" || env["API_TOKEN"] != "tok-from-asm" || len(env) != 3 {
		t.Errorf("container secrets: %v", env)
	}
	if cs.GetLogOptions()["token"] != "tok-from-asm" {
		t.Errorf("log options: %v", cs.GetLogOptions())
	}
	desc, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{taskArn}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := protojson.Marshal(desc)
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), "tok-from-asm") {
		t.Errorf("DescribeTasks shows a secret's value: %s", b)
	}
}

// TestMissingSecretStopsTask: a secret that does not exist, of another
// account, or a JSON key the secret lacks stops the task before any
// container starts, with ECS's reason naming it (the hollow agent stops the
// task with the assignment's reason).
func TestMissingSecretStopsTask(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	sec, err := berthv1.NewSecretsManagerClient(c.Dial(t)).CreateSecret(c.Ctx, &berthv1.CreateSecretRequest{Name: "db", SecretString: proto.String(`{"user":"admin-value"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct{ valueFrom, want string }{
		{"/missing/param", "unable to retrieve secrets from ssm: container app: invalid parameters: /missing/param"},
		{"arn:aws:ssm:us-east-1:999999999999:parameter/other", "arn:aws:ssm:us-east-1:999999999999:parameter/other"},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf", "unable to retrieve secret from asm: container app: failed to fetch secret arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf"},
		{sec.Arn + ":password::", "failed to fetch secret " + sec.Arn + ":password::"},
	} {
		family := "bad" + string(rune('a'+i))
		registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: family, ExecutionRoleArn: execRole, TaskRoleArn: taskRole,
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128),
				Secrets: []*berthv1.Secret{{Name: "X", ValueFrom: tc.valueFrom}}}}})
		taskArn := runTask(t, c, family)
		var task *berthv1.Task
		cptest.Eventually(t, "the task stopped", func() bool {
			d, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{taskArn}})
			if err != nil || len(d.Tasks) != 1 {
				return false
			}
			task = d.Tasks[0]
			return task.LastStatus == "STOPPED"
		})
		if !strings.HasPrefix(task.StoppedReason, controlplane.ResourceInitPrefix) || !strings.Contains(task.StoppedReason, tc.want) {
			t.Errorf("%s: stoppedReason %q, want ECS's reason with %q", tc.valueFrom, task.StoppedReason, tc.want)
		}
		t.Logf("%s: %s", tc.valueFrom, task.StoppedReason)
		if strings.Contains(task.StoppedReason, "admin-value") {
			t.Errorf("the reason shows a secret's value: %q", task.StoppedReason)
		}
		if task.StartedAt != 0 {
			t.Errorf("%s: a container started", tc.valueFrom)
		}
	}
}

// TestTaskRoleCredentialsSurviveRestart: credentials issued before a restart
// of the control plane (same data dir) are accepted after it.
func TestTaskRoleCredentialsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cp := start(t, dir)
	c := &cptest.Cluster{CP: cp, Ctx: metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken())}
	c.ECS = berthv1.NewECSClient(c.Dial(t))
	a := connectHand(t, c)
	registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: "app", TaskRoleArn: taskRole,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128)}}})
	taskArn := runTask(t, c, "app")
	creds := a.assignment(taskArn, "RUNNING").GetTaskRoleCredentials()
	a.report(taskArn, "RUNNING")
	a.next(func(m *berthv1.ControlPlaneMessage) bool { return m.GetAck() != nil })
	stop(t, cp)

	cp = start(t, dir)
	defer stop(t, cp)
	out, err := sdkAs(t, cp, creds).DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Tasks: []string{taskArn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("the task's credentials after a restart: %v, %v", out, err)
	}
}

// joinSecret is the secret of the control plane's join token: what an agent
// that joins with a plain token presents as its bearer token.
func joinSecret(t *testing.T, cp *controlplane.ControlPlane) string {
	t.Helper()
	tok, err := pki.ParseJoinToken(cp.JoinToken())
	if err != nil {
		t.Fatal(err)
	}
	return tok.Secret
}
