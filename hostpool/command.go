package hostpool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Command is a Provisioner that runs a user-given command to start or stop a
// host, for pools of real machines that run the agent binary. The command
// runs with the host in its environment and must return once the host is
// on its way (start) or gone (stop); a non-zero exit is a failure.
//
//	BERTH_POOL_ACTION        start or stop
//	BERTH_HOST_ID            the host's id
//	BERTH_CLUSTER            the cluster the agent joins      (start)
//	BERTH_HOST_CPU           CPU units to register           (start)
//	BERTH_HOST_MEMORY        MiB of memory to register       (start)
//	BERTH_CONTROL_PLANE      the control plane's gRPC address (start)
//	BERTH_JOIN_TOKEN         the join token                  (start)
//	BERTH_AVAILABILITY_ZONE  the host's zone                 (start)
//	BERTH_INSTANCE_TYPE      the host's instance type        (start)
//	BERTH_ATTRIBUTES         name=value pairs, space-separated, that the agent
//	                         must register (--attribute each)  (start)
//
// For example a start script can run
// `agent --cluster "$BERTH_CLUSTER" --cpu "$BERTH_HOST_CPU" ... --attribute berth.pool=fargate --attribute berth.pool-host=$BERTH_HOST_ID`
// on a machine of its choice. A command still running when the control
// plane shuts down is killed; the pool manager then finds its host (or its
// absence) at the next start.
type Command struct {
	// StartCommand and StopCommand are the argv of the commands (they may
	// be the same program: BERTH_POOL_ACTION tells them apart).
	StartCommand, StopCommand []string
	// Env is added to the control plane's environment for the commands.
	Env []string
}

// run runs argv with the host's environment.
func (c *Command) run(ctx context.Context, argv []string, env []string) error {
	if len(argv) == 0 {
		return errors.New("hostpool: command provisioner: no command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), c.Env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		text := strings.TrimSpace(out.String())
		if len(text) > 2000 {
			text = text[len(text)-2000:]
		}
		return fmt.Errorf("%s: %w: %s", argv[0], err, text)
	}
	return nil
}

// Start runs the start command for the host.
func (c *Command) Start(ctx context.Context, spec HostSpec) error {
	return c.run(ctx, c.StartCommand, []string{
		"BERTH_POOL_ACTION=start",
		"BERTH_HOST_ID=" + string(spec.ID),
		"BERTH_CLUSTER=" + spec.Cluster,
		"BERTH_HOST_CPU=" + strconv.Itoa(spec.CPU),
		"BERTH_HOST_MEMORY=" + strconv.Itoa(spec.Memory),
		"BERTH_CONTROL_PLANE=" + spec.ControlPlane,
		"BERTH_JOIN_TOKEN=" + spec.JoinToken,
		"BERTH_AVAILABILITY_ZONE=" + spec.AvailabilityZone,
		"BERTH_INSTANCE_TYPE=" + spec.InstanceType,
		"BERTH_ATTRIBUTES=" + spec.attributeText(),
	})
}

// Stop runs the stop command for the host.
func (c *Command) Stop(ctx context.Context, id HostID) error {
	return c.run(ctx, c.StopCommand, []string{"BERTH_POOL_ACTION=stop", "BERTH_HOST_ID=" + string(id)})
}
