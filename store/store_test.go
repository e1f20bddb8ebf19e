package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func register(t *testing.T, s *Store, family string) *berthv1.TaskDefinition {
	t.Helper()
	res, err := s.Apply(context.Background(), registerCmd(family))
	if err != nil {
		t.Fatalf("register %s: %v", family, err)
	}
	return res.(*berthv1.TaskDefinitionRecord).TaskDefinition
}

func registerCmd(family string) *berthv1.Command {
	return &berthv1.Command{At: 1700000000, Change: &berthv1.Command_RegisterTaskDefinition{
		RegisterTaskDefinition: &berthv1.RegisterTaskDefinitionCommand{TaskDefinition: &berthv1.TaskDefinition{
			Family: family,
			ContainerDefinitions: []*berthv1.ContainerDefinition{
				{Name: "app", Image: "busybox", Memory: proto.Int32(128)},
			},
		}},
	}}
}

func deregister(t *testing.T, s *Store, family string, rev int32) {
	t.Helper()
	_, err := s.Apply(context.Background(), &berthv1.Command{At: 1700000100, Change: &berthv1.Command_DeregisterTaskDefinition{
		DeregisterTaskDefinition: &berthv1.DeregisterTaskDefinitionCommand{Family: family, Revision: rev},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRevisionsAreSequentialUnderConcurrency(t *testing.T) {
	s, _ := openTemp(t)
	const writers, total = 50, 1000
	revs := make(chan int32, total)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total; i += writers {
				res, err := s.Apply(context.Background(), registerCmd("web"))
				if err != nil {
					t.Error(err)
					return
				}
				revs <- res.(*berthv1.TaskDefinitionRecord).TaskDefinition.Revision
			}
		}()
	}
	wg.Wait()
	close(revs)
	var got []int
	for r := range revs {
		got = append(got, int(r))
	}
	sort.Ints(got)
	for i, r := range got {
		if r != i+1 {
			t.Fatalf("revision %d at position %d: gap or duplicate", r, i)
		}
	}
	if len(got) != total {
		t.Fatalf("got %d revisions, want %d", len(got), total)
	}
	if s.Revision() != total {
		t.Fatalf("store revision %d, want %d", s.Revision(), total)
	}
}

func TestLatestActiveSkipsInactive(t *testing.T) {
	s, _ := openTemp(t)
	for range 3 {
		register(t, s, "web")
	}
	register(t, s, "web-a") // sorts right after web's keys
	deregister(t, s, "web", 3)
	rec, err := s.TaskDefinition("web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TaskDefinition.Revision != 2 {
		t.Fatalf("latest ACTIVE revision %d, want 2", rec.TaskDefinition.Revision)
	}
	deregister(t, s, "web", 1)
	deregister(t, s, "web", 2)
	if _, err := s.TaskDefinition("web", 0); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("no ACTIVE revision: got %v, want NotFound", err)
	}
	rec, err = s.TaskDefinition("web", 3)
	if err != nil || rec.TaskDefinition.Status != StatusInactive || rec.TaskDefinition.DeregisteredAt == 0 {
		t.Fatalf("web:3 = %v, %v; want INACTIVE with deregisteredAt", rec, err)
	}
	if _, err := s.TaskDefinition("web", 9); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("web:9: got %v, want NotFound", err)
	}
}

func TestListTaskDefinitionsPages(t *testing.T) {
	s, _ := openTemp(t)
	for _, f := range []string{"b", "a", "b", "a-x", "a", "b"} {
		register(t, s, f)
	}
	deregister(t, s, "b", 2)
	collect := func(q TaskDefinitionQuery) []string {
		var all []string
		for {
			refs, next, err := s.TaskDefinitions(q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				all = append(all, fmt.Sprintf("%s:%d", r.Family, r.Revision))
			}
			if next == "" {
				return all
			}
			q.After = next
		}
	}
	tests := []struct {
		q    TaskDefinitionQuery
		want string
	}{
		{TaskDefinitionQuery{Status: StatusActive, Limit: 2}, "[a:1 a:2 a-x:1 b:1 b:3]"},
		{TaskDefinitionQuery{Status: StatusActive, Limit: 100, Descending: true}, "[b:3 b:1 a-x:1 a:2 a:1]"},
		{TaskDefinitionQuery{Status: StatusActive, Limit: 1, Descending: true}, "[b:3 b:1 a-x:1 a:2 a:1]"},
		{TaskDefinitionQuery{Status: StatusInactive, Limit: 1}, "[b:2]"},
		{TaskDefinitionQuery{Family: "a", Status: StatusActive, Limit: 1}, "[a:1 a:2]"},
		{TaskDefinitionQuery{Family: "a", Status: StatusActive, Limit: 5, Descending: true}, "[a:2 a:1]"},
		{TaskDefinitionQuery{Family: "zz", Status: StatusActive, Limit: 5}, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(collect(tt.q)); got != tt.want {
			t.Errorf("%+v: got %s, want %s", tt.q, got, tt.want)
		}
	}
}

func TestFamilies(t *testing.T) {
	s, _ := openTemp(t)
	for _, f := range []string{"web", "worker", "db"} {
		register(t, s, f)
	}
	deregister(t, s, "worker", 1)
	tests := []struct {
		q    FamilyQuery
		want string
	}{
		{FamilyQuery{Status: StatusActive, Limit: 1}, "[db web]"},
		{FamilyQuery{Status: StatusInactive, Limit: 10}, "[worker]"},
		{FamilyQuery{Status: "ALL", Limit: 2}, "[db web worker]"},
		{FamilyQuery{Prefix: "w", Status: "ALL", Limit: 10}, "[web worker]"},
	}
	for _, tt := range tests {
		var all []string
		q := tt.q
		for {
			names, next, err := s.Families(q)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, names...)
			if next == "" {
				break
			}
			q.After = next
		}
		if got := fmt.Sprint(all); got != tt.want {
			t.Errorf("%+v: got %s, want %s", tt.q, got, tt.want)
		}
	}
}

func testCreateCluster(t *testing.T, s *Store, name string) (*berthv1.Cluster, error) {
	t.Helper()
	res, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_CreateCluster{
		CreateCluster: &berthv1.CreateClusterCommand{Cluster: &berthv1.Cluster{ClusterName: name, Tags: []*berthv1.Tag{{Key: "k", Value: name}}}},
	}})
	if err != nil {
		return nil, err
	}
	return res.(*berthv1.Cluster), nil
}

func testDeleteCluster(s *Store, name string) error {
	_, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_DeleteCluster{
		DeleteCluster: &berthv1.DeleteClusterCommand{ClusterName: name},
	}})
	return err
}

func TestClusters(t *testing.T) {
	s, _ := openTemp(t)
	if _, err := testCreateCluster(t, s, "prod"); err != nil {
		t.Fatal(err)
	}
	rev := s.Revision()
	if _, err := testCreateCluster(t, s, "prod"); err != nil {
		t.Fatal(err)
	}
	if s.Revision() != rev {
		t.Fatal("creating an existing cluster again changed the store")
	}
	for _, b := range [][]byte{bucketServices, bucketInstances} {
		key := append(clusterPrefix("prod"), "x"...)
		putRaw(t, s, b, key, []byte{})
		err := testDeleteCluster(s, "prod")
		if !apierr.Is(err, apierr.FailedPrecondition) {
			t.Fatalf("delete with %s: got %v, want FailedPrecondition", b, err)
		}
		deleteRaw(t, s, b, key)
	}
	// A cluster whose name extends prod's is not prod's content.
	putRaw(t, s, bucketServices, append(clusterPrefix("prod2"), "x"...), []byte{})
	if err := testDeleteCluster(s, "prod"); err != nil {
		t.Fatal(err)
	}
	if err := testDeleteCluster(s, "prod"); !apierr.Is(err, apierr.NotFound) {
		t.Fatalf("delete twice: got %v, want NotFound", err)
	}
	cl, err := s.Cluster("prod")
	if err != nil || cl.Status != StatusInactive {
		t.Fatalf("deleted cluster = %v, %v; want INACTIVE", cl, err)
	}
	names, _, _ := s.Clusters("", 10)
	if len(names) != 0 {
		t.Fatalf("ListClusters after delete: %v", names)
	}
	if cl, _ := testCreateCluster(t, s, "prod"); cl.Status != StatusActive {
		t.Fatalf("recreated cluster is %s", cl.Status)
	}
}

func putRaw(t *testing.T, s *Store, bucket, key, value []byte) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, value) }); err != nil {
		t.Fatal(err)
	}
}

func deleteRaw(t *testing.T, s *Store, bucket, key []byte) {
	t.Helper()
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete(key) }); err != nil {
		t.Fatal(err)
	}
}

func TestRejectedCommandInBatchLeavesOthers(t *testing.T) {
	s, _ := openTemp(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				errs[i] = testDeleteCluster(s, "missing")
			} else {
				_, errs[i] = s.Apply(context.Background(), registerCmd("web"))
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%2 == 0 && !apierr.Is(err, apierr.NotFound) {
			t.Errorf("command %d: got %v, want NotFound", i, err)
		}
		if i%2 == 1 && err != nil {
			t.Errorf("command %d: %v", i, err)
		}
	}
	if rec, err := s.TaskDefinition("web", 0); err != nil || rec.TaskDefinition.Revision != 20 {
		t.Fatalf("latest web = %v, %v; want revision 20", rec, err)
	}
}

func TestWatchDeliversCommittedChangesInOrder(t *testing.T) {
	s, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	events := s.Watch(ctx)
	register(t, s, "web")
	testCreateCluster(t, s, "prod")
	register(t, s, "web")
	want := []string{"1 taskdefinition web:1", "2 cluster prod", "3 taskdefinition web:2"}
	for _, w := range want {
		select {
		case e := <-events:
			got := fmt.Sprintf("%d %s %s", e.Revision, e.Kind, e.Key)
			if e.Kind == KindTaskDefinition {
				f, r := splitTaskDefKey([]byte(e.Key))
				got = fmt.Sprintf("%d %s %s:%d", e.Revision, e.Kind, f, r)
			}
			if got != w {
				t.Fatalf("event %q, want %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event; want %q", w)
		}
	}
	cancel()
	for range events { // closed once ctx ends
	}
}

func TestWatchCutsOffASlowWatcher(t *testing.T) {
	s, _ := openTemp(t)
	events := s.Watch(context.Background())
	var wg sync.WaitGroup
	for w := range 16 { // concurrent writers: group commit keeps this quick
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < watchBuffer+1; i += 16 {
				if _, err := s.Apply(context.Background(), registerCmd("web")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	for range events {
		n++
	}
	if n != watchBuffer {
		t.Fatalf("slow watcher got %d events before its channel closed, want %d", n, watchBuffer)
	}
}

func TestDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "web")
	register(t, s, "web")
	testCreateCluster(t, s, "prod")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), registerCmd("web")); err != ErrClosed {
		t.Fatalf("Apply after Close: %v, want ErrClosed", err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Revision() != 3 {
		t.Fatalf("revision after reopen %d, want 3", s.Revision())
	}
	if td := register(t, s, "web"); td.Revision != 3 {
		t.Fatalf("next revision after reopen %d, want 3", td.Revision)
	}
	if _, err := s.Cluster("prod"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ran []uint32
	step := func(v uint32) migration {
		return migration{v, "step", func(tx *bolt.Tx) error { ran = append(ran, v); return nil }}
	}
	if err := migrate(db, []migration{step(1), step(2)}); err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, []migration{step(1), step(2), step(3)}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ran) != "[1 2 3]" {
		t.Fatalf("migrations ran %v, want [1 2 3] once each", ran)
	}
	if err := migrate(db, []migration{step(1)}); err == nil {
		t.Fatal("opening a file of a newer schema succeeded")
	}
}

func TestSchemaVersion(t *testing.T) {
	s, _ := openTemp(t)
	var v uint32
	s.view(func(tx *bolt.Tx) error { v = schemaVersion(tx); return nil })
	if v != SchemaVersion() || v != 5 {
		t.Fatalf("schema version %d, want %d", v, SchemaVersion())
	}
}
