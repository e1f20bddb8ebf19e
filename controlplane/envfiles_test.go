package controlplane_test

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// s3Client is an SDK client of the control plane's S3, with its keys.
func s3Client(t *testing.T, c *cptest.Cluster) *s3.Client {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + c.CP.HTTPAddr()), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
}

func putObject(t *testing.T, client *s3.Client, bucket, key, body string) {
	t.Helper()
	if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// TestTaskEnvironmentFiles: a container's environmentFiles, put in a bucket
// through S3's API, reach the agent with the assignment, merged as ECS
// merges them (the first file that sets a variable wins), beside the
// container's secrets; a RunTask override's files replace the definition's.
// DescribeTasks shows none of the values.
func TestTaskEnvironmentFiles(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{AgentTTL: time.Minute})
	a := connectHand(t, c)
	client := s3Client(t, c)
	if _, err := client.CreateBucket(c.Ctx, &s3.CreateBucketInput{Bucket: aws.String("app-config")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, client, "app-config", "base.env", "# settings\nLOG_LEVEL=info\nDB_URL=postgres://db/app?sslmode=disable\n\nSHARED=from-base\n")
	putObject(t, client, "app-config", "prod/extra.env", "SHARED=from-extra\nFEATURE=on\n")
	putObject(t, client, "app-config", "override.env", "ONLY_OVERRIDE=yes\n")
	if _, err := berthv1.NewSSMClient(c.Dial(t)).PutParameter(c.Ctx, &berthv1.PutParameterRequest{Name: "/app/pw", Value: "pw-value", Type: "SecureString"}); err != nil {
		t.Fatal(err)
	}
	registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: "app", ExecutionRoleArn: execRole,
		ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "app", Image: "busybox", Memory: proto.Int32(128),
				Secrets: []*berthv1.Secret{{Name: "PW", ValueFrom: "/app/pw"}},
				EnvironmentFiles: []*berthv1.EnvironmentFile{
					{Type: "s3", Value: "arn:aws:s3:::app-config/base.env"},
					{Type: "s3", Value: "arn:aws:s3:::app-config/prod/extra.env"},
				}},
			{Name: "side", Image: "busybox", Memory: proto.Int32(64), Essential: proto.Bool(false)},
		}})
	taskArn := runTask(t, c, "app")
	as := a.assignment(taskArn, "RUNNING")
	if as.GetImagePullsError() != "" || len(as.GetContainerSecrets()) != 1 {
		t.Fatalf("assignment: error %q, container secrets %d", as.GetImagePullsError(), len(as.GetContainerSecrets()))
	}
	cs := as.GetContainerSecrets()[0]
	want := map[string]string{"LOG_LEVEL": "info", "DB_URL": "postgres://db/app?sslmode=disable", "SHARED": "from-base", "FEATURE": "on"}
	if cs.GetContainerName() != "app" || !maps.Equal(cs.GetFileEnvironment(), want) || cs.GetEnvironment()["PW"] != "pw-value" {
		t.Errorf("container %s: files %v, secrets %d", cs.GetContainerName(), cs.GetFileEnvironment(), len(cs.GetEnvironment()))
	}
	desc, err := c.ECS.DescribeTasks(c.Ctx, &berthv1.DescribeTasksRequest{Tasks: []string{taskArn}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := protojson.Marshal(desc); strings.Contains(string(b), "from-base") || strings.Contains(string(b), "sslmode") {
		t.Errorf("DescribeTasks shows an environment file's value: %s", b)
	}

	run, err := c.ECS.RunTask(c.Ctx, &berthv1.RunTaskRequest{TaskDefinition: "app", Overrides: &berthv1.TaskOverride{
		ContainerOverrides: []*berthv1.ContainerOverride{{Name: "app", EnvironmentFiles: []*berthv1.EnvironmentFile{
			{Type: "s3", Value: "arn:aws:s3:::app-config/override.env"}}}}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask with an override: %v %v", err, run.GetFailures())
	}
	as = a.assignment(run.Tasks[0].TaskArn, "RUNNING")
	if got := as.GetContainerSecrets()[0].GetFileEnvironment(); !maps.Equal(got, map[string]string{"ONLY_OVERRIDE": "yes"}) {
		t.Errorf("override's files: %v", got)
	}
}

// TestBadEnvironmentFileStopsTask: a missing bucket or object, or a file
// that does not parse, stops the task before any container starts with
// ECS's reason naming the file (and the line); no value shows.
func TestBadEnvironmentFileStopsTask(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	c.StartAgent(t, agent.Config{})
	c.WaitInstances(t, 1)
	client := s3Client(t, c)
	if _, err := client.CreateBucket(c.Ctx, &s3.CreateBucketInput{Bucket: aws.String("cfg")}); err != nil {
		t.Fatal(err)
	}
	putObject(t, client, "cfg", "good.env", "A=1\n")
	putObject(t, client, "cfg", "bad.env", "A=1\n# fine\nB=secret-value\nthis line has no equals sign\n")
	for i, tc := range []struct{ arn, want string }{
		{"arn:aws:s3:::cfg/missing.env", "unable to download env file arn:aws:s3:::cfg/missing.env: NoSuchKey"},
		{"arn:aws:s3:::no-such-bucket/a.env", "unable to download env file arn:aws:s3:::no-such-bucket/a.env: NoSuchBucket"},
		{"arn:aws:s3:::cfg/bad.env", "arn:aws:s3:::cfg/bad.env: line 4: not VARIABLE=VALUE"},
	} {
		family := "envbad" + string(rune('a'+i))
		registerTD(t, c, &berthv1.RegisterTaskDefinitionRequest{Family: family, ExecutionRoleArn: execRole,
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128),
				EnvironmentFiles: []*berthv1.EnvironmentFile{{Type: "s3", Value: "arn:aws:s3:::cfg/good.env"}, {Type: "s3", Value: tc.arn}}}}})
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
		t.Logf("%s: %s", tc.arn, task.StoppedReason)
		if !strings.HasPrefix(task.StoppedReason, controlplane.EnvFilesPrefix+"container app: ") || !strings.Contains(task.StoppedReason, tc.want) {
			t.Errorf("%s: stoppedReason %q, want ECS's reason with %q", tc.arn, task.StoppedReason, tc.want)
		}
		if strings.Contains(task.StoppedReason, "secret-value") || strings.Contains(task.StoppedReason, "no equals") {
			t.Errorf("the reason shows the file's text: %q", task.StoppedReason)
		}
		if task.StartedAt != 0 {
			t.Errorf("%s: a container started", tc.arn)
		}
	}
}
