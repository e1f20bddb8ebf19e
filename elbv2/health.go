package elbv2

import (
	"fmt"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Target health states, as DescribeTargetHealth names them.
const (
	StateInitial     = "initial"
	StateHealthy     = "healthy"
	StateUnhealthy   = "unhealthy"
	StateUnused      = "unused"
	StateDraining    = "draining"
	StateUnavailable = "unavailable"
)

// Check is the outcome of one health check.
type Check struct {
	// Code is the HTTP status, 0 when none came back.
	Code int
	// Timeout: no answer within the health check's timeout.
	Timeout bool
	// Err is another failure to get an answer (connection refused).
	Err string
}

// Health is a target's health as the checker knows it.
type Health struct {
	State string
	// Successes and Failures are the consecutive passes and fails so far.
	Successes, Failures int
	// Checked: at least one check has finished.
	Checked bool
	// Last is the last failed check, for the reason.
	Last Check
}

// Observe is the target's health after a check, with the target group's
// thresholds: a new target (initial) is healthy after healthy consecutive
// passes and unhealthy after unhealthy consecutive fails; a healthy target
// turns unhealthy after unhealthy fails, an unhealthy one healthy after
// healthy passes.
func Observe(h Health, c Check, m Matcher, healthy, unhealthy int) Health {
	if h.State == "" {
		h.State = StateInitial
	}
	h.Checked = true
	if c.Code != 0 && !c.Timeout && c.Err == "" && m.Matches(c.Code) {
		h.Successes++
		h.Failures = 0
		if h.State != StateHealthy && h.Successes >= healthy {
			h.State = StateHealthy
		}
		return h
	}
	h.Last = c
	h.Failures++
	h.Successes = 0
	if h.State != StateUnhealthy && h.Failures >= unhealthy {
		h.State = StateUnhealthy
	}
	return h
}

// Describe is ELB's TargetHealth for a registered target: its state, reason
// code and description. draining: the target is being deregistered; inUse:
// a listener's rule forwards to its target group; enabled: health checks
// are on.
func Describe(h Health, draining, inUse, enabled bool) *berthv1.ELBTargetHealth {
	switch {
	case draining:
		return &berthv1.ELBTargetHealth{State: StateDraining, Reason: "Target.DeregistrationInProgress", Description: "Target deregistration is in progress"}
	case !inUse:
		return &berthv1.ELBTargetHealth{State: StateUnused, Reason: "Target.NotInUse", Description: "Target group is not configured to receive traffic from the load balancer"}
	case !enabled:
		return &berthv1.ELBTargetHealth{State: StateUnavailable, Reason: "Target.HealthCheckDisabled", Description: "Health checks are disabled"}
	}
	switch h.State {
	case StateHealthy:
		return &berthv1.ELBTargetHealth{State: StateHealthy}
	case StateUnhealthy:
		switch {
		case h.Last.Timeout:
			return &berthv1.ELBTargetHealth{State: StateUnhealthy, Reason: "Target.Timeout", Description: "Request timed out"}
		case h.Last.Code != 0:
			return &berthv1.ELBTargetHealth{State: StateUnhealthy, Reason: "Target.ResponseCodeMismatch", Description: fmt.Sprintf("Health checks failed with these codes: [%d]", h.Last.Code)}
		}
		return &berthv1.ELBTargetHealth{State: StateUnhealthy, Reason: "Target.FailedHealthChecks", Description: "Health checks failed"}
	}
	if !h.Checked {
		return &berthv1.ELBTargetHealth{State: StateInitial, Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"}
	}
	return &berthv1.ELBTargetHealth{State: StateInitial, Reason: "Elb.InitialHealthChecking", Description: "Initial health checks in progress"}
}

// NotRegistered is ELB's TargetHealth for a target that a
// DescribeTargetHealth names and the target group does not have.
func NotRegistered() *berthv1.ELBTargetHealth {
	return &berthv1.ELBTargetHealth{State: StateUnused, Reason: "Target.NotRegistered", Description: "Target is not registered to the target group"}
}

// TargetKey names a target within its group: "id:port".
func TargetKey(id string, port int32) string { return fmt.Sprintf("%s:%d", id, port) }

// CheckTarget checks a target description of a target group of targetType
// with default port def, and returns its port.
func CheckTarget(field, targetType string, t *berthv1.ELBTargetDescription, def int32) (int32, error) {
	id := t.GetId()
	if id == "" {
		return 0, Invalid(field+".Id", "a target ID must be specified")
	}
	switch targetType {
	case "instance":
		if !strings.HasPrefix(id, "i-") {
			return 0, Conflict(InvalidTarget, "The following targets are not valid instances: '%s'", id)
		}
	case "ip":
		if !isIPv4(id) {
			return 0, Conflict(InvalidTarget, "The IP address '%s' is not a valid IPv4 address", id)
		}
	}
	port := def
	if t.Port != nil {
		port = t.GetPort()
	}
	if err := checkPort(field+".Port", port); err != nil {
		return 0, err
	}
	return port, nil
}

func isIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		n := 0
		for _, r := range p {
			if r < '0' || r > '9' {
				return false
			}
			n = n*10 + int(r-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}
