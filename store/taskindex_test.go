package store

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// The task indexes agree with a scan of every task after a random mix of
// placements, state reports, stops and lost agents, and again after the
// store is reopened (the indexes rebuilt from the file).
func TestTaskIndexesAgreeWithAScan(t *testing.T) {
	s, path := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	instances := []string{"i0", "i1", "i2", "i3"}
	for i, id := range instances {
		registerInstance(t, s, "default", id, fmt.Sprintf("ec2-%d", i), 1<<20, 1<<20)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for step := range 400 {
		switch n := r.IntN(10); {
		case n < 4 || len(ids) == 0:
			id := fmt.Sprintf("t%03d", step)
			task := newTask(id, instances[r.IntN(len(instances))], 1, 1)
			task.Task.Group = fmt.Sprintf("service:s%d", r.IntN(3))
			mustApply(t, s, placeCmd("default", task))
			ids = append(ids, id)
		case n < 7:
			id := ids[r.IntN(len(ids))]
			rec, _ := s.Task("default", id)
			status := []string{TaskRunning, TaskStopped}[r.IntN(2)]
			report(t, s, rec.InstanceId, &berthv1.TaskStateChange{TaskArn: rec.Task.TaskArn, LastStatus: status})
		case n < 9:
			mustApply(t, s, &berthv1.Command{Change: &berthv1.Command_StopTasks{StopTasks: &berthv1.StopTasksCommand{
				Cluster: "default", Ids: []string{ids[r.IntN(len(ids))]}, Reason: "test"}}})
		default:
			id := instances[r.IntN(len(instances))]
			mustApply(t, s, &berthv1.Command{Change: &berthv1.Command_SetAgentConnected{SetAgentConnected: &berthv1.SetAgentConnectedCommand{
				Cluster: "default", Id: id, Connected: false, LostTasksReason: "lost"}}})
			mustApply(t, s, &berthv1.Command{Change: &berthv1.Command_SetAgentConnected{SetAgentConnected: &berthv1.SetAgentConnectedCommand{
				Cluster: "default", Id: id, Connected: true}}})
		}
	}
	checkTaskIndexes(t, s, instances)
	s.Close()
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	checkTaskIndexes(t, s2, instances)
}

func checkTaskIndexes(t *testing.T, s *Store, instances []string) {
	t.Helper()
	all := s.Tasks("default", nil)
	wantGroups := map[string]map[string]int{}
	stopped := 0
	for _, in := range instances {
		var want []string
		for _, rec := range all {
			if rec.InstanceId == in && rec.Task.LastStatus != TaskStopped {
				want = append(want, rec.Id)
				if wantGroups[in] == nil {
					wantGroups[in] = map[string]int{}
				}
				wantGroups[in][rec.Task.Group]++
			}
		}
		if got := idsOf(s.LiveTasksOn("default", in)); !slices.Equal(got, want) {
			t.Errorf("LiveTasksOn(%s) = %v, want %v", in, got, want)
		}
	}
	for _, rec := range all {
		if rec.Task.LastStatus == TaskStopped {
			stopped++
		}
	}
	if stopped == 0 || stopped == len(all) {
		t.Fatalf("%d of %d tasks stopped: the mix should leave some of each", stopped, len(all))
	}
	if got := s.GroupsByInstance("default"); !maps.EqualFunc(got, wantGroups, maps.Equal) {
		t.Errorf("GroupsByInstance = %v, want %v", got, wantGroups)
	}
	wantS1 := map[string]map[string]int{}
	for in, counts := range wantGroups {
		if n := counts["service:s1"]; n > 0 {
			wantS1[in] = map[string]int{"service:s1": n}
		}
	}
	if got := s.GroupCountsByInstance("default", "service:s1"); !maps.EqualFunc(got, wantS1, maps.Equal) {
		t.Errorf("GroupCountsByInstance(service:s1) = %v, want %v", got, wantS1)
	}
	for g := range 3 {
		group := fmt.Sprintf("service:s%d", g)
		var want []string
		for _, rec := range all {
			if rec.Task.Group == group {
				want = append(want, rec.Id)
			}
		}
		if got := idsOf(s.TasksOfGroup("default", group)); !slices.Equal(got, want) {
			t.Errorf("TasksOfGroup(%s) = %v, want %v", group, got, want)
		}
	}
	var paged []string
	for after := ""; ; {
		page := s.TasksPage("default", after, 7, nil)
		if len(page) == 0 {
			break
		}
		paged = append(paged, idsOf(page)...)
		after = page[len(page)-1].Id
	}
	if !slices.Equal(paged, idsOf(all)) {
		t.Errorf("pages of 7 = %v, want %v", paged, idsOf(all))
	}
}

func idsOf(recs []*berthv1.TaskRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Id)
	}
	return out
}

// A file of schema 1 (no lookup buckets) gets them filled by migration 2:
// a re-registering agent keeps its instance, a lost agent's tasks stop.
func TestLookupsMigration(t *testing.T) {
	s, path := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, "default", "i1", "ec2-1", 4096, 4096)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 1, 1), newTask("t2", "i1", 1, 1)))
	s.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { // back to schema 1
		for _, b := range [][]byte{bucketInstanceEC2, bucketInstanceTasks} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u32(1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again := registerInstance(t, s, "default", "i-new", "ec2-1", 4096, 4096)
	if again.Id != "i1" {
		t.Fatalf("re-registration after the migration made instance %s, want i1", again.Id)
	}
	mustApply(t, s, &berthv1.Command{Change: &berthv1.Command_SetAgentConnected{SetAgentConnected: &berthv1.SetAgentConnectedCommand{
		Cluster: "default", Id: "i1", Connected: false, LostTasksReason: "lost"}}})
	for _, id := range []string{"t1", "t2"} {
		if rec, _ := s.Task("default", id); rec.Task.LastStatus != TaskStopped {
			t.Errorf("task %s of the lost agent is %s, want STOPPED", id, rec.Task.LastStatus)
		}
	}
}

// The instance-tasks lookup holds exactly the live tasks, however often a
// task is reported in the same state.
func TestInstanceTasksLookup(t *testing.T) {
	s := withDefaultCluster(t)
	registerInstance(t, s, "default", "i1", "ec2-1", 4096, 4096)
	mustApply(t, s, placeCmd("default", newTask("t1", "i1", 1, 1), newTask("t2", "i1", 1, 1)))
	for range 2 {
		report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t1", LastStatus: TaskRunning})
	}
	report(t, s, "i1", &berthv1.TaskStateChange{TaskArn: "arn:task/t2", LastStatus: TaskStopped})
	var live []string
	s.view(func(tx *bolt.Tx) error {
		recs, err := liveTasksOn(&change{tx: tx}, "default", "i1")
		live = idsOf(recs)
		return err
	})
	if !slices.Equal(live, []string{"t1"}) {
		t.Fatalf("live tasks on i1: %v, want [t1]", live)
	}
}

// A file of schema 3 gets its tasks' family and revision filled by
// migration 4, from their task definition ARNs.
func TestTaskFamiliesMigration(t *testing.T) {
	s, path := openTemp(t)
	if _, err := testCreateCluster(t, s, "default"); err != nil {
		t.Fatal(err)
	}
	registerInstance(t, s, "default", "i1", "ec2-1", 4096, 4096)
	old := newTask("t1", "i1", 1, 1)
	old.Task.TaskDefinitionArn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web-a:12"
	odd := newTask("t2", "i1", 1, 1) // an ARN that names no revision stays as it is
	odd.Task.TaskDefinitionArn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web"
	mustApply(t, s, placeCmd("default", old, odd))
	s.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, u32(3)) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t1, _ := s.Task("default", "t1")
	t2, _ := s.Task("default", "t2")
	if t1.Family != "web-a" || t1.Revision != 12 || t2.Family != "" || t2.Revision != 0 {
		t.Fatalf("after the migration: %s:%d and %s:%d", t1.Family, t1.Revision, t2.Family, t2.Revision)
	}
}
