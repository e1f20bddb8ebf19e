package taskdef

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// Network modes and ports. An empty networkMode is stored as "bridge", which
// is what ECS means by it on Linux. In host and awsvpc mode a port mapping's
// host port is its container port: berth stores it so. In bridge mode an
// absent hostPort stays absent and 0 stays 0 (both: dynamic).

var networkModes = []string{"bridge", "host", "awsvpc", "none"}

func (t *task) checkNetworkMode() error {
	if t.td.NetworkMode == "" {
		t.td.NetworkMode = "bridge"
	}
	if !slices.Contains(networkModes, t.td.NetworkMode) {
		return ecserr.Field("networkMode", "must be bridge, host, awsvpc or none, got %q", clip(t.td.NetworkMode))
	}
	return nil
}

// portKey is a host port bound statically, with its protocol.
type portKey struct {
	port     int32
	protocol string
}

// checkPortMappings checks and normalizes container i's port mappings; used
// holds the static host ports of the containers before it.
func (t *task) checkPortMappings(i int, c *berthv1.ContainerDefinition, used map[portKey]string) error {
	if len(c.PortMappings) > 0 && t.td.NetworkMode == "none" {
		return ecserr.Field(cpath(i, "portMappings"), "not allowed in none network mode")
	}
	for j, pm := range c.PortMappings {
		p := cpath(i, fmt.Sprintf("portMappings[%d]", j))
		if err := t.checkPortMapping(p, pm); err != nil {
			return err
		}
		if pm.HostPort == nil || *pm.HostPort == 0 {
			continue // dynamic, or a port range
		}
		key := portKey{*pm.HostPort, pm.Protocol}
		if prev, ok := used[key]; ok {
			return ecserr.Field(p+".hostPort", "%d/%s is already used by %s", key.port, key.protocol, prev)
		}
		used[key] = p
	}
	return nil
}

func (t *task) checkPortMapping(p string, pm *berthv1.PortMapping) error {
	switch pm.Protocol {
	case "":
		pm.Protocol = "tcp"
	case "tcp", "udp":
	default:
		return ecserr.Field(p+".protocol", "must be tcp or udp, got %q", clip(pm.Protocol))
	}
	if pm.ContainerPortRange != "" {
		return checkPortRange(p, pm)
	}
	if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
		return ecserr.Field(p+".containerPort", "must be 1-65535, got %d", pm.ContainerPort)
	}
	if t.td.NetworkMode == "bridge" {
		if pm.HostPort != nil && (*pm.HostPort < 0 || *pm.HostPort > 65535) {
			return ecserr.Field(p+".hostPort", "must be 0 (dynamic) or 1-65535, got %d", *pm.HostPort)
		}
		return nil
	}
	if pm.HostPort != nil && *pm.HostPort != pm.ContainerPort {
		return ecserr.Field(p+".hostPort", "must equal containerPort %d in %s mode", pm.ContainerPort, t.td.NetworkMode)
	}
	pm.HostPort = proto.Int32(pm.ContainerPort)
	return nil
}

var portRange = regexp.MustCompile(`^([0-9]{1,5})-([0-9]{1,5})$`)

// checkPortRange checks a containerPortRange ("8000-8010"), which replaces
// containerPort and leaves host ports to the runtime.
func checkPortRange(p string, pm *berthv1.PortMapping) error {
	if pm.ContainerPort != 0 {
		return ecserr.Field(p+".containerPort", "cannot be set together with containerPortRange")
	}
	if pm.HostPort != nil {
		return ecserr.Field(p+".hostPort", "cannot be set together with containerPortRange")
	}
	m := portRange.FindStringSubmatch(pm.ContainerPortRange)
	if m != nil {
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		if 1 <= lo && lo < hi && hi <= 65535 {
			return nil
		}
	}
	return ecserr.Field(p+".containerPortRange", "must be FROM-TO with 1 <= FROM < TO <= 65535, got %q",
		clip(pm.ContainerPortRange))
}

// checkLinks checks container i's links: bridge mode only, each "name" or
// "name:alias" naming another container of the task.
func (t *task) checkLinks(i int, c *berthv1.ContainerDefinition) error {
	if len(c.Links) == 0 {
		return nil
	}
	if t.td.NetworkMode != "bridge" {
		return ecserr.Field(cpath(i, "links"), "only allowed in bridge network mode, not %s", t.td.NetworkMode)
	}
	for k, link := range c.Links {
		p := cpath(i, fmt.Sprintf("links[%d]", k))
		name, alias, hasAlias := strings.Cut(link, ":")
		if !validName.MatchString(name) || (hasAlias && !validName.MatchString(alias)) {
			return ecserr.Field(p, "must be name or name:alias, each %s, got %q", nameRule, clip(link))
		}
		if err := t.checkContainerRef(p, name, c.Name); err != nil {
			return err
		}
	}
	return nil
}

// checkContainerRef checks that name, at path p in container self, names
// another container of the task.
func (t *task) checkContainerRef(p, name, self string) error {
	switch _, ok := t.containers[name]; {
	case name == "":
		return ecserr.Field(p, "required")
	case name == self:
		return ecserr.Field(p, "%q is the container itself", name)
	case !ok:
		return ecserr.Field(p, "%q names no container of the task", clip(name))
	}
	return nil
}
