package taskdef

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// maxContainers is ECS's limit of containers in a task definition.
const maxContainers = 10

// maxFargateTimeout bounds stopTimeout and startTimeout with FARGATE: ECS
// documents 120 s as Fargate's longest stopTimeout, and berth holds
// startTimeout to the same. ECS documents no bound on EC2 (the agent takes
// any) and no least value, so elsewhere berth only rejects negative timeouts.
const maxFargateTimeout = 120

// checkContainers checks the container definitions: first their names and
// essential flags, which the other rules refer to, then each container in
// order, then what spans containers (sums, dependency cycles).
func (t *task) checkContainers() error {
	cs := t.td.ContainerDefinitions
	switch {
	case len(cs) == 0:
		return ecserr.Field("containerDefinitions", "at least one container is required")
	case len(cs) > maxContainers:
		return ecserr.Field("containerDefinitions", "at most %d containers, got %d", maxContainers, len(cs))
	}
	if err := t.checkContainerNames(); err != nil {
		return err
	}
	used := map[portKey]string{}
	for i, c := range cs {
		if err := t.checkContainer(i, c, used); err != nil {
			return err
		}
	}
	if err := t.checkResourceSums(); err != nil {
		return err
	}
	return t.checkDependencyCycles()
}

// checkContainerNames checks names (valid, unique), defaults essential to
// true, and requires one essential container.
func (t *task) checkContainerNames() error {
	t.containers = map[string]int{}
	essential := false
	for i, c := range t.td.ContainerDefinitions {
		if c.Name == "" {
			return ecserr.Field(cpath(i, "name"), "required").Says(ecserr.TextContainerMissing("name"))
		}
		if err := checkName(cpath(i, "name"), c.Name); err != nil {
			return err
		}
		if _, dup := t.containers[c.Name]; dup {
			return ecserr.Field(cpath(i, "name"), "duplicate container name %q", c.Name)
		}
		t.containers[c.Name] = i
		if c.Essential == nil {
			c.Essential = proto.Bool(true)
		}
		essential = essential || *c.Essential
	}
	if !essential {
		return ecserr.Field("containerDefinitions", "at least one container must be essential")
	}
	return nil
}

// checkContainer checks container i's own fields, in a fixed order close to
// that of the ContainerDefinition message.
func (t *task) checkContainer(i int, c *berthv1.ContainerDefinition, used map[portKey]string) error {
	if c.Image == "" {
		return ecserr.Field(cpath(i, "image"), "required").Says(ecserr.TextContainerMissing("image"))
	}
	checks := []func() error{
		func() error { return t.checkContainerResources(i, c) },
		func() error { return t.checkLinks(i, c) },
		func() error { return t.checkPortMappings(i, c, used) },
		func() error { return t.checkContainerVolumes(i, c) },
		func() error { return t.checkDependsOn(i, c) },
		func() error { return t.checkTimeouts(i, c) },
		func() error { return checkHealthCheck(i, c.HealthCheck) },
		func() error { return checkContainerOptions(i, c) },
		func() error { return t.checkDockerSettings(i, c) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// checkTimeouts checks startTimeout and stopTimeout (seconds).
func (t *task) checkTimeouts(i int, c *berthv1.ContainerDefinition) error {
	for _, tm := range []struct {
		name  string
		value *int32
	}{{"startTimeout", c.StartTimeout}, {"stopTimeout", c.StopTimeout}} {
		switch {
		case tm.value == nil:
		case *tm.value < 0:
			return ecserr.Field(cpath(i, tm.name), "must not be negative, got %d", *tm.value)
		case t.fargate && *tm.value > maxFargateTimeout:
			return ecserr.Field(cpath(i, tm.name), "must be at most %d seconds with FARGATE, got %d",
				maxFargateTimeout, *tm.value)
		}
	}
	return nil
}
