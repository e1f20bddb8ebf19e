package taskdef

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// Health checks take ECS's ranges and defaults. The command must start with
// CMD or CMD-SHELL and have something to run after it; Docker's ["NONE"] is
// not taken, since ECS documents only those two. ECS does not require timeout
// < interval (the ECS agent's own HEALTHY test has interval 5, timeout 50), so
// neither does berth.

// healthSetting is one numeric healthCheck field: its range and default.
type healthSetting struct {
	name     string
	field    func(*berthv1.HealthCheck) **int32
	min, max int32
	def      int32
}

var healthSettings = []healthSetting{
	{"interval", func(h *berthv1.HealthCheck) **int32 { return &h.Interval }, 5, 300, 30},
	{"timeout", func(h *berthv1.HealthCheck) **int32 { return &h.Timeout }, 2, 60, 5},
	{"retries", func(h *berthv1.HealthCheck) **int32 { return &h.Retries }, 1, 10, 3},
	{"startPeriod", func(h *berthv1.HealthCheck) **int32 { return &h.StartPeriod }, 0, 300, 0},
}

// checkHealthCheck checks container i's healthCheck and fills in defaults.
func checkHealthCheck(i int, hc *berthv1.HealthCheck) error {
	if hc == nil {
		return nil
	}
	p := cpath(i, "healthCheck")
	switch {
	case len(hc.Command) == 0:
		return ecserr.Field(p+".command", "required")
	case hc.Command[0] != "CMD" && hc.Command[0] != "CMD-SHELL":
		return ecserr.Field(p+".command[0]", "must be CMD or CMD-SHELL, got %q", clip(hc.Command[0]))
	case len(hc.Command) < 2:
		return ecserr.Field(p+".command", "needs a command to run after %s", hc.Command[0])
	}
	for _, s := range healthSettings {
		v := s.field(hc)
		if *v == nil {
			*v = proto.Int32(s.def)
			continue
		}
		if **v < s.min || **v > s.max {
			unit := " seconds"
			if s.name == "retries" {
				unit = ""
			}
			return ecserr.Field(p+"."+s.name, "must be %d-%d%s, got %d", s.min, s.max, unit, **v)
		}
	}
	return nil
}
