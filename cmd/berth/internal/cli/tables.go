package cli

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// tableSpec is how --output table shows one kind of ECS object.
type tableSpec struct {
	headers []string
	row     func(proto.Message) []string
}

func spec[T proto.Message](headers []string, row func(T) []string) tableSpec {
	return tableSpec{headers: headers, row: func(m proto.Message) []string { return row(m.(T)) }}
}

// tableSpecs are the columns of each ECS object in tables, by message name.
var tableSpecs = map[protoreflect.FullName]tableSpec{}

func init() {
	add := func(m proto.Message, s tableSpec) { tableSpecs[m.ProtoReflect().Descriptor().FullName()] = s }
	add(&berthv1.Task{}, spec([]string{"TASK", "STATUS", "DESIRED", "INSTANCE", "AZ", "GROUP", "TASK DEFINITION"},
		func(t *berthv1.Task) []string {
			return []string{resourceID(t.TaskArn), t.LastStatus, t.DesiredStatus, resourceID(t.ContainerInstanceArn),
				t.AvailabilityZone, t.Group, resourceID(t.TaskDefinitionArn)}
		}))
	add(&berthv1.Service{}, spec([]string{"SERVICE", "STATUS", "DESIRED", "RUNNING", "PENDING", "DEPLOYMENTS", "ROLLOUT", "TASK DEFINITION"},
		func(s *berthv1.Service) []string {
			return []string{s.ServiceName, s.Status, itoa(s.GetDesiredCount()), itoa(s.GetRunningCount()), itoa(s.GetPendingCount()),
				itoa(int32(len(s.Deployments))), rollout(s), resourceID(s.TaskDefinition)}
		}))
	add(&berthv1.Cluster{}, spec([]string{"CLUSTER", "STATUS", "INSTANCES", "RUNNING", "PENDING", "SERVICES"},
		func(c *berthv1.Cluster) []string {
			return []string{c.ClusterName, c.Status, itoa(c.GetRegisteredContainerInstancesCount()), itoa(c.GetRunningTasksCount()),
				itoa(c.GetPendingTasksCount()), itoa(c.GetActiveServicesCount())}
		}))
	add(&berthv1.ContainerInstance{}, spec([]string{"INSTANCE", "EC2 INSTANCE", "STATUS", "AGENT", "RUNNING", "PENDING", "AZ", "TYPE"},
		func(ci *berthv1.ContainerInstance) []string {
			return []string{resourceID(ci.ContainerInstanceArn), ci.Ec2InstanceId, ci.Status, connected(ci.AgentConnected),
				itoa(ci.GetRunningTasksCount()), itoa(ci.GetPendingTasksCount()),
				attribute(ci, "ecs.availability-zone"), attribute(ci, "ecs.instance-type")}
		}))
	add(&berthv1.TaskDefinition{}, spec([]string{"TASK DEFINITION", "STATUS", "NETWORK MODE", "CPU", "MEMORY", "CONTAINERS"},
		func(td *berthv1.TaskDefinition) []string {
			var names []string
			for _, c := range td.ContainerDefinitions {
				names = append(names, c.GetName())
			}
			return []string{resourceID(td.TaskDefinitionArn), td.Status, td.NetworkMode, td.Cpu, td.Memory, strings.Join(names, ",")}
		}))
	add(&berthv1.Failure{}, spec([]string{"FAILURE", "REASON", "DETAIL"},
		func(f *berthv1.Failure) []string { return []string{f.Arn, f.Reason, f.Detail} }))
	add(&berthv1.Attribute{}, spec([]string{"ATTRIBUTE", "VALUE", "TARGET"},
		func(at *berthv1.Attribute) []string { return []string{at.Name, at.Value, resourceID(at.TargetId)} }))
	add(&berthv1.CapacityProvider{}, spec([]string{"CAPACITY PROVIDER", "STATUS"},
		func(cp *berthv1.CapacityProvider) []string { return []string{cp.Name, cp.Status} }))
}

// resourceID is the last part of an ECS ARN: a task's or instance's ID, a
// task definition's family:revision. Other strings are returned as they are.
func resourceID(arn string) string {
	if !strings.HasPrefix(arn, "arn:") {
		return arn
	}
	return arn[strings.LastIndex(arn, "/")+1:]
}

// rollout is the rollout state of the service's PRIMARY deployment.
func rollout(s *berthv1.Service) string {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d.RolloutState
		}
	}
	return ""
}

func attribute(ci *berthv1.ContainerInstance, name string) string {
	for _, a := range ci.Attributes {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

func connected(ok bool) string {
	if ok {
		return "connected"
	}
	return "disconnected"
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
