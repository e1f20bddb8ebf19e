package taskdef

import (
	"fmt"
	"slices"

	"github.com/berth/berth/ecs/ecserr"
)

// Task-level settings other than size and network: requiresCompatibilities,
// pidMode, ipcMode and proxyConfiguration.

var launchTypes = []string{"EC2", "FARGATE", "EXTERNAL"}

// checkCompatibilities checks requiresCompatibilities and sets
// compatibilities: EC2 always, plus each other launch type listed.
func (t *task) checkCompatibilities() error {
	seen := map[string]bool{}
	for j, c := range t.td.RequiresCompatibilities {
		p := fmt.Sprintf("requiresCompatibilities[%d]", j)
		if !slices.Contains(launchTypes, c) {
			return ecserr.Field(p, "must be EC2, FARGATE or EXTERNAL, got %q", clip(c))
		}
		if seen[c] {
			return ecserr.Field(p, "%s is listed twice", c)
		}
		seen[c] = true
	}
	t.fargate = seen["FARGATE"]
	t.td.Compatibilities = []string{"EC2"}
	for _, c := range launchTypes[1:] {
		if seen[c] {
			t.td.Compatibilities = append(t.td.Compatibilities, c)
		}
	}
	return nil
}

// checkNamespaces checks pidMode (host or task) and ipcMode (host, task or
// none).
func (t *task) checkNamespaces() error {
	if m := t.td.PidMode; m != "" && m != "host" && m != "task" {
		return ecserr.Field("pidMode", "must be host or task, got %q", clip(m))
	}
	if m := t.td.IpcMode; m != "" && m != "host" && m != "task" && m != "none" {
		return ecserr.Field("ipcMode", "must be host, task or none, got %q", clip(m))
	}
	if t.fargate && t.td.PidMode == "host" {
		return ecserr.Field("pidMode", "must be task with FARGATE, got host")
	}
	if t.fargate && t.td.IpcMode != "" {
		return ecserr.Field("ipcMode", "not supported with FARGATE")
	}
	return nil
}

// checkProxyConfiguration checks that an App Mesh proxy configuration names a
// container of the task.
func (t *task) checkProxyConfiguration() error {
	pc := t.td.ProxyConfiguration
	if pc == nil {
		return nil
	}
	if pc.Type != "" && pc.Type != "APPMESH" {
		return ecserr.Field("proxyConfiguration.type", "must be APPMESH, got %q", clip(pc.Type))
	}
	return t.checkContainerRef("proxyConfiguration.containerName", pc.ContainerName, "")
}
