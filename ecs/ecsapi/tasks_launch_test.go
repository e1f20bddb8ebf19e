package ecsapi

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// RunTask's propagateTags TASK_DEFINITION gives the tasks the task
// definition's tags (a request tag of the same key wins), and
// enableExecuteCommand is kept on the tasks.
func TestRunTaskLaunchMembers(t *testing.T) {
	s := newServer(t)
	addInstance(t, s, "a1", "us-east-1a", "t3.large", 2048, 4096)
	req := webTaskDef("web")
	req.Tags = []*berthv1.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: "dev"}}
	if _, err := s.RegisterTaskDefinition(ctx, req); err != nil {
		t.Fatal(err)
	}
	res, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", PropagateTags: "TASK_DEFINITION",
		EnableExecuteCommand: true, Tags: []*berthv1.Tag{{Key: "env", Value: "prod"}}})
	if err != nil || len(res.Tasks) != 1 {
		t.Fatalf("run: %v %v", res, err)
	}
	task := res.Tasks[0]
	got := map[string]string{}
	for _, tag := range task.Tags {
		got[tag.Key] = tag.Value
	}
	if len(got) != 2 || got["team"] != "a" || got["env"] != "prod" || !task.GetEnableExecuteCommand() {
		t.Fatalf("task tags %v, enableExecuteCommand %v", task.Tags, task.EnableExecuteCommand)
	}
	rejections(t, s, []rejection{
		{"propagate SERVICE", func() error {
			_, err := s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "web", PropagateTags: "SERVICE"})
			return err
		}, ecserr.InvalidArgument, "propagateTags: SERVICE is for a service's tasks"},
	})
}

// A task definition with an EFS volume is stored, with rootDirectory "/",
// and refused when a task would start.
func TestEFSStoredButNotRun(t *testing.T) {
	s := newServer(t)
	addInstance(t, s, "a1", "us-east-1a", "t3.large", 2048, 4096)
	req := webTaskDef("efs")
	req.Volumes = []*berthv1.Volume{{Name: "data", EfsVolumeConfiguration: &berthv1.EFSVolumeConfiguration{FileSystemId: "fs-1"}}}
	reg, err := s.RegisterTaskDefinition(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.TaskDefinition.Volumes[0].EfsVolumeConfiguration.RootDirectory; got != "/" {
		t.Fatalf("rootDirectory %q, want /", got)
	}
	_, err = s.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: "efs"})
	wantErr(t, err, ecserr.Unimplemented, "taskDefinition.volumes[0].efsVolumeConfiguration: not supported by berth")
	if e := ecserr.From(err); ecserr.Exception(e) != ecserr.UnsupportedFeatureException {
		t.Fatalf("exception %s", ecserr.Exception(e))
	}
}
