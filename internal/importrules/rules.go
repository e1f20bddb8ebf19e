// Package importrules is the table of which of berth's packages may not
// import which, and the check of a package graph against it. Its test runs
// the check over the module (go list), so `go test ./...` fails when a
// package crosses a layer: the scheduler stays pure, the store stays below the
// services, the control plane runs no agent code, the agent knows the control
// plane only through the session protocol, and the wire layer stays below the
// services.
//
// Paths are relative to the module (agent, ecs/fargate) and match a package
// and everything under it. Only non-test imports count, and they count
// transitively: a package that reaches a forbidden one through a package the
// rule does not cover (controlplane -> internal/inprocess -> agent) breaks the
// rule as much as one that imports it directly.
package importrules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// ours stands, in a rule's Forbid, for every package of the module.
const ours = "*"

// A Rule says that the packages under From must not depend on those under
// Forbid, except those under Allow.
type Rule struct {
	From   []string
	Forbid []string
	Allow  []string
	Why    string
}

// Rules is berth's layering.
var Rules = []Rule{
	{From: []string{"scheduler"}, Forbid: []string{ours}, Allow: []string{"scheduler"},
		Why: "the scheduler is pure functions over a snapshot (allow api/proto or apierr here if it ever needs them, nothing else)"},
	{From: []string{"store"}, Forbid: []string{"controlplane", "scheduler", "ecs", "ecr", "awsapi", "dashboard", "agent", "ssm", "secretsmanager", "secretref", "atrest", "elbv2"},
		Why: "the store is below every service and knows none of them"},
	{From: []string{"controlplane", "ecs", "ecr", "awsapi", "dashboard", "ssm", "secretsmanager", "secretref", "atrest"}, Forbid: []string{"agent"},
		Why: "the control plane runs no agent code; in-process agents live in internal/inprocess"},
	{From: []string{"agent"}, Forbid: []string{"controlplane", "store", "ecs", "ecr", "awsapi", "dashboard", "scheduler", "ssm", "secretsmanager", "secretref", "atrest"},
		Why: "the agent knows the control plane only through the session protocol (api/proto)"},
	{From: []string{"agent/taskendpoint"}, Forbid: []string{"agent/engine", "agent/session"},
		Why: "the task endpoint is driven by the engine through engine.TaskEndpoint and knows no session"},
	{From: []string{"events/eventsapi", "schedules/schedulerapi"}, Forbid: []string{"agent", "ecs", "controlplane", "dashboard"},
		Why: "EventBridge and Scheduler run ECS tasks through an interface (ECS's RunTask in-process), not ECS's packages"},
	{From: []string{"api"}, Forbid: []string{ours}, Allow: []string{"api"},
		Why: "the API definitions and their generated code depend on nothing of berth's"},
	{From: []string{"apierr"}, Forbid: []string{ours}, Allow: []string{"apierr"},
		Why: "the error vocabulary is below everything"},
	{From: []string{"hostpool"}, Forbid: []string{"ecs", "agent", "controlplane", "awsapi", "dashboard"},
		Why: "the shared host pool loop is below the services whose pools it runs: they plug their decisions into it"},
	{From: []string{"awsapi"}, Forbid: []string{"ecs", "ecr", "ssm", "secretsmanager", "elbv2"},
		Why: "the wire layer is below the services: they register their operations with it"},
	{From: []string{"ecr"}, Forbid: []string{"ecs", "controlplane", "dashboard"},
		Why: "ECR is a service of its own: the control plane wires it to ECS (the pull credentials a task carries)"},
	{From: []string{"ecs"}, Forbid: []string{"ecr"},
		Why: "ECS learns about the registry only through what the control plane plugs in (the dispatcher's ImagePulls)"},
	{From: []string{"elbv2"}, Forbid: []string{"ecs", "ecr", "ssm", "secretsmanager", "controlplane", "dashboard", "agent", "scheduler"},
		Why: "Elastic Load Balancing is a service of its own: ECS registers targets through an interface it defines, which the control plane fills"},
	{From: []string{"ecs"}, Forbid: []string{"elbv2"},
		Why: "ECS knows load balancers only through the interface it defines for them"},
	{From: []string{"ecr/token", "ecr/lifecycle"}, Forbid: []string{ours}, Allow: []string{"ecr/token", "ecr/lifecycle"},
		Why: "token and lifecycle decisions are pure and depend on nothing of berth's"},
	{From: []string{"lambda/envplan", "lambda/runtimeapi"}, Forbid: []string{ours}, Allow: []string{"lambda/envplan", "lambda/runtimeapi"},
		Why: "the execution environments' decisions are pure, and the Runtime API knows only the environment it serves"},
	{From: []string{"lambda"}, Forbid: []string{"agent", "controlplane", "dashboard"},
		Why: "Lambda runs its environments through ECS's API; the control plane wires it"},
	{From: []string{"rolecreds"}, Forbid: []string{"controlplane", "ecs", "ecr", "awsapi", "dashboard", "agent", "ssm", "secretsmanager", "secretref", "lambda"},
		Why: "role credentials are issued and checked below the services that use them: the control plane plugs them into the front door and the agents' assignments"},
	{From: []string{"agent"}, Forbid: []string{"rolecreds"},
		Why: "the agent serves the credentials it is sent; only the control plane issues them"},
	{From: []string{"s3"}, Forbid: []string{"ecs", "ecr", "controlplane", "dashboard", "ssm", "secretsmanager", "agent"},
		Why: "S3 is a service of its own: it reaches functions only through lambda/invoke's EventSource, which the control plane plugs in"},
	{From: []string{"s3/notify", "s3/bucketname", "s3/s3fs"}, Forbid: []string{ours}, Allow: []string{"s3/notify", "s3/bucketname", "api"},
		Why: "S3's notification and naming decisions are pure, and its files know nothing of berth's"},
	{From: []string{"awsapi", "store"}, Forbid: []string{"s3"},
		Why: "the wire layer and the store are below S3"},
}

// An Exception lets one package depend on one forbidden package for now. Each
// says why and when it goes; the check fails when one is no longer needed, so
// that none outlives its reason.
type Exception struct {
	From, Import string
	Why          string
}

// Exceptions are the known breaks of Rules.
var Exceptions = []Exception{}

// A Violation is a package (From) that depends on a package (Import) a rule
// forbids it; Path is the chain of imports from one to the other.
type Violation struct {
	From, Import string
	Path         []string
	Rule         Rule
}

func (v Violation) String() string {
	via := ""
	if len(v.Path) > 2 {
		via = " through " + strings.Join(v.Path, " -> ")
	}
	return fmt.Sprintf("%s imports %s%s: %s", v.From, v.Import, via, v.Rule.Why)
}

// Check checks graph (each package of the module, relative to it, with the
// packages of the module it imports) against rules, less exceptions. It
// returns the violations, and the exceptions that excused none. A package
// that reaches a forbidden one only through another package of the same
// rule that reaches it too is not reported: the one nearer the import is.
func Check(graph map[string][]string, rules []Rule, exceptions []Exception) (violations []Violation, unused []Exception) {
	used := make([]bool, len(exceptions))
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, rule := range rules {
		for _, from := range pkgs {
			if !underAny(from, rule.From) {
				continue
			}
			parent := reach(graph, from)
			for _, imp := range sortedKeys(parent) {
				if !rule.forbids(imp) {
					continue
				}
				path := pathTo(parent, from, imp)
				if slices.ContainsFunc(path[1:len(path)-1], func(p string) bool { return underAny(p, rule.From) }) {
					continue // reported at the package of the rule nearest the import
				}
				excused := false
				for i, e := range exceptions {
					if under(from, e.From) && under(imp, e.Import) {
						used[i], excused = true, true
					}
				}
				if !excused {
					violations = append(violations, Violation{From: from, Import: imp, Path: path, Rule: rule})
				}
			}
		}
	}
	for i, e := range exceptions {
		if !used[i] {
			unused = append(unused, e)
		}
	}
	return violations, unused
}

func (r Rule) forbids(pkg string) bool {
	if underAny(pkg, r.Allow) {
		return false
	}
	return slices.Contains(r.Forbid, ours) || underAny(pkg, r.Forbid)
}

// reach is every package from depends on, each with the package it was
// first reached from (breadth first: the shortest chains).
func reach(graph map[string][]string, from string) map[string]string {
	parent := map[string]string{}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range graph[p] {
			if _, seen := parent[imp]; seen || imp == from {
				continue
			}
			parent[imp] = p
			queue = append(queue, imp)
		}
	}
	return parent
}

func pathTo(parent map[string]string, from, to string) []string {
	path := []string{to}
	for p := to; p != from; {
		p = parent[p]
		path = append(path, p)
	}
	slices.Reverse(path)
	return path
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// under reports whether pkg is prefix or a package under it.
func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func underAny(pkg string, prefixes []string) bool {
	return slices.ContainsFunc(prefixes, func(p string) bool { return under(pkg, p) })
}
