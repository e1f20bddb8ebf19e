package cli_test

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// The nginx task definition of aws-samples, registered from its file, then
// tasks run from it, described and listed, as JSON and as tables.
func TestTaskDefinitionAndTasks(t *testing.T) {
	e := newEnv(t, "us-east-1a", "us-east-1b")
	var reg berthv1.RegisterTaskDefinitionResponse
	e.decode(t, &reg, "register-task-definition", "--cli-input-json", "file://"+taskdefs+"aws-samples__aws-containers-task-definitions__nginx_ec2.json")
	td := reg.TaskDefinition
	if td.GetFamily() != "nginx" || td.GetRevision() != 1 || td.GetNetworkMode() != "bridge" || len(td.ContainerDefinitions) != 1 ||
		td.ContainerDefinitions[0].GetCpu() != 256 || !strings.HasSuffix(td.GetTaskDefinitionArn(), ":task-definition/nginx:1") {
		t.Fatalf("registered %v", td)
	}

	// Flags override the file's members.
	e.decode(t, &reg, "register-task-definition", "--cli-input-json", "file://"+taskdefs+"aws-samples__aws-containers-task-definitions__nginx_ec2.json",
		"--family", "web", "--memory", "1 GB")
	if reg.TaskDefinition.GetFamily() != "web" || reg.TaskDefinition.GetMemory() != "1024" || reg.TaskDefinition.GetRevision() != 1 {
		t.Fatalf("--family web --memory '1 GB' over the file: registered %s:%d memory %q",
			reg.TaskDefinition.GetFamily(), reg.TaskDefinition.GetRevision(), reg.TaskDefinition.GetMemory())
	}
	// And flags alone make a request, structures in JSON.
	e.decode(t, &reg, "register-task-definition", "--family", "web",
		"--container-definitions", `{"name":"web","image":"busybox","memory":128}`, `{"name":"side","image":"busybox","memory":64,"essential":false}`)
	if got := reg.TaskDefinition; got.GetRevision() != 2 || len(got.ContainerDefinitions) != 2 || got.ContainerDefinitions[1].GetName() != "side" {
		t.Fatalf("registered from flags: %v", got)
	}

	var desc berthv1.DescribeTaskDefinitionResponse
	e.decode(t, &desc, "describe-task-definition", "--task-definition", "web:1")
	if desc.TaskDefinition.GetMemory() != "1024" {
		t.Errorf("describe web:1: %v", desc.TaskDefinition)
	}

	var run berthv1.RunTaskResponse
	e.decode(t, &run, "run-task", "--task-definition", "web", "--count", "2", "--started-by", "cli-test", "--group", "batch")
	if len(run.Tasks) != 2 || len(run.Failures) != 0 {
		t.Fatalf("run-task --count 2: %v", &run)
	}
	ids := []string{run.Tasks[0].TaskArn, run.Tasks[1].TaskArn[strings.LastIndex(run.Tasks[1].TaskArn, "/")+1:]}

	// --tasks takes several values, as aws ecs does.
	var tasks berthv1.DescribeTasksResponse
	e.decode(t, &tasks, "describe-tasks", "--tasks", ids[0], ids[1])
	if len(tasks.Tasks) != 2 || tasks.Tasks[0].TaskArn != run.Tasks[0].TaskArn || tasks.Tasks[1].TaskArn != run.Tasks[1].TaskArn {
		t.Fatalf("describe-tasks: %v", &tasks)
	}
	for _, task := range tasks.Tasks {
		if task.Group != "batch" || task.StartedBy != "cli-test" || !strings.HasSuffix(task.TaskDefinitionArn, "web:2") {
			t.Errorf("task %s: group %q startedBy %q task definition %s", task.TaskArn, task.Group, task.StartedBy, task.TaskDefinitionArn)
		}
	}

	table := e.ok(t, "describe-tasks", "--tasks", ids[0], ids[1], "--output", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "TASK STATUS DESIRED INSTANCE AZ GROUP TASK DEFINITION" {
		t.Fatalf("describe-tasks --output table:\n%s", table)
	}
	for i, l := range lines[1:] {
		f := strings.Fields(l)
		id := run.Tasks[i].TaskArn[strings.LastIndex(run.Tasks[i].TaskArn, "/")+1:]
		if f[0] != id || f[2] != "RUNNING" || f[len(f)-2] != "batch" || f[len(f)-1] != "web:2" {
			t.Errorf("table row %q, want task %s desired RUNNING group batch web:2", l, id)
		}
	}

	var list berthv1.ListTasksResponse
	e.decode(t, &list, "list-tasks", "--started-by", "cli-test")
	if len(list.TaskArns) != 2 {
		t.Errorf("list-tasks --started-by cli-test: %v", list.TaskArns)
	}

	var stop berthv1.StopTaskResponse
	e.decode(t, &stop, "stop-task", "--task", ids[1], "--reason", "done")
	if stop.Task.GetDesiredStatus() != "STOPPED" || stop.Task.GetStoppedReason() != "done" {
		t.Errorf("stop-task: %v", stop.Task)
	}
}

// List commands follow nextToken as the aws CLI does: --max-items stops
// early and says where to go on, --starting-token goes on.
func TestPagination(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.ok(t, "register-task-definition", "--family", "web", "--container-definitions", "name=web,image=busybox,memory=64")
	}
	var all berthv1.ListTaskDefinitionsResponse
	e.decode(t, &all, "list-task-definitions", "--page-size", "1")
	if len(all.TaskDefinitionArns) != 3 || all.NextToken != "" {
		t.Fatalf("list-task-definitions --page-size 1: %v", &all)
	}
	var first berthv1.ListTaskDefinitionsResponse
	e.decode(t, &first, "list-task-definitions", "--max-items", "2")
	if len(first.TaskDefinitionArns) != 2 || first.NextToken == "" {
		t.Fatalf("list-task-definitions --max-items 2: %v", &first)
	}
	var rest berthv1.ListTaskDefinitionsResponse
	e.decode(t, &rest, "list-task-definitions", "--starting-token", first.NextToken)
	if len(rest.TaskDefinitionArns) != 1 || rest.TaskDefinitionArns[0] != all.TaskDefinitionArns[2] {
		t.Fatalf("list-task-definitions --starting-token: %v, want [%s]", rest.TaskDefinitionArns, all.TaskDefinitionArns[2])
	}
	if out := e.ok(t, "list-task-definitions", "--output", "table"); !strings.HasPrefix(out, "TASK DEFINITION ARNS\n") || strings.Count(out, "\n") != 4 {
		t.Errorf("list-task-definitions --output table:\n%s", out)
	}
}

func TestClustersAndText(t *testing.T) {
	e := newEnv(t)
	var created berthv1.CreateClusterResponse
	e.decode(t, &created, "create-cluster", "--cluster-name", "prod", "--tags", "key=team,value=web")
	if created.Cluster.GetClusterName() != "prod" || len(created.Cluster.Tags) != 1 || created.Cluster.Tags[0].Value != "web" {
		t.Fatalf("create-cluster: %v", created.Cluster)
	}
	text := e.ok(t, "list-clusters", "--output", "text")
	if !strings.Contains(text, "CLUSTERARNS\tarn:aws:ecs:us-east-1:000000000000:cluster/prod\n") ||
		!strings.Contains(text, "CLUSTERARNS\tarn:aws:ecs:us-east-1:000000000000:cluster/default\n") {
		t.Errorf("list-clusters --output text:\n%s", text)
	}
	table := e.ok(t, "describe-clusters", "--clusters", "prod", "nosuch", "--output", "table")
	if !strings.Contains(table, "CLUSTER") || !regexpLine(table, `^prod\s+ACTIVE\s+0\s+0\s+0\s+0$`) ||
		!regexpLine(table, `^FAILURE\s+REASON`) || !regexpLine(table, `nosuch\s+MISSING`) {
		t.Errorf("describe-clusters --output table:\n%s", table)
	}
	e.ok(t, "delete-cluster", "--cluster", "prod")
}

func TestTagCommands(t *testing.T) {
	e := newEnv(t)
	const cluster = "arn:aws:ecs:us-east-1:000000000000:cluster/default"
	e.ok(t, "tag-resource", "--resource-arn", cluster, "--tags", "key=team,value=web", "key=env,value=dev")
	e.ok(t, "untag-resource", "--resource-arn", cluster, "--tag-keys", "env")
	var list berthv1.ListTagsForResourceResponse
	e.decode(t, &list, "list-tags-for-resource", "--resource-arn", cluster)
	if len(list.Tags) != 1 || list.Tags[0].GetKey() != "team" || list.Tags[0].GetValue() != "web" {
		t.Fatalf("list-tags-for-resource: %v", list.Tags)
	}
}
