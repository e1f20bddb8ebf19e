package placement

import (
	"testing"

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
