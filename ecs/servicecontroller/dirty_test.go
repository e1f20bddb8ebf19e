package servicecontroller

import (
	"maps"
	"slices"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/service"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
)

// TestInstanceChangesConcern: an agent coming or going concerns the DAEMON
// services and those not steady; an instance's status or attributes, its
// deregistration, or an instance first seen concern every service; a change
// that services do not read (what the instance holds) concerns none.
func TestInstanceChangesConcern(t *testing.T) {
	s := storetest.WithCluster(t, "default")
	for _, svc := range []struct {
		name, strategy string
		steady         bool
	}{{"steady", service.Replica, true}, {"placing", service.Replica, false}, {"daemon", service.Daemon, true}} {
		storetest.Apply(t, s, &berthv1.Command{Change: &berthv1.Command_PutService{PutService: &berthv1.PutServiceCommand{Service: &berthv1.ServiceRecord{
			Cluster: "default", Steady: svc.steady,
			Service: &berthv1.Service{ServiceName: svc.name, Status: store.StatusActive, SchedulingStrategy: svc.strategy},
		}}}})
	}
	c := New(Config{Store: s})
	instance := func(status string, connected bool, attrs ...*berthv1.Attribute) *berthv1.ContainerInstanceRecord {
		return &berthv1.ContainerInstanceRecord{Cluster: "default", Id: "i1", Instance: &berthv1.ContainerInstance{
			Status: status, AgentConnected: connected, Attributes: attrs}}
	}
	concerned := func(rec *berthv1.ContainerInstanceRecord, deleted bool) []string {
		dirty := map[serviceKey]bool{}
		c.markDirty(dirty, store.Event{Kind: store.KindContainerInstance, Value: rec, Deleted: deleted})
		var names []string
		for k := range maps.Keys(dirty) {
			names = append(names, k.name)
		}
		slices.Sort(names)
		return names
	}
	all := []string{"daemon", "placing", "steady"}
	zone := &berthv1.Attribute{Name: "ecs.availability-zone", Value: "a"}
	for _, step := range []struct {
		what    string
		rec     *berthv1.ContainerInstanceRecord
		deleted bool
		want    []string
	}{
		{"first seen", instance(store.StatusActive, false), false, all},
		{"agent connects", instance(store.StatusActive, true), false, []string{"daemon", "placing"}},
		{"nothing read changes", instance(store.StatusActive, true), false, nil},
		{"agent leaves", instance(store.StatusActive, false), false, []string{"daemon", "placing"}},
		{"draining", instance(store.StatusDraining, false), false, all},
		{"attribute", instance(store.StatusDraining, false, zone), false, all},
		{"deregistered", instance(store.StatusDraining, false, zone), true, all},
	} {
		if got := concerned(step.rec, step.deleted); !slices.Equal(got, step.want) {
			t.Errorf("%s: services %v, want %v", step.what, got, step.want)
		}
	}
}
