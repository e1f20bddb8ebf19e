// Package proxy is ELB v2's data plane: an HTTP listener per ELB listener,
// each a reverse proxy (net/http/httputil.ReverseProxy) that routes a
// request by its listener's rules (package elbv2) to a target group, picks
// a target (round robin or least outstanding requests, healthy targets
// first, every target when none is healthy, never a draining one), and
// forwards it over a shared keep-alive pool with X-Forwarded-For, -Proto and
// -Port. It answers as ALB does when it cannot: 503 for a target group with
// no target to take the request, 502 for a target that refused or broke the
// connection or answered with something that is not HTTP, 504 for a target
// that did not connect or answer in time.
//
// A health checker per target group in use checks each target at the
// group's interval and moves it between initial, healthy and unhealthy with
// the group's thresholds. Metrics per target group (request count, target
// response time, targets' 5XX, healthy hosts) go to the Registerer given.
//
// Goroutines: the Manager owns one server goroutine per bound listener and
// one checker per target group in use; Apply starts and stops them as the
// configuration changes, Close stops them all and waits.
package proxy
