package store

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func registerPoolHost(t *testing.T, s *Store, id string, cpu, mem int32) {
	t.Helper()
	mustApply(t, s, &berthv1.Command{At: 10, Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: "default", Id: id,
			Instance: &berthv1.ContainerInstance{Ec2InstanceId: "i-" + id, Attributes: []*berthv1.Attribute{
				{Name: "ecs.availability-zone", Value: "us-east-1b"}, {Name: PoolAttribute, Value: PoolFargate}}},
			Registered: &berthv1.Resources{Cpu: cpu, Memory: mem},
		}}})
}

func assign(t *testing.T, s *Store, pairs ...string) *berthv1.AssignTasksResult {
	t.Helper()
	cmd := &berthv1.AssignTasksCommand{Cluster: "default"}
	for i := 0; i < len(pairs); i += 2 {
		cmd.Assignments = append(cmd.Assignments, &berthv1.TaskToHost{TaskId: pairs[i], InstanceId: pairs[i+1]})
	}
	return mustApply(t, s, &berthv1.Command{At: 30, Change: &berthv1.Command_AssignTasks{AssignTasks: cmd}}).(*berthv1.AssignTasksResult)
}

// Provisioned tasks wait on no instance; AssignTasks puts them on pool hosts
// only, re-checking that each still waits and still fits; a waiting task
// that is stopped is STOPPED at once.
func TestProvisionAndAssignTasks(t *testing.T) {
	s := withDefaultCluster(t)
	registerPoolHost(t, s, "pool", 1024, 2048)
	registerInstance(t, s, "default", "user", "i-user", 4096, 8192)
	var tasks []*berthv1.TaskRecord
	for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
		tk := newTask(id, "", 512, 1024)
		tk.Task.LaunchType = LaunchTypeFargate
		tasks = append(tasks, tk)
	}
	res := mustApply(t, s, &berthv1.Command{At: 20, Change: &berthv1.Command_ProvisionTasks{ProvisionTasks: &berthv1.ProvisionTasksCommand{
		Cluster: "default", Tasks: tasks}}}).(*berthv1.TaskRecords)
	if len(res.Tasks) != 5 || res.Tasks[0].Task.LastStatus != TaskProvisioning || res.Tasks[0].InstanceId != "" || res.Tasks[0].Task.CreatedAt != 20 {
		t.Fatalf("provisioned: %v", res.Tasks[0])
	}
	if c, _ := s.ClusterCounts("default"); c.PendingTasks != 5 || c.Instances != 1 {
		t.Fatalf("counts with 5 tasks waiting and a pool host: %+v, want 5 pending and only the user's instance", c)
	}
	mustApply(t, s, &berthv1.Command{At: 25, Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: "default", Ids: []string{"t5"}, StopCode: "UserInitiated", Reason: "no"}}})
	if rec, _ := s.Task("default", "t5"); rec.Task.LastStatus != TaskStopped || rec.Task.StoppedAt != 25 {
		t.Fatalf("a waiting task stopped: %v", rec.Task)
	}

	// t1, t2 fit the pool host; t3 no longer does; t4 is refused on the
	// user's instance; t5 is stopped; t9 is unknown.
	out := assign(t, s, "t1", "pool", "t2", "pool", "t3", "pool", "t4", "user", "t5", "pool", "t9", "pool")
	if len(out.Assigned) != 2 || len(out.Failures) != 4 {
		t.Fatalf("assigned %d, refused %v", len(out.Assigned), out.Failures)
	}
	reasons := map[string]string{}
	for _, f := range out.Failures {
		reasons[f.Arn] = f.Reason
	}
	if reasons["arn:task/t3"] != ReasonCPU || reasons["arn:task/t4"] != "ATTRIBUTE" || reasons["arn:task/t5"] != "STATUS" || reasons["t9"] != "MISSING" {
		t.Fatalf("refusals: %v", reasons)
	}
	pool, _ := s.ContainerInstance("default", "pool")
	if pool.Allocated.GetCpu() != 1024 || pool.Allocated.GetMemory() != 2048 || pool.PendingTasks != 2 {
		t.Fatalf("pool host after two tasks: %v", pool)
	}
	t1, _ := s.Task("default", "t1")
	if t1.InstanceId != "pool" || t1.Task.LastStatus != TaskPending || t1.Task.AvailabilityZone != "us-east-1b" || t1.Task.ContainerInstanceArn != "" {
		t.Fatalf("assigned task: %v", t1)
	}
	if again := assign(t, s, "t1", "pool"); len(again.Assigned) != 0 || again.Failures[0].Reason != "STATUS" {
		t.Fatalf("assigning an assigned task again: %v", again)
	}
	if on := s.LiveTasksOn("default", "pool"); len(on) != 2 {
		t.Fatalf("live tasks on the pool host: %d", len(on))
	}
	if waiting := s.LiveTasksOn("default", ""); len(waiting) != 2 { // t3, t4
		t.Fatalf("tasks still waiting: %d", len(waiting))
	}
}
