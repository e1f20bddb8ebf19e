package hostpool

import (
	"context"
	"sort"
	"strings"
)

// HostID names a pool host; the manager chooses it and the host's agent
// registers it as the berth.pool-host attribute.
type HostID string

// HostSpec is what a provisioner needs to start one pool host.
type HostSpec struct {
	ID      HostID
	Cluster string
	// CPU (units) and Memory (MiB) the host's agent registers.
	CPU, Memory int
	// ControlPlane is the gRPC address and JoinToken the token the host's
	// agent joins with.
	ControlPlane, JoinToken string
	AvailabilityZone        string
	InstanceType            string
	// Attributes are custom attributes the agent must register: they mark
	// the host as a pool host (berth.pool=fargate, berth.pool-host=ID).
	Attributes map[string]string
}

// AttributeList is the spec's attributes as sorted name=value pairs.
func (s HostSpec) AttributeList() []string {
	out := make([]string, 0, len(s.Attributes))
	for k, v := range s.Attributes {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func (s HostSpec) attributeText() string { return strings.Join(s.AttributeList(), " ") }

// Provisioner starts and stops pool hosts. Start returns once the host is
// on its way (its agent will register); Stop once it is gone. Both may be
// called concurrently, for different hosts. Stop of a host the provisioner
// does not know (one started before a restart of an in-process pool) is not
// an error.
type Provisioner interface {
	Start(ctx context.Context, spec HostSpec) error
	Stop(ctx context.Context, id HostID) error
}
