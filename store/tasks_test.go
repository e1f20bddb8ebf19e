package store

import (
	"context"
	"fmt"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func mustApply(t *testing.T, s *Store, cmd *berthv1.Command) any {
	t.Helper()
	res, err := s.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return res
}

func registerInstance(t *testing.T, s *Store, cluster, id, ec2ID string, cpu, mem int32) *berthv1.ContainerInstanceRecord {
	t.Helper()
	return mustApply(t, s, &berthv1.Command{At: 10, Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: cluster, Id: id,
			Instance:   &berthv1.ContainerInstance{Ec2InstanceId: ec2ID, Attributes: []*berthv1.Attribute{{Name: "ecs.availability-zone", Value: "a"}}},
			Registered: &berthv1.Resources{Cpu: cpu, Memory: mem, PortsTcp: []int32{22}},
		}}}).(*berthv1.ContainerInstanceRecord)
}

func placeCmd(cluster string, tasks ...*berthv1.TaskRecord) *berthv1.Command {
	return &berthv1.Command{At: 20, Change: &berthv1.Command_PlaceTasks{PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: cluster, Tasks: tasks}}}
}

func newTask(id, instance string, cpu, mem int32, ports ...int32) *berthv1.TaskRecord {
	return &berthv1.TaskRecord{
		Id: id, InstanceId: instance,
		Task: &berthv1.Task{TaskArn: "arn:task/" + id, LastStatus: TaskPending, DesiredStatus: TaskRunning,
			Containers: []*berthv1.Container{{Name: "app", LastStatus: TaskPending}}},
		Reservation: &berthv1.Resources{Cpu: cpu, Memory: mem, PortsTcp: ports},
	}
}

func report(t *testing.T, s *Store, instance string, changes ...*berthv1.TaskStateChange) {
	t.Helper()
	mustApply(t, s, &berthv1.Command{At: 30, Change: &berthv1.Command_UpdateTaskStates{UpdateTaskStates: &berthv1.UpdateTaskStatesCommand{
		Cluster: "default", InstanceId: instance, Changes: changes}}})
}

func withDefaultCluster(t *testing.T) *Store {
	s, _ := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReRegistrationKeepsTheInstance(t *testing.T) {
	s := withDefaultCluster(t)
	first := registerInstance(t, s, "default", "id-1", "i-abc", 1024, 2048)
	mustApply(t, s, &berthv1.Command{Change: &berthv1.Command_PutAttributes{PutAttributes: &berthv1.PutAttributesCommand{
		Cluster: "default", Attributes: []*berthv1.Attribute{{Name: "stack", Value: "blue", TargetId: "id-1"}}}}})
	again := registerInstance(t, s, "default", "id-2", "i-abc", 2048, 4096)
	if again.Id != first.Id || again.Registered.Cpu != 2048 || len(s.ContainerInstances("default", nil)) != 1 {
		t.Fatalf("re-registration made %v", again)
	}
	if len(again.Instance.Attributes) != 2 {
		t.Fatalf("custom attribute lost on re-registration: %v", again.Instance.Attributes)
	}
	if _, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{Cluster: "nope", Id: "x", Instance: &berthv1.ContainerInstance{}}}}); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("register in a missing cluster: %v", err)
	}
}

func TestPlaceTasksRechecksFit(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	res := mustApply(t, s, placeCmd("default",
		newTask("t1", "i1", 512, 512, 80),
		newTask("t2", "i1", 512, 512, 80), // port 80 taken by t1
		newTask("t3", "i1", 512, 512),
		newTask("t4", "i1", 512, 1),   // no CPU left
		newTask("t5", "i1", 0, 0, 22), // reserved port
		newTask("t6", "nope", 1, 1),
	)).(*berthv1.PlaceTasksResult)
	var got []string
	for _, p := range res.Placed {
		got = append(got, p.Id)
	}
	for _, f := range res.Failures {
		got = append(got, f.Arn+"="+f.Reason)
	}
	want := "[t1 t3 arn:task/t2=RESOURCE:PORTS arn:task/t4=RESOURCE:CPU arn:task/t5=RESOURCE:PORTS arn:task/t6=MISSING]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
	in, _ := s.ContainerInstance("default", "i1")
	if in.Allocated.Cpu != 1024 || in.Allocated.Memory != 1024 || in.PendingTasks != 2 {
		t.Fatalf("instance after placement: %v", in)
	}
}

func TestTaskLifecycleMovesCountsAndFreesResources(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 512, 512, 80)))
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning, StartedAt: 25,
		Containers: []*berthv1.ContainerStateChange{{Name: "app", LastStatus: TaskRunning,
			NetworkBindings: []*berthv1.NetworkBinding{{ContainerPort: 80, HostPort: 80, Protocol: "tcp"}}}}})
	in, _ := s.ContainerInstance("default", "i1")
	if in.RunningTasks != 1 || in.PendingTasks != 0 {
		t.Fatalf("counts after RUNNING: %v", in)
	}
	counts, _ := s.ClusterCounts("default")
	if counts.RunningTasks != 1 || counts.Instances != 1 {
		t.Fatalf("cluster counts %+v", counts)
	}
	if err := testDeleteCluster(s, "default"); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Fatalf("deleting a cluster with instances: %v", err)
	}
	mustApply(t, s, &berthv1.Command{At: 40, Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: "default", Ids: []string{"t1"}, StopCode: "UserInitiated", Reason: "done"}}})
	task, _ := s.Task("default", "t1")
	if task.Task.DesiredStatus != TaskStopped || task.Task.LastStatus != TaskRunning || task.Task.StopCode != "UserInitiated" {
		t.Fatalf("after StopTask: %v", task.Task)
	}
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskStopped,
		Containers: []*berthv1.ContainerStateChange{{Name: "app", LastStatus: TaskStopped, ExitCode: ptr(int32(0))}}})
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning}) // STOPPED is final
	task, _ = s.Task("default", "t1")
	in, _ = s.ContainerInstance("default", "i1")
	if task.Task.LastStatus != TaskStopped || task.Task.StoppedAt != 30 || task.Task.Containers[0].GetExitCode() != 0 {
		t.Fatalf("stopped task: %v", task.Task)
	}
	if in.RunningTasks != 0 || in.Allocated.Cpu != 0 || len(in.Allocated.PortsTcp) != 0 {
		t.Fatalf("instance after the task stopped: %v", in)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLostAgentStopsItsTasks(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 256, 256), newTask("t2", "i1", 256, 256)))
	mustApply(t, s, &berthv1.Command{At: 50, Change: &berthv1.Command_SetAgentConnected{SetAgentConnected: &berthv1.SetAgentConnectedCommand{
		Cluster: "default", Id: "i1", Connected: false, LostTasksReason: "Agent lost: no heartbeat for 15s"}}})
	for _, id := range []string{"t1", "t2"} {
		task, _ := s.Task("default", id)
		if task.Task.LastStatus != TaskStopped || task.Task.StoppedReason != "Agent lost: no heartbeat for 15s" {
			t.Fatalf("%s after agent lost: %v", id, task.Task)
		}
	}
	in, _ := s.ContainerInstance("default", "i1")
	if in.Instance.AgentConnected || in.PendingTasks != 0 || in.Allocated.Memory != 0 {
		t.Fatalf("instance after agent lost: %v", in)
	}
	res := mustApply(t, s, placeCmd("default", newTask("t3", "i1", 1, 1))).(*berthv1.PlaceTasksResult)
	if len(res.Failures) != 1 || res.Failures[0].Reason != "AGENT" {
		t.Fatalf("placing on a disconnected instance: %v", res)
	}
}

func TestDeregisterNeedsForceWithTasks(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 256, 256)))
	dereg := func(force bool) error {
		_, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_DeregisterContainerInstance{
			DeregisterContainerInstance: &berthv1.DeregisterContainerInstanceCommand{Cluster: "default", Id: "i1", Force: force}}})
		return err
	}
	if err := dereg(false); !apierr.Is(err, apierr.FailedPrecondition) {
		t.Fatalf("deregister with a task, no force: %v", err)
	}
	if err := dereg(true); err != nil {
		t.Fatal(err)
	}
	if len(s.ContainerInstances("default", nil)) != 0 {
		t.Fatal("deregistered instance still listed")
	}
	if task, _ := s.Task("default", "t1"); task.Task.LastStatus != TaskStopped {
		t.Fatalf("task of a force-deregistered instance: %v", task.Task)
	}
	if err := testDeleteCluster(s, "default"); err != nil {
		t.Fatalf("delete the emptied cluster: %v", err)
	}
}

func TestIndexesRebuiltAtOpen(t *testing.T) {
	s, path := openTemp(t)
	testCreateCluster(t, s, "default")
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 256, 256)))
	s.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Task("default", "t1"); err != nil {
		t.Fatal(err)
	}
	if in, err := s.ContainerInstance("default", "i1"); err != nil || in.PendingTasks != 1 {
		t.Fatalf("instance after reopen: %v, %v", in, err)
	}
}

func TestPutAttributesChecksEveryTargetFirst(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	before := s.Revision()
	_, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_PutAttributes{PutAttributes: &berthv1.PutAttributesCommand{
		Cluster: "default", Attributes: []*berthv1.Attribute{{Name: "a", TargetId: "i1"}, {Name: "b", TargetId: "missing"}}}}})
	if !apierr.Is(err, apierr.NotFound) || s.Revision() != before {
		t.Fatalf("PutAttributes with a missing target: %v (revision %d -> %d)", err, before, s.Revision())
	}
	in, _ := s.ContainerInstance("default", "i1")
	if len(in.Instance.Attributes) != 1 {
		t.Fatalf("attributes written despite the rejection: %v", in.Instance.Attributes)
	}
}

// A task that stops by itself (an essential container exited) shows
// desiredStatus STOPPED at once, and a later StopTask keeps its reason.
func TestTaskStoppingByItselfKeepsItsReason(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 512, 512)))
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning})
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskStopping,
		StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited"})
	task, _ := s.Task("default", "t1")
	if task.Task.DesiredStatus != TaskStopped || task.Task.StopCode != "EssentialContainerExited" || task.Task.StoppingAt == 0 {
		t.Fatalf("a task stopping by itself: %v", task.Task)
	}
	mustApply(t, s, &berthv1.Command{At: 40, Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: "default", Ids: []string{"t1"}, StopCode: "UserInitiated", Reason: "Task stopped by user"}}})
	task, _ = s.Task("default", "t1")
	if task.Task.StopCode != "EssentialContainerExited" || task.Task.StoppedReason != "Essential container in task exited" {
		t.Fatalf("StopTask overwrote the reason: %v", task.Task)
	}
}

// A service task whose targets drain is DEACTIVATING: not RUNNING, still
// holding what it reserved; the agent's reports of it running leave it so,
// and STOPPING moves it on.
func TestDeactivatingTaskHoldsItsResources(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "i-1", 1024, 1024)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 512, 512, 80)))
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning, StartedAt: 25})
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskDeactivating,
		StopCode: "ServiceSchedulerInitiated", StoppedReason: "Scaling activity initiated by (deployment ecs-svc/1)"})
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning, HealthStatus: "HEALTHY"})
	task, _ := s.Task("default", "t1")
	in, _ := s.ContainerInstance("default", "i1")
	if task.Task.LastStatus != TaskDeactivating || task.Task.DesiredStatus != TaskStopped || task.Task.StoppingAt == 0 ||
		task.Task.StopCode != "ServiceSchedulerInitiated" {
		t.Fatalf("draining task: %v", task.Task)
	}
	if in.RunningTasks != 0 || in.PendingTasks != 1 || in.Allocated.Cpu != 512 || len(in.Allocated.PortsTcp) != 1 {
		t.Fatalf("instance with a DEACTIVATING task: %v", in)
	}
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskStopping})
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskStopped})
	in, _ = s.ContainerInstance("default", "i1")
	if in.PendingTasks != 0 || in.Allocated.Cpu != 0 {
		t.Fatalf("instance after the task stopped: %v", in)
	}
}
