package eventsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/store"
)

// ECS's event names on the bus.
const (
	SourceECS                     = "aws.ecs"
	DetailTaskStateChange         = "ECS Task State Change"
	DetailInstanceStateChange     = "ECS Container Instance State Change"
	taskTimeMembers               = "createdAt startedAt stoppingAt stoppedAt pullStartedAt pullStoppedAt connectivityAt executionStoppedAt"
	maxRememberedStates       int = 1 << 20
)

// TaskEvents appends ECS's state change events to berth's event log as
// the store's tasks and container instances change: a task's event when
// its lastStatus or desiredStatus changes, an instance's when its status
// or agent connection does.
type TaskEvents struct {
	Store  *store.Store
	ARNs   arn.Namer
	Logger *slog.Logger
	Now    func() time.Time
}

type taskState struct{ last, desired string }

// Run watches the store until ctx ends, on the caller's goroutine.
func (te *TaskEvents) Run(ctx context.Context) error {
	if te.Now == nil {
		te.Now = time.Now
	}
	if te.Logger == nil {
		te.Logger = slog.Default()
	}
	tasks := map[string]taskState{}
	instances := map[string]taskState{}
	watch := te.Store.Watch(ctx)
	for {
		var ev store.Event
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case ev, ok = <-watch:
		}
		if !ok {
			if ctx.Err() != nil {
				return nil
			}
			watch = te.Store.Watch(ctx)
			continue
		}
		switch ev.Kind {
		case store.KindTask:
			rec, isTask := ev.Value.(*berthv1.TaskRecord)
			if !isTask {
				continue
			}
			if ev.Deleted {
				delete(tasks, ev.Key)
				continue
			}
			st := taskState{rec.GetTask().GetLastStatus(), rec.GetTask().GetDesiredStatus()}
			if tasks[ev.Key] == st {
				continue
			}
			if len(tasks) < maxRememberedStates {
				tasks[ev.Key] = st
			}
			te.append(ctx, DetailTaskStateChange, rec.GetTask().GetTaskArn(), TaskDetail(rec.GetTask(), te.Now()))
		case store.KindContainerInstance:
			rec, isInstance := ev.Value.(*berthv1.ContainerInstanceRecord)
			if !isInstance || ev.Deleted {
				delete(instances, ev.Key)
				continue
			}
			in := rec.GetInstance()
			connected := "false"
			if in.GetAgentConnected() {
				connected = "true"
			}
			st := taskState{in.GetStatus(), connected}
			if instances[ev.Key] == st {
				continue
			}
			if len(instances) < maxRememberedStates {
				instances[ev.Key] = st
			}
			te.append(ctx, DetailInstanceStateChange, in.GetContainerInstanceArn(), InstanceDetail(te.ARNs.Cluster(rec.GetCluster()), in, te.Now()))
		}
	}
}

func (te *TaskEvents) append(ctx context.Context, detailType, resource string, detail []byte) {
	now := te.Now()
	_, err := te.Store.Apply(ctx, &berthv1.Command{At: float64(now.UnixNano()) / 1e9, Change: &berthv1.Command_AppendEventLog{
		AppendEventLog: &berthv1.AppendEventLogCommand{Event: &berthv1.EventLogRecord{
			Id: newID(), Source: SourceECS, DetailType: detailType, Account: te.ARNs.Account, Region: te.ARNs.Region,
			Time: float64(now.UnixNano()) / 1e9, Resources: []string{resource}, Detail: string(detail),
		}}}})
	if err != nil && ctx.Err() == nil {
		te.Logger.Warn("events: append an ECS event", slog.String("detail_type", detailType), slog.String("resource", resource), slog.Any("err", err))
	}
}

// isoTime is ECS's events' time format: 2016-12-06T16:41:05.702Z.
func isoTime(secs float64) string {
	return time.Unix(0, int64(secs*1e9)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// TaskDetail is the detail of an "ECS Task State Change": the task as
// DescribeTasks shows it, its times as ISO 8601 text, and updatedAt.
func TaskDetail(t *berthv1.Task, now time.Time) []byte {
	b, _ := protojson.MarshalOptions{UseProtoNames: false}.Marshal(t)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, name := range strings.Fields(taskTimeMembers) {
		if v, ok := m[name].(float64); ok {
			m[name] = isoTime(v)
		}
	}
	delete(m, "tags")
	if _, ok := m["version"]; !ok {
		m["version"] = 0
	}
	if _, ok := m["containers"]; !ok {
		m["containers"] = []any{}
	}
	if _, ok := m["overrides"]; !ok {
		m["overrides"] = map[string]any{"containerOverrides": []any{}}
	}
	m["updatedAt"] = isoTime(float64(now.UnixNano()) / 1e9)
	out, _ := json.Marshal(m)
	return out
}

// InstanceDetail is the detail of an "ECS Container Instance State
// Change": the instance as DescribeContainerInstances shows it, with its
// cluster, its times as ISO 8601 text, and updatedAt.
func InstanceDetail(clusterARN string, in *berthv1.ContainerInstance, now time.Time) []byte {
	b, _ := protojson.Marshal(in)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if v, ok := m["registeredAt"].(float64); ok {
		m["registeredAt"] = isoTime(v)
	}
	delete(m, "tags")
	delete(m, "runningTasksCount")
	delete(m, "pendingTasksCount")
	m["clusterArn"] = clusterARN
	m["agentConnected"] = in.GetAgentConnected()
	if _, ok := m["version"]; !ok {
		m["version"] = 0
	}
	m["updatedAt"] = isoTime(float64(now.UnixNano()) / 1e9)
	out, _ := json.Marshal(m)
	return out
}
