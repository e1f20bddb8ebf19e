// Package ecsjson is ECS's JSON rendering rule: which members of its
// responses ECS writes when they are empty or zero ("serviceArns": [],
// "runningTasksCount": 0, a container definition's "cpu": 0), where protobuf
// cannot tell an empty list from one not set. The front door writes ECS's
// responses with it (ecsapi's Wire), and so does the berth CLI.
//
// The rule is a table of ECS shapes (berth's messages of the same name) and
// their members, taken from ECS's own documented responses: the aws CLI's
// ECS examples and botocore's examples-1.json, kept in testdata with the
// script that extracts them. The package's test renders every documented
// response of every operation of berth's ECS service and compares it with
// ECS's, member for member; the places where they differ are listed there
// with the reason (examples older than the members, members ECS writes
// depending on history berth does not keep). What no example shows empty is
// left out, as ECS leaves it out, but for the operations' result lists
// (results), which ECS answers as [] when empty and the examples all fill.
package ecsjson

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/berth/berth/awsapi/awsjson"
)

// pkg is the proto package of berth's ECS messages.
const pkg = "berth.v1."

// always is, per ECS shape, the members ECS writes even when empty or zero.
// Members berth's message does not have yet are written once it has them.
var always = map[string][]awsjson.Member{
	// Every list and count the documented responses show empty or zero, and
	// the structures every documented response has (a task's overrides).
	"Attachment":                   m("details"),
	"CapacityProvider":             m("tags"),
	"CapacityProviderStrategyItem": m("base"),
	"Cluster": m("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount",
		"activeServicesCount", "statistics", "tags"),
	"Container":                m("networkInterfaces"),
	"ContainerDefinition":      m("cpu", "portMappings", "environment", "mountPoints", "volumesFrom"),
	"ContainerInstance":        m("runningTasksCount", "pendingTasksCount", "attachments", "tags"),
	"Deployment":               m("desiredCount", "pendingCount", "runningCount", "failedTasks"),
	"DeploymentAlarms":         m("alarmNames", "enable", "rollback"),
	"DeploymentCircuitBreaker": m("enable", "rollback"),
	"ProtectedTask":            m("protectionEnabled"),
	"Resource":                 m("doubleValue", "longValue", "integerValue"),
	"Scale":                    m("value"),
	"Service": append(m("loadBalancers", "serviceRegistries", "runningCount", "pendingCount",
		"deployments", "events", "placementConstraints", "placementStrategy",
		"healthCheckGracePeriodSeconds", "enableECSManagedTags", "enableExecuteCommand"),
		// No documented response shows it; ECS writes "tags": [] when
		// DescribeServices is asked for TAGS, and no tags member otherwise.
		awsjson.Member{Name: "tags", Include: "TAGS"}),
	"ServiceConnectConfiguration":     m("enabled"),
	"ServiceDeployment":               m("sourceServiceRevisions"),
	"ServiceDeploymentCircuitBreaker": m("failureCount"),
	"ServiceRevision":                 m("guardDutyEnabled"),
	"ServiceRevisionSummary":          m("pendingTaskCount"),
	"Task":                            m("attachments", "containers", "enableExecuteCommand", "overrides", "tags"),
	"TaskDefinition":                  m("volumes", "placementConstraints"),
	"TaskOverride":                    m("containerOverrides", "inferenceAcceleratorOverrides"),
	"TaskSet":                         m("computedDesiredCount", "pendingCount", "runningCount", "loadBalancers", "serviceRegistries"),

	// failures, in every response the documented examples show it in.
	"DeleteTaskDefinitionsResponse":         m("failures"),
	"DescribeClustersResponse":              m("failures"),
	"DescribeContainerInstancesResponse":    m("failures"),
	"DescribeServiceDeploymentsResponse":    m("failures"),
	"DescribeServiceRevisionsResponse":      m("failures"),
	"DescribeServicesResponse":              m("failures"),
	"DescribeTaskSetsResponse":              m("failures"),
	"DescribeTasksResponse":                 m("failures"),
	"GetTaskProtectionResponse":             m("failures"),
	"RunTaskResponse":                       m("failures"),
	"StartTaskResponse":                     m("failures"),
	"UpdateContainerInstancesStateResponse": m("failures"),
	"UpdateTaskProtectionResponse":          m("failures"),
	"DescribeTaskDefinitionResponse":        m("tags"),
}

// results is, per response, its result list: the List operations' (the
// result key of each paginator) and those of the operations that answer a
// list of things beside their failures. The documented examples all list
// something; ECS answers an empty result as [] ({"serviceArns": []},
// {"services": [], "failures": [...]} for a missing service), never {}.
var results = map[string][]awsjson.Member{
	"ListAccountSettingsResponse":        m("settings"),
	"ListAttributesResponse":             m("attributes"),
	"ListClustersResponse":               m("clusterArns"),
	"ListContainerInstancesResponse":     m("containerInstanceArns"),
	"ListServiceDeploymentsResponse":     m("serviceDeployments"),
	"ListServicesByNamespaceResponse":    m("serviceArns"),
	"ListServicesResponse":               m("serviceArns"),
	"ListTagsForResourceResponse":        m("tags"),
	"ListTaskDefinitionFamiliesResponse": m("families"),
	"ListTaskDefinitionsResponse":        m("taskDefinitionArns"),
	"ListTasksResponse":                  m("taskArns"),

	"DeleteTaskDefinitionsResponse":         m("taskDefinitions"),
	"DescribeCapacityProvidersResponse":     m("capacityProviders"),
	"DescribeClustersResponse":              m("clusters"),
	"DescribeContainerInstancesResponse":    m("containerInstances"),
	"DescribeServiceDeploymentsResponse":    m("serviceDeployments"),
	"DescribeServiceRevisionsResponse":      m("serviceRevisions"),
	"DescribeServicesResponse":              m("services"),
	"DescribeTaskSetsResponse":              m("taskSets"),
	"DescribeTasksResponse":                 m("tasks"),
	"GetTaskProtectionResponse":             m("protectedTasks"),
	"RunTaskResponse":                       m("tasks"),
	"StartTaskResponse":                     m("tasks"),
	"UpdateContainerInstancesStateResponse": m("containerInstances"),
	"UpdateTaskProtectionResponse":          m("protectedTasks"),
}

func m(names ...string) []awsjson.Member {
	out := make([]awsjson.Member, len(names))
	for i, n := range names {
		out[i] = awsjson.Member{Name: n}
	}
	return out
}

// Rule is ECS's rule, by berth's message names.
var Rule = func() awsjson.Rule {
	r := awsjson.Rule{}
	for _, table := range []map[string][]awsjson.Member{always, results} {
		for shape, members := range table {
			name := protoreflect.FullName(pkg + shape)
			r[name] = append(r[name], members...)
		}
	}
	return r
}()

// Marshal encodes m, the response to req (nil if not known), as ECS writes
// its JSON: ECS's member names, members not set left out, and the members
// ECS always writes written when empty or zero.
func Marshal(m, req proto.Message) ([]byte, error) {
	return awsjson.MarshalRule(m, req, Rule)
}
