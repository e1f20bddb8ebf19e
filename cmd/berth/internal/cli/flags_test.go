package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{
		"taskDefinition":       "task-definition",
		"cluster":              "cluster",
		"enableECSManagedTags": "enable-ecs-managed-tags",
		"bindIP":               "bind-ip",
		"forceNewDeployment":   "force-new-deployment",
	} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every ECS command has a flag per request member, named as aws ecs names
// it, and no two commands share a name.
func TestECSCommandFlags(t *testing.T) {
	root := (&app{}).rootCommand()
	for _, want := range []struct{ command, flag string }{
		{"run-task", "task-definition"}, {"run-task", "placement-strategy"}, {"run-task", "placement-constraints"},
		{"run-task", "started-by"}, {"run-task", "launch-type"}, {"run-task", "count"}, {"run-task", "group"},
		{"update-service", "force-new-deployment"}, {"update-service", "no-force-new-deployment"}, {"update-service", "desired-count"},
		{"delete-service", "force"}, {"describe-services", "services"}, {"start-task", "container-instances"},
		{"list-task-definitions", "family-prefix"}, {"list-task-definitions", "max-items"}, {"list-task-definitions", "status"},
		{"register-task-definition", "cli-input-json"}, {"create-service", "enable-ecs-managed-tags"},
		{"update-task-protection", "protection-enabled"}, {"update-task-protection", "no-protection-enabled"},
		{"update-task-protection", "expires-in-minutes"}, {"get-task-protection", "tasks"},
		{"list-service-deployments", "service"}, {"list-service-deployments", "max-items"}, {"list-service-deployments", "created-at"},
		{"describe-service-deployments", "service-deployment-arns"}, {"describe-service-revisions", "service-revision-arns"},
		{"create-service", "load-balancers"}, {"update-service", "load-balancers"}, {"create-service", "service-connect-configuration"},
	} {
		cmd, _, err := root.Find([]string{want.command})
		if err != nil || cmd.Name() != want.command || cmd.Flags().Lookup(want.flag) == nil {
			t.Errorf("%s --%s: no such flag (%v)", want.command, want.flag, err)
		}
	}
	if cmd, _, _ := root.Find([]string{"list-tasks"}); cmd.Flags().Lookup("next-token") != nil || cmd.Flags().Lookup("max-results") != nil {
		t.Errorf("list-tasks has --next-token or --max-results; aws ecs pages with --starting-token, --page-size, --max-items")
	}
}

func TestExpandLists(t *testing.T) {
	root := (&app{}).rootCommand()
	for _, c := range []struct{ in, want string }{
		{"describe-services --services a b c --cluster x", "describe-services --services a --services b --services c --cluster x"},
		{"describe-services --cluster x --services=a b", "describe-services --cluster x --services=a --services b"},
		{"run-task --task-definition web --placement-strategy type=spread,field=x type=binpack,field=memory --count 2",
			"run-task --task-definition web --placement-strategy type=spread,field=x --placement-strategy type=binpack,field=memory --count 2"},
		{"wait services-stable --services a b", "wait services-stable --services a --services b"},
		{"explain abc --cluster x", "explain abc --cluster x"},
		{"run-task --task-definition web extra", "run-task --task-definition web extra"},
	} {
		if got := strings.Join(expandLists(root, strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("expandLists(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

func TestDecodeStructure(t *testing.T) {
	var ps berthv1.PlacementStrategy
	if err := decodeStructure("type=spread,field=attribute:ecs.availability-zone", &ps); err != nil ||
		!proto.Equal(&ps, &berthv1.PlacementStrategy{Type: "spread", Field: "attribute:ecs.availability-zone"}) {
		t.Errorf("shorthand: %v, %v", &ps, err)
	}
	var dc berthv1.DeploymentConfiguration
	if err := decodeStructure(`{"maximumPercent": 150, "deploymentCircuitBreaker": {"enable": true, "rollback": true}}`, &dc); err != nil ||
		dc.GetMaximumPercent() != 150 || !dc.GetDeploymentCircuitBreaker().GetRollback() {
		t.Errorf("JSON: %v, %v", &dc, err)
	}
	for in, want := range map[string]string{
		"maximumPercent=lots":           "maximumPercent",
		"deploymentCircuitBreaker=true": "deploymentCircuitBreaker: give this structure as JSON",
		"maximumPercent":                `"maximumPercent": want key=value`,
		`{"maximumPercent": 1`:          "",
	} {
		if err := decodeStructure(in, &dc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("decodeStructure(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

func TestServiceStability(t *testing.T) {
	n := proto.Int32
	for _, c := range []struct {
		s                     *berthv1.Service
		waiting, failedPrefix string
	}{
		{&berthv1.Service{Status: "ACTIVE", DesiredCount: n(2), RunningCount: n(2), PendingCount: n(0),
			Deployments: []*berthv1.Deployment{{Status: "PRIMARY", RolloutState: "COMPLETED"}}}, "", ""},
		{&berthv1.Service{Status: "ACTIVE", DesiredCount: n(2), RunningCount: n(2),
			Deployments: []*berthv1.Deployment{{Status: "PRIMARY"}}}, "", ""},
		{&berthv1.Service{Status: "ACTIVE", DesiredCount: n(3), RunningCount: n(2), PendingCount: n(1),
			Deployments: []*berthv1.Deployment{{Status: "PRIMARY", RolloutState: "IN_PROGRESS"}, {Status: "ACTIVE"}}},
			"running 2 of 3, 1 pending, 2 deployments, rollout IN_PROGRESS", ""},
		{&berthv1.Service{Status: "ACTIVE", Deployments: []*berthv1.Deployment{{Status: "PRIMARY", RolloutState: "FAILED", RolloutStateReason: "circuit breaker"}}},
			"", "rollout FAILED: circuit breaker"},
		{&berthv1.Service{Status: "DRAINING"}, "", "status DRAINING"},
	} {
		st := serviceStability(c.s)
		if st.waiting != c.waiting || st.failed != c.failedPrefix {
			t.Errorf("%v: waiting %q failed %q, want %q %q", c.s, st.waiting, st.failed, c.waiting, c.failedPrefix)
		}
	}
}

// On a terminal the progress view redraws its lines in place; elsewhere it
// prints a line again only when it changed.
func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b}
	p.show([]string{"a 1", "b 1"}, time.Now())
	p.show([]string{"a 1", "b 2"}, time.Now())
	if b.String() != "a 1\nb 1\nb 2\n" {
		t.Errorf("plain progress: %q", b.String())
	}
	b.Reset()
	p = &progress{w: &b, live: true}
	p.show([]string{"a 1"}, time.Now())
	p.show([]string{"a 2"}, time.Now())
	lines := strings.Split(b.String(), "\n")
	if !slices.Equal(lines, []string{
		"\r\x1b[2Kwaiting for services to be stable (0s)", "\r\x1b[2Ka 1",
		"\x1b[2A\r\x1b[2Kwaiting for services to be stable (0s)", "\r\x1b[2Ka 2", "",
	}) {
		t.Errorf("live progress: %q", lines)
	}
}

// UpdateService's load balancers, kept as JSON to tell [] from none, take
// shorthands, JSON objects and arrays as a list member's flag does.
func TestJSONListFlag(t *testing.T) {
	c := ecsCommand{name: "update-service", op: rpc(berthv1.ECSClient.UpdateService)}
	md := c.op.newRequest().ProtoReflect().Descriptor()
	for _, tc := range []struct {
		vals []string
		want string
	}{
		{[]string{"targetGroupArn=arn:tg,containerName=web,containerPort=80", `{"loadBalancerName": "lb"}`},
			`[{"containerName":"web","containerPort":80,"targetGroupArn":"arn:tg"},{"loadBalancerName":"lb"}]`},
		{[]string{"[]"}, `[]`},
	} {
		f := &fieldFlag{fd: md.Fields().ByJSONName("loadBalancers"), vals: tc.vals}
		req := c.op.newRequest()
		if err := f.set(req.ProtoReflect()); err != nil {
			t.Fatal(err)
		}
		out, _ := awsjson.Marshal(req)
		var doc struct{ LoadBalancers json.RawMessage }
		json.Unmarshal(out, &doc)
		var got, want any
		json.Unmarshal(doc.LoadBalancers, &got)
		json.Unmarshal([]byte(tc.want), &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: got %s, want %s", tc.vals, doc.LoadBalancers, tc.want)
		}
	}
}
