// Package arn writes and reads the Amazon Resource Names of berth's objects,
// as ECS writes them: arn:aws:ecs:us-east-1:000000000000:task-definition/web:3.
package arn

import (
	"fmt"
	"strconv"
	"strings"
)

// Resource types, as they appear after the account in an ECS ARN.
const (
	TypeCluster           = "cluster"
	TypeTaskDefinition    = "task-definition"
	TypeContainerInstance = "container-instance"
	TypeTask              = "task"
	TypeService           = "service"
	TypeCapacityProvider  = "capacity-provider"
	TypeServiceDeployment = "service-deployment"
	TypeServiceRevision   = "service-revision"
)

// Namer renders ARNs for one region and account.
type Namer struct {
	Region  string
	Account string
}

// Default is us-east-1 and account 000000000000.
var Default = Namer{Region: "us-east-1", Account: "000000000000"}

func (n Namer) arn(resource string) string {
	return "arn:aws:ecs:" + n.Region + ":" + n.Account + ":" + resource
}

// Cluster is the ARN of cluster name.
func (n Namer) Cluster(name string) string { return n.arn(TypeCluster + "/" + name) }

// CapacityProvider is the ARN of capacity provider name.
func (n Namer) CapacityProvider(name string) string { return n.arn("capacity-provider/" + name) }

// TaskDefinition is the ARN of family:revision.
func (n Namer) TaskDefinition(family string, revision int32) string {
	return n.arn(TypeTaskDefinition + "/" + family + ":" + strconv.Itoa(int(revision)))
}

// ContainerInstance is the ARN of a container instance of cluster.
func (n Namer) ContainerInstance(cluster, id string) string {
	return n.arn(TypeContainerInstance + "/" + cluster + "/" + id)
}

// Task is the ARN of a task of cluster.
func (n Namer) Task(cluster, id string) string { return n.arn(TypeTask + "/" + cluster + "/" + id) }

// Service is the ARN of a service of cluster.
func (n Namer) Service(cluster, name string) string {
	return n.arn(TypeService + "/" + cluster + "/" + name)
}

// ServiceDeployment is the ARN of one of a service's service deployments.
func (n Namer) ServiceDeployment(cluster, service, id string) string {
	return n.arn(TypeServiceDeployment + "/" + cluster + "/" + service + "/" + id)
}

// ServiceRevision is the ARN of one of a service's revisions.
func (n Namer) ServiceRevision(cluster, service, id string) string {
	return n.arn(TypeServiceRevision + "/" + cluster + "/" + service + "/" + id)
}

// ServiceObject reads the ARN of a service's deployment or revision (typ
// service-deployment or service-revision): TYPE/CLUSTER/SERVICE/ID.
func ServiceObject(typ, s string) (cluster, service, id string, err error) {
	a, err := Parse(s)
	if err != nil {
		return "", "", "", err
	}
	if a.Type != typ {
		return "", "", "", fmt.Errorf("%q is a %s ARN, not a %s ARN", s, a.Type, typ)
	}
	parts := strings.Split(a.Resource, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%q is not a %s ARN (%s/CLUSTER/SERVICE/ID)", s, typ, typ)
	}
	return parts[0], parts[1], parts[2], nil
}

// Container is the ARN of one container of a task.
func (n Namer) Container(cluster, taskID, id string) string {
	return n.arn("container/" + cluster + "/" + taskID + "/" + id)
}

// ARN is a parsed ECS ARN.
type ARN struct {
	Region, Account string
	Type            string // cluster, task-definition, ...
	Resource        string // what follows "type/"
}

// Parse reads an ECS ARN.
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return ARN{}, fmt.Errorf("%q is not an ECS ARN (arn:aws:ecs:REGION:ACCOUNT:TYPE/NAME)", s)
	}
	typ, resource, ok := strings.Cut(parts[5], "/")
	if !ok || resource == "" {
		return ARN{}, fmt.Errorf("%q is not an ECS ARN: no resource after the type", s)
	}
	return ARN{Region: parts[3], Account: parts[4], Type: typ, Resource: resource}, nil
}

// IsARN reports whether s looks like an ARN rather than a name.
func IsARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// ClusterName returns the name from a cluster name or ARN.
func ClusterName(s string) (string, error) {
	if !IsARN(s) {
		return s, nil
	}
	a, err := Parse(s)
	if err != nil {
		return "", err
	}
	if a.Type != TypeCluster {
		return "", fmt.Errorf("%q is a %s ARN, not a cluster ARN", s, a.Type)
	}
	return a.Resource, nil
}

// TaskDefinition reads "family", "family:revision" or a task definition ARN.
// revision is 0 when none is given.
func TaskDefinition(s string) (family string, revision int32, err error) {
	if IsARN(s) {
		a, err := Parse(s)
		if err != nil {
			return "", 0, err
		}
		if a.Type != TypeTaskDefinition {
			return "", 0, fmt.Errorf("%q is a %s ARN, not a task definition ARN", s, a.Type)
		}
		if !strings.Contains(a.Resource, ":") {
			return "", 0, fmt.Errorf("%q has no revision: a task definition ARN ends in family:revision", s)
		}
		s = a.Resource
	}
	family, rev, hasRev := strings.Cut(s, ":")
	if !hasRev {
		return family, 0, nil
	}
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("%q: revision %q is not a positive whole number", s, rev)
	}
	return family, int32(n), nil
}

// ID reads the id of a cluster's object of type typ (container-instance or
// task) from an id or an ARN, new format (TYPE/CLUSTER/ID) or old (TYPE/ID).
// The cluster in a new-format ARN must be cluster.
func ID(typ, cluster, s string) (string, error) {
	if !IsARN(s) {
		if s == "" || strings.Contains(s, "/") {
			return "", fmt.Errorf("%q is not a %s id or ARN", s, typ)
		}
		return s, nil
	}
	a, err := Parse(s)
	if err != nil {
		return "", err
	}
	if a.Type != typ {
		return "", fmt.Errorf("%q is a %s ARN, not a %s ARN", s, a.Type, typ)
	}
	c, id, newFormat := strings.Cut(a.Resource, "/")
	if !newFormat {
		return a.Resource, nil
	}
	if c != cluster {
		return "", fmt.Errorf("%q belongs to cluster %q, not %q", s, c, cluster)
	}
	return id, nil
}

// ServiceName reads a service name or ARN (new format service/CLUSTER/NAME,
// or old service/NAME) of cluster.
func ServiceName(cluster, s string) (string, error) { return ID(TypeService, cluster, s) }

// SSMParameter is the ARN of an SSM parameter: SSM drops the name's leading
// slash ("/db/password" is parameter/db/password).
func (n Namer) SSMParameter(name string) string {
	return n.SSMParameterPrefix() + strings.TrimPrefix(name, "/")
}

// SSMParameterPrefix is the text an SSM parameter's ARN puts before its
// name.
func (n Namer) SSMParameterPrefix() string {
	return "arn:aws:ssm:" + n.Region + ":" + n.Account + ":parameter/"
}

// Secret is the ARN of a Secrets Manager secret: its name, a hyphen and the
// secret's random 6 characters.
func (n Namer) Secret(name, suffix string) string {
	return n.SecretPrefix() + name + "-" + suffix
}

// SecretPrefix is the text a secret's ARN puts before its name.
func (n Namer) SecretPrefix() string {
	return "arn:aws:secretsmanager:" + n.Region + ":" + n.Account + ":secret:"
}
