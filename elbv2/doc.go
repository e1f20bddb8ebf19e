// Package elbv2 is Elastic Load Balancing v2's decisions, with no I/O: the
// rules for names, target groups, attributes, listeners and rules (ELB's
// validation and defaults, with its exception names), rule matching by
// priority over host-header and path-pattern conditions, the target health
// state machine with ELB's reason codes, and the choices of the balancer
// (weighted target groups, round robin, least outstanding requests).
//
// The API (elbv2/elbv2api) and the listeners' proxy (elbv2/proxy) build on
// it. It starts no goroutines.
package elbv2
