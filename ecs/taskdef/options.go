package taskdef

import (
	"fmt"
	"slices"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// Container options whose values ECS takes from fixed lists: the log driver,
// the FireLens router type and ulimit names; and the task's ephemeral storage.

var (
	logDrivers     = []string{"awslogs", "awsfirelens", "fluentd", "gelf", "journald", "json-file", "splunk", "syslog"}
	firelensTypes  = []string{"fluentbit", "fluentd"}
	ulimitNames    = []string{"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"}
	ephemeralRange = [2]int32{21, 200} // GiB
)

// checkContainerOptions checks container i's logConfiguration,
// firelensConfiguration and ulimits.
func checkContainerOptions(i int, c *berthv1.ContainerDefinition) error {
	if lc := c.LogConfiguration; lc != nil && !slices.Contains(logDrivers, lc.LogDriver) {
		return ecserr.Field(cpath(i, "logConfiguration.logDriver"), "must be one of %v, got %q",
			logDrivers, clip(lc.LogDriver))
	}
	if fc := c.FirelensConfiguration; fc != nil && !slices.Contains(firelensTypes, fc.Type) {
		return ecserr.Field(cpath(i, "firelensConfiguration.type"), "must be fluentbit or fluentd, got %q",
			clip(fc.Type))
	}
	for k, u := range c.Ulimits {
		p := cpath(i, fmt.Sprintf("ulimits[%d]", k))
		if !slices.Contains(ulimitNames, u.Name) {
			return ecserr.Field(p+".name", "must be one of %v, got %q", ulimitNames, clip(u.Name))
		}
		if u.SoftLimit > u.HardLimit {
			return ecserr.Field(p+".softLimit", "must not be more than hardLimit %d, got %d", u.HardLimit, u.SoftLimit)
		}
	}
	return nil
}

// checkEphemeralStorage checks the task's ephemeral storage size.
func (t *task) checkEphemeralStorage() error {
	es := t.td.EphemeralStorage
	if es == nil || (es.SizeInGib >= ephemeralRange[0] && es.SizeInGib <= ephemeralRange[1]) {
		return nil
	}
	return ecserr.Field("ephemeralStorage.sizeInGiB", "must be %d-%d GiB, got %d",
		ephemeralRange[0], ephemeralRange[1], es.SizeInGib)
}
