package store

import (
	"fmt"
	"testing"
	"unsafe"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// fullTask is a task with every string field interning touches set.
func fullTask(id string) *berthv1.TaskRecord {
	arn := "arn:aws:ecs:us-east-1:000000000000:task/default/" + id
	return &berthv1.TaskRecord{
		Cluster: "default", Id: id, InstanceId: "i1",
		Task: &berthv1.Task{
			TaskArn: arn, ClusterArn: "arn:cluster/default", TaskDefinitionArn: "arn:task-definition/web:1",
			ContainerInstanceArn: "arn:container-instance/default/i1", LastStatus: TaskRunning, DesiredStatus: TaskRunning,
			Cpu: "256", Memory: "512", Group: "service:web", StartedBy: "ecs-svc/1", LaunchType: "EC2",
			CapacityProviderName: "cp", AvailabilityZone: "us-east-1a", HealthStatus: "UNKNOWN", StopCode: "code",
			StoppedReason: "why", Connectivity: "CONNECTED", PlatformVersion: "1", Version: 3, CreatedAt: 5,
			Tags:       []*berthv1.Tag{{Key: "team", Value: "blue"}},
			Attributes: []*berthv1.Attribute{{Name: "a", Value: "b", TargetType: "t", TargetId: "x"}},
			Containers: []*berthv1.Container{{
				ContainerArn: "arn:container/" + id + "/app", TaskArn: arn, Name: "app", Image: "berth-test/app",
				ImageDigest: "sha256:0", RuntimeId: "rt-" + id, LastStatus: TaskRunning, Reason: "r", HealthStatus: "HEALTHY",
				Cpu: "256", Memory: "512", MemoryReservation: "128", ExitCode: proto.Int32(0),
				NetworkBindings: []*berthv1.NetworkBinding{{BindIp: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"}},
			}},
		},
		Reservation: &berthv1.Resources{Cpu: 256, Memory: 512, PortsTcp: []int32{80}},
		Placement: &berthv1.PlacementExplanation{Candidates: 3, TieBreak: "random",
			Steps: []*berthv1.RankStep{{Strategy: "binpack(memory)", Candidates: 3, Best: 1, Score: 7}}},
	}
}

// decoded is rec as the store reads it back: every string a copy of its own.
func decoded(t *testing.T, rec *berthv1.TaskRecord) *berthv1.TaskRecord {
	t.Helper()
	b, err := proto.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeTask(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func same(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

func TestInternKeepsValuesAndSharesCopies(t *testing.T) {
	var in interner
	a, b := decoded(t, fullTask("t1")), decoded(t, fullTask("t2"))
	in.task(a)
	in.task(b)
	for _, c := range []struct {
		rec  *berthv1.TaskRecord
		want *berthv1.TaskRecord
	}{{a, fullTask("t1")}, {b, fullTask("t2")}} {
		if !proto.Equal(c.rec, c.want) {
			t.Fatalf("interning changed the record:\n got %v\nwant %v", c.rec, c.want)
		}
	}
	at, bt := a.Task, b.Task
	for _, p := range [][2]string{
		{a.Cluster, b.Cluster}, {a.InstanceId, b.InstanceId}, {at.ClusterArn, bt.ClusterArn},
		{at.TaskDefinitionArn, bt.TaskDefinitionArn}, {at.ContainerInstanceArn, bt.ContainerInstanceArn},
		{at.Group, bt.Group}, {at.StartedBy, bt.StartedBy}, {at.AvailabilityZone, bt.AvailabilityZone},
		{at.Containers[0].Image, bt.Containers[0].Image}, {at.Containers[0].Name, bt.Containers[0].Name},
		{at.Tags[0].Value, bt.Tags[0].Value}, {a.Placement.Steps[0].Strategy, b.Placement.Steps[0].Strategy},
	} {
		if !same(p[0], p[1]) {
			t.Errorf("%q: two copies", p[0])
		}
	}
	if !same(at.Containers[0].TaskArn, at.TaskArn) {
		t.Error("the container's taskArn is a copy of the task's")
	}
	if same(at.Containers[0].RuntimeId, bt.Containers[0].RuntimeId) || len(in.m) > 40 {
		t.Errorf("a task's own values were interned: %d strings", len(in.m))
	}
}

func TestInternStartsAfreshWhenFull(t *testing.T) {
	var in interner
	for i := range maxInterned + 10 {
		s := fmt.Sprint(i)
		in.str(&s)
	}
	if len(in.m) != 10 {
		t.Fatalf("%d strings held, want 10 after starting afresh", len(in.m))
	}
	s := "x"
	var none *interner
	none.str(&s)
	none.task(fullTask("t"))
	none.instance(&berthv1.ContainerInstanceRecord{})
}

// TestRecordsInMemoryAreComplete checks that what the store hands out,
// after placement, state reports, a stop and a reopen, is the stored record
// field for field.
func TestRecordsInMemoryAreComplete(t *testing.T) {
	s, path := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, "default", "i1", "i-1", 4096, 4096)
	for _, id := range []string{"t1", "t2", "t3"} {
		rec := fullTask(id)
		rec.Task.LastStatus, rec.Task.Containers[0].LastStatus = TaskPending, TaskPending
		rec.Reservation.PortsTcp = nil // all three fit
		mustApply(t, s, placeCmd("default", rec))
	}
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "t1", LastStatus: TaskRunning, StartedAt: 40,
		Containers: []*berthv1.ContainerStateChange{{Name: "app", LastStatus: TaskRunning, RuntimeId: "rt-new"}}})
	mustApply(t, s, &berthv1.Command{At: 50, Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
		Cluster: "default", Ids: []string{"t2"}, Reason: "stopped by the test"}}})
	check := func(s *Store) {
		t.Helper()
		err := s.view(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
				stored, err := decodeTask(v)
				if err != nil {
					return err
				}
				got, err := s.Task("default", stored.Id)
				if err != nil {
					return err
				}
				if !proto.Equal(got, stored) {
					t.Errorf("in memory:\n%v\nstored:\n%v", got, stored)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.ContainerInstance("default", "i1")
		if err != nil || in.Instance.Attributes[0].Value != "a" {
			t.Fatalf("instance %v, %v", in, err)
		}
	}
	check(s)
	if len(s.Tasks("default", nil)) != 3 {
		t.Fatalf("%d tasks", len(s.Tasks("default", nil)))
	}
	s.Close()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
}

// TestReleaseMappedKeepsData drops the state file's mapped pages while
// readers and the writer work, then reads everything back.
func TestReleaseMappedKeepsData(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, "default", "i1", "i-1", 1<<20, 1<<20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if err := releaseMapped(s.db); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range 200 {
		rec := fullTask(fmt.Sprintf("t%03d", i))
		rec.Reservation.PortsTcp = nil
		mustApply(t, s, placeCmd("default", rec))
	}
	<-done
	if err := releaseMapped(s.db); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			rec, err := decodeTask(v)
			if err == nil && rec.Task.Group != "service:web" {
				err = fmt.Errorf("task %s read back as %v", k, rec)
			}
			n++
			return err
		})
	})
	if err != nil || n != 200 {
		t.Fatalf("%d tasks read back: %v", n, err)
	}
}
