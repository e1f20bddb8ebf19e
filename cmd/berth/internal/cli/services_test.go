package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/cmd/berth/internal/cli"
	"github.com/berth/berth/internal/cptest"
)

// A service created, scaled and redeployed from the CLI, waited for with
// wait services-stable, shown as a table.
func TestServiceLifecycle(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b", "us-east-1c")
	e.ok(t, "register-task-definition", "--family", "web", "--container-definitions", `[{"name":"web","image":"busybox","memory":128}]`)
	var created berthv1.CreateServiceResponse
	e.decode(t, &created, "create-service", "--service-name", "web", "--task-definition", "web", "--desired-count", "2",
		"--placement-strategy", "type=spread,field=attribute:ecs.availability-zone", `{"type":"binpack","field":"memory"}`,
		"--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=50")
	s := created.Service
	if s.GetDesiredCount() != 2 || len(s.PlacementStrategy) != 2 || s.PlacementStrategy[1].Field != "memory" ||
		s.DeploymentConfiguration.GetMinimumHealthyPercent() != 50 {
		t.Fatalf("create-service: %v", s)
	}

	out := e.ok(t, "wait", "services-stable", "--services", "web", "--interval", "50ms", "--timeout", "30s")
	if !regexpLine(out, `^web  desired 2  running 2  pending 0  deployments 1  stable$`) {
		t.Fatalf("wait services-stable printed:\n%s", out)
	}
	e.ok(t, "update-service", "--service", "web", "--desired-count", "3")
	e.ok(t, "register-task-definition", "--family", "web", "--container-definitions", `{"name":"web","image":"busybox","memory":256}`)
	var updated berthv1.UpdateServiceResponse
	e.decode(t, &updated, "update-service", "--service", "web", "--task-definition", "web:2")
	if !strings.HasSuffix(updated.Service.GetTaskDefinition(), "web:2") {
		t.Fatalf("update-service --task-definition web:2: %v", updated.Service)
	}
	e.ok(t, "wait", "services-stable", "--services", "web", "--interval", "50ms", "--timeout", "30s")

	var desc berthv1.DescribeServicesResponse
	e.decode(t, &desc, "describe-services", "--services", "web")
	s = desc.Services[0]
	if s.GetRunningCount() != 3 || len(s.Deployments) != 1 || s.Deployments[0].GetTaskDefinition() != updated.Service.GetTaskDefinition() {
		t.Fatalf("after wait services-stable: running %d, deployments %v", s.GetRunningCount(), s.Deployments)
	}
	table := e.ok(t, "describe-services", "--services", "web", "--output", "table")
	if !regexpLine(table, `^SERVICE\s+STATUS\s+DESIRED\s+RUNNING\s+PENDING\s+DEPLOYMENTS\s+ROLLOUT\s+TASK DEFINITION$`) ||
		!regexpLine(table, `^web\s+ACTIVE\s+3\s+3\s+0\s+1\s+COMPLETED\s+web:2$`) {
		t.Errorf("describe-services --output table:\n%s", table)
	}
	tasks := e.ok(t, "list-tasks", "--service-name", "web", "--output", "table")
	if strings.Count(tasks, "\n") != 4 {
		t.Errorf("list-tasks --service-name web --output table:\n%s", tasks)
	}
	var deleted berthv1.DeleteServiceResponse
	e.decode(t, &deleted, "delete-service", "--service", "web", "--force")
	if deleted.Service.GetStatus() == "ACTIVE" {
		t.Errorf("delete-service --force: %v", deleted.Service)
	}
}

// A service that cannot place its task: wait gives up after --timeout with
// the reason, and explain --service says what the instances lack.
func TestUnplaceableService(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b")
	e.ok(t, "register-task-definition", "--family", "huge", "--container-definitions", `{"name":"huge","image":"busybox","memory":10000}`)
	e.ok(t, "register-task-definition", "--family", "small", "--container-definitions", `{"name":"small","image":"busybox","memory":64}`)
	e.ok(t, "create-service", "--service-name", "huge", "--task-definition", "huge", "--desired-count", "1")
	e.ok(t, "create-service", "--service-name", "small", "--task-definition", "small", "--desired-count", "1")

	start := time.Now()
	e.berth("wait", "services-stable", "--services", "small", "huge", "--interval", "50ms", "--timeout", "1s").
		fails(t, 1, "services not stable after 1s: huge: running 0 of 1")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("wait --timeout 1s took %v", d)
	}

	var explained string
	cptest.Eventually(t, "a placement failure of service huge", func() bool {
		explained = e.ok(t, "explain", "--service", "huge")
		return strings.Contains(explained, "RESOURCE:MEMORY")
	})
	if !regexpLine(explained, `^reason\s+RESOURCE:MEMORY$`) || !regexpLine(explained, `^closest\s+\S+ lacks RESOURCE:MEMORY \(needs \d+ more MiB of memory\)$`) {
		t.Errorf("explain --service huge:\n%s", explained)
	}
	var resp berthv1.ExplainServiceResponse
	e.decode(t, &resp, "explain", "--service", "huge", "--output", "json")
	if resp.Failure.GetReason() != "RESOURCE:MEMORY" || len(resp.Failure.GetClosest().GetLacks()) == 0 {
		t.Errorf("explain --service huge --output json: %v", &resp)
	}
	if out := e.ok(t, "explain", "--service", "small"); !strings.HasSuffix(out, "service/default/small: no placement failure\n") {
		t.Errorf("explain --service small: %q", out)
	}
}

// explain of a placed task shows each strategy's ranking.
func TestExplainTask(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b", "us-east-1c")
	e.ok(t, "register-task-definition", "--family", "job", "--container-definitions", "name=job,image=busybox,memory=64")
	var run berthv1.RunTaskResponse
	e.decode(t, &run, "run-task", "--task-definition", "job",
		"--placement-strategy", "type=spread,field=attribute:ecs.availability-zone", "type=binpack,field=memory")
	if len(run.Tasks) != 1 {
		t.Fatalf("run-task: %v", &run)
	}
	task := run.Tasks[0]
	out := e.ok(t, "explain", task.TaskArn)
	if !regexpLine(out, `^task\s+`+task.TaskArn+`$`) || !regexpLine(out, `^instance\s+`+task.ContainerInstanceArn+`$`) ||
		!regexpLine(out, `^candidates\s+3 instances`) ||
		!regexpLine(out, `^1\s+spread\(attribute:ecs.availability-zone\)\s+3\s+3\s+\d+$`) ||
		!regexpLine(out, `^2\s+binpack\(memory\)\s+3\s+\d+\s+\d+$`) {
		t.Errorf("explain %s:\n%s", task.TaskArn, out)
	}
	var resp berthv1.ExplainTaskResponse
	e.decode(t, &resp, "explain", task.TaskArn[strings.LastIndex(task.TaskArn, "/")+1:], "--output", "json")
	if resp.Placement.GetCandidates() != 3 || len(resp.Placement.GetSteps()) != 2 {
		t.Errorf("explain --output json: %v", &resp)
	}
	e.berth("explain", "0123456789abcdef0123456789abcdef").fails(t, 1, "")
	e.berth("explain").fails(t, 2, "explain takes one task ID or ARN, or --service NAME")
}

// top shows each instance's reservations and the cluster's totals.
func TestTop(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b")
	e.ok(t, "register-task-definition", "--family", "job", "--container-definitions", "name=job,image=busybox,memory=1024,cpu=512")
	e.ok(t, "run-task", "--task-definition", "job", "--count", "2", "--placement-strategy", "type=binpack,field=memory")
	out := e.ok(t, "top")
	if !regexpLine(out, `^INSTANCE\s+AZ\s+TYPE\s+STATUS\s+AGENT\s+RUNNING\s+PENDING\s+CPU\s+MEMORY$`) ||
		!regexpLine(out, `^\S+\s+us-east-1[ab]\s+m5.large\s+ACTIVE\s+connected\s+\d\s+\d\s+1024/4096 25%\s+2048/8192 25%$`) ||
		!regexpLine(out, `^\S+\s+us-east-1[ab]\s+m5.large\s+ACTIVE\s+connected\s+0\s+0\s+0/4096 0%\s+0/8192 0%$`) ||
		!regexpLine(out, `^TOTAL \(2 instances\)\s+2 connected\s+\d\s+\d\s+1024/8192 13%\s+2048/16384 13%$`) {
		t.Errorf("top:\n%s", out)
	}
}

// top --watch redraws until interrupted.
func TestTopWatch(t *testing.T) {
	e := newEnv(t, "us-east-1a")
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(500*time.Millisecond, cancel).Stop() // as Ctrl-C would
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, []string{"top", "--watch", "--interval", "50ms"},
		cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return e.vars[k] }})
	if n := strings.Count(out.String(), "TOTAL (1 instances)"); code != 0 || errOut.Len() > 0 || n < 3 {
		t.Errorf("top --watch for 500ms every 50ms: exit %d, %d tables, stderr %q", code, n, errOut.String())
	}
}

// Container instances: found by the cluster query language, given custom
// attributes, tasks started on them, drained.
func TestContainerInstances(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b")
	var list berthv1.ListContainerInstancesResponse
	e.decode(t, &list, "list-container-instances", "--filter", "attribute:ecs.availability-zone == us-east-1b")
	if len(list.ContainerInstanceArns) != 1 {
		t.Fatalf("list-container-instances --filter: %v", list.ContainerInstanceArns)
	}
	arn := list.ContainerInstanceArns[0]
	e.ok(t, "put-attributes", "--attributes", "name=stack,value=prod,targetId="+arn)
	e.decode(t, &list, "list-container-instances", "--filter", "attribute:stack == prod")
	if len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != arn {
		t.Fatalf("after put-attributes stack=prod: %v, want [%s]", list.ContainerInstanceArns, arn)
	}
	e.ok(t, "register-task-definition", "--family", "job", "--container-definitions", "name=job,image=busybox,memory=64")
	var started berthv1.StartTaskResponse
	e.decode(t, &started, "start-task", "--task-definition", "job", "--container-instances", arn)
	if len(started.Tasks) != 1 || started.Tasks[0].ContainerInstanceArn != arn {
		t.Fatalf("start-task on %s: %v", arn, &started)
	}
	table := e.ok(t, "update-container-instances-state", "--container-instances", arn, "--status", "DRAINING", "--output", "table")
	if !regexpLine(table, `^`+arn[strings.LastIndex(arn, "/")+1:]+`\s+i-\S+\s+DRAINING\s+connected\s+`) {
		t.Errorf("update-container-instances-state --output table:\n%s", table)
	}
	var desc berthv1.DescribeContainerInstancesResponse
	e.decode(t, &desc, "describe-container-instances", "--container-instances", arn, "nosuch")
	if len(desc.ContainerInstances) != 1 || desc.ContainerInstances[0].Status != "DRAINING" || len(desc.Failures) != 1 {
		t.Errorf("describe-container-instances: %v", &desc)
	}
}
