package dispatcher

import (
	"context"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
)

// fakeStream is the control plane's side of an agent session that keeps
// what the dispatcher sends.
type fakeStream struct {
	grpc.ServerStream // nil: only Send and Recv are used
	sent              []*berthv1.ControlPlaneMessage
}

func (f *fakeStream) Send(m *berthv1.ControlPlaneMessage) error {
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeStream) Recv() (*berthv1.AgentMessage, error) { return nil, context.Canceled }

// FuzzAgentMessage decodes an agent message from bytes as the session's
// receiving side does (proto.Unmarshal) and hands it to the dispatcher's
// handler on the session of instance i1: whatever the bytes, no panic (an
// error ends the session), and a task of another instance (t2 on i2) is
// never changed by i1's reports.
func FuzzAgentMessage(f *testing.F) {
	s := storetest.WithCluster(f, "default")
	for _, id := range []string{"i1", "i2"} {
		storetest.Apply(f, s, &berthv1.Command{Change: &berthv1.Command_RegisterContainerInstance{RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: "default", Id: id, Registered: &berthv1.Resources{Cpu: 1024, Memory: 2048},
			Instance: &berthv1.ContainerInstance{Ec2InstanceId: "ec2-" + id},
		}}})
	}
	storetest.Apply(f, s, &berthv1.Command{At: 1700000000, Change: &berthv1.Command_RegisterTaskDefinition{
		RegisterTaskDefinition: &berthv1.RegisterTaskDefinitionCommand{TaskDefinition: &berthv1.TaskDefinition{
			Family: "web", ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(128)}},
		}},
	}})
	for _, tk := range [][2]string{{"t1", "i1"}, {"t2", "i2"}} {
		storetest.Apply(f, s, &berthv1.Command{Change: &berthv1.Command_PlaceTasks{PlaceTasks: &berthv1.PlaceTasksCommand{Cluster: "default", Tasks: []*berthv1.TaskRecord{{
			Id: tk[0], InstanceId: tk[1], Family: "web", Revision: 1,
			Task:        &berthv1.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/" + tk[0], LastStatus: store.TaskPending, DesiredStatus: store.TaskRunning},
			Reservation: &berthv1.Resources{Cpu: 256, Memory: 256},
		}}}}})
	}
	before, err := s.Task("default", "t2")
	if err != nil {
		f.Fatal(err)
	}
	d := New(Config{Store: s})

	for _, m := range []*berthv1.AgentMessage{
		{Message: &berthv1.AgentMessage_Resync{Resync: &berthv1.Resync{}}},
		{Message: &berthv1.AgentMessage_Register{Register: &berthv1.RegisterInstance{}}},
		{Message: &berthv1.AgentMessage_StateChanges{StateChanges: &berthv1.TaskStateChanges{Batch: 1, Tasks: []*berthv1.TaskStateChange{
			{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/t1", LastStatus: store.TaskRunning},
			{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/t2", LastStatus: store.TaskStopped},
			{TaskArn: "t1", LastStatus: "BOGUS"},
			{TaskArn: "", LastStatus: store.TaskStopped},
		}}}},
		{Message: &berthv1.AgentMessage_Heartbeat{Heartbeat: &berthv1.Heartbeat{}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &berthv1.AgentMessage{}
		if err := proto.Unmarshal(raw, m); err != nil {
			return
		}
		sess := &session{cluster: "default", id: "i1", ec2ID: "ec2-i1", stream: &fakeStream{}, seen: &atomic.Int64{},
			wake: make(chan struct{}, 1), sent: map[string]string{}}
		if err := d.handle(context.Background(), sess, m); err != nil && err.Error() == "" {
			t.Fatalf("handle: an error without a message: %T", err)
		}
		after, err := s.Task("default", "t2")
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(before, after) {
			t.Fatalf("instance i1's message changed i2's task t2:\n%v\n%v", before, after)
		}
	})
}
