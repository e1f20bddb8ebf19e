package placement

import (
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
)

// A snapshot reuses the conversion of an unchanged instance, converts a
// changed one again, and leaves Fargate pool hosts out.
func TestSnapshotSeesChangedInstances(t *testing.T) {
	st := storetest.WithCluster(t, "default")
	register := func(id string, attrs ...*berthv1.Attribute) {
		storetest.Apply(t, st, &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: "default", Id: id, Registered: &berthv1.Resources{Cpu: 1024, Memory: 2048},
			Instance: &berthv1.ContainerInstance{Ec2InstanceId: "ec2-" + id, Attributes: attrs},
		}}})
	}
	register("a")
	register("b")
	register("pool", &berthv1.Attribute{Name: store.PoolAttribute, Value: store.PoolFargate})
	p := &Placer{Store: st, ARNs: arn.Default}

	snap, ids := p.Snapshot("default")
	if len(ids) != 2 || ids[0] != "a" || ids[1] != "b" || len(snap.Instances()) != 2 {
		t.Fatalf("first snapshot: ids %v", ids)
	}
	storetest.Apply(t, st, &berthv1.Command{Change: &berthv1.Command_UpdateContainerInstancesState{UpdateContainerInstancesState: &berthv1.UpdateContainerInstancesStateCommand{
		Cluster: "default", Ids: []string{"b"}, Status: store.StatusDraining}}})
	snap, _ = p.Snapshot("default")
	if got := snap.Instances()[1].Status; got != store.StatusDraining {
		t.Fatalf("instance b after it was drained: %s in the snapshot", got)
	}
	if got := snap.Instances()[0].Status; got != store.StatusActive {
		t.Fatalf("instance a: %s", got)
	}
}

// Limits apply the task's overrides once; the reservation follows them.
func TestLimitsAndReservation(t *testing.T) {
	td := &berthv1.TaskDefinition{NetworkMode: "bridge", ContainerDefinitions: []*berthv1.ContainerDefinition{
		{Name: "app", Cpu: 256, Memory: proto.Int32(512), PortMappings: []*berthv1.PortMapping{{ContainerPort: 80, HostPort: proto.Int32(8080)}}},
		{Name: "side", Cpu: 128, MemoryReservation: proto.Int32(64)},
	}}
	o := &berthv1.TaskOverride{ContainerOverrides: []*berthv1.ContainerOverride{{Name: "app", Cpu: proto.Int32(300), Memory: proto.Int32(700)}}}
	l := Limits(td, o)
	if l.Cpu != 0 || l.Memory != 0 || l.Containers[0].Cpu != 300 || l.Containers[0].Memory != 700 || l.Containers[1].MemoryReservation != 64 {
		t.Fatalf("limits %v", l)
	}
	r := Reservation(td, l)
	if r.Cpu != 428 || r.Memory != 764 || len(r.PortsTcp) != 1 || r.PortsTcp[0] != 8080 {
		t.Fatalf("reservation %v, want 428 CPU, 764 MiB, port 8080", r)
	}
	o.Cpu, o.Memory = "2048", "4096"
	if r := Reservation(td, Limits(td, o)); r.Cpu != 2048 || r.Memory != 4096 {
		t.Fatalf("task-level overrides: reservation %v", r)
	}
}
