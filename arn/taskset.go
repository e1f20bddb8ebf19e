package arn

import (
	"fmt"
	"strings"
)

// TypeTaskSet is the resource type of a task set's ARN.
const TypeTaskSet = "task-set"

// TaskSet is the ARN of a task set of a service:
// task-set/CLUSTER/SERVICE/ID, the ID being ecs-svc/ and 19 digits.
func (n Namer) TaskSet(cluster, service, id string) string {
	return n.arn(TypeTaskSet + "/" + cluster + "/" + service + "/" + id)
}

// TaskSetID reads a task set's ID (ecs-svc/NNN) from an ID or an ARN of a
// task set of the cluster's service.
func TaskSetID(cluster, service, s string) (string, error) {
	if !IsARN(s) {
		if s == "" {
			return "", fmt.Errorf("a task set id or ARN is required")
		}
		return s, nil
	}
	a, err := Parse(s)
	if err != nil {
		return "", err
	}
	if a.Type != TypeTaskSet {
		return "", fmt.Errorf("%q is a %s ARN, not a task set ARN", s, a.Type)
	}
	parts := strings.SplitN(a.Resource, "/", 3)
	if len(parts) != 3 || parts[2] == "" {
		return "", fmt.Errorf("%q is not a task set ARN (task-set/CLUSTER/SERVICE/ID)", s)
	}
	if parts[0] != cluster || parts[1] != service {
		return "", fmt.Errorf("%q belongs to service %q of cluster %q, not %q of %q", s, parts[1], parts[0], service, cluster)
	}
	return parts[2], nil
}
