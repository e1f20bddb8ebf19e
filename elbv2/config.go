package elbv2

import (
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Config is what the listeners' proxy carries out: every listener with its
// rules and every target group with its targets. The API builds it from
// its records after each change.
type Config struct {
	Listeners []ListenerConfig
	Groups    []GroupConfig
}

// ListenerConfig is a listener: where it binds and its rules, the default
// rule among them.
type ListenerConfig struct {
	Arn  string
	Addr string // host:port
	Port int32
	// Rules are the listener's rules in any order, the default rule (IsDefault) among them.
	Rules []*berthv1.ELBRule
}

// GroupConfig is a target group: its health check settings, its balancing
// algorithm and its targets.
type GroupConfig struct {
	Arn         string
	TargetGroup *berthv1.ELBTargetGroup
	// Algorithm is RoundRobin or LeastOutstandingRequests.
	Algorithm string
	// InUse: a listener's rule forwards to it (only then are its targets
	// checked).
	InUse   bool
	Targets []TargetConfig
}

// TargetConfig is a target of a group.
type TargetConfig struct {
	// Key is TargetKey(id, port).
	Key string
	// Addr is where requests go, host:port.
	Addr string
	// DrainingUntil, when not zero, is when the deregistration delay of a
	// deregistered target ends: it takes no new requests, and in-flight
	// ones finish.
	DrainingUntil time.Time
}

// TargetAddr is where a target's requests go: an ip target's address, and
// for an instance target the loopback address, the only one that carries
// traffic to berth's hosts (their containers publish host ports there).
func TargetAddr(targetType, id string, port int32) string {
	host := "127.0.0.1"
	if targetType == "ip" {
		host = id
	}
	return host + ":" + itoa(int(port))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
