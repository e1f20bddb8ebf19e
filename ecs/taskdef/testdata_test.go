package taskdef

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// taskdefsDir finds shared/testdata/ecs-taskdefs: shared/ sits beside the
// repository, wherever that is cloned, so look in every parent directory.
func taskdefsDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "shared", "testdata", "ecs-taskdefs")
		if info, err := os.Stat(candidate); err == nil && info.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no shared/testdata/ecs-taskdefs in any parent directory; shared/ belongs beside the repository")
		}
		dir = parent
	}
}

// readTaskdef decodes one testdata file as a RegisterTaskDefinition request.
// The Terraform file is a bare containerDefinitions array; it is wrapped as
// Terraform's aws_ecs_task_definition would send it.
func readTaskdef(t testing.TB, path string) (*berthv1.RegisterTaskDefinitionRequest, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(filepath.Base(path), "hashicorp__terraform-provider-aws__ecs-alb__") {
		data = []byte(`{"family": "terraform-ecs-alb", "containerDefinitions": ` + string(data) + `}`)
	}
	req := &berthv1.RegisterTaskDefinitionRequest{}
	return req, awsjson.Unmarshal(data, req)
}

// taskdefExpectation is what registering one testdata file gives: the
// normalized networkMode, cpu and memory, or an error starting with err.
type taskdefExpectation struct {
	mode, cpu, memory string
	err               string
}

// taskdefExpectations covers every file in the directory, as MANIFEST.md
// describes them.
var taskdefExpectations = map[string]taskdefExpectation{
	"aws-samples__amazon-ecs-firelens-examples__appmesh-firelens-colorteller-black-ecs-task-def.json": {mode: "awsvpc", cpu: "1024", memory: "2048"},
	// "1 vcpu", "2 gb" normalize to 1024, 2048; the log router's options
	// come from Secrets Manager, resolved when the task starts.
	"aws-samples__amazon-ecs-firelens-examples__example-task-definition.json":            {mode: "awsvpc", cpu: "1024", memory: "2048"},
	"aws-samples__amazon-ecs-firelens-examples__task-definition-bridge.json":             {mode: "bridge"},
	"aws-samples__amazon-ecs-firelens-examples__task-definition-uptime-healthcheck.json": {mode: "bridge"},
	"aws-samples__aws-containers-task-definitions__ConsulServer.json":                    {mode: "host"},
	"aws-samples__aws-containers-task-definitions__nginx_ec2.json":                       {mode: "bridge"},
	"aws-samples__aws-containers-task-definitions__nginx_fargate.json":                   {mode: "awsvpc", cpu: "256", memory: "512"},
	"aws-samples__aws-containers-task-definitions__tomcat_ec2.json": {
		err: "containerDefinitions[0].portMappings[0].hostPort: must equal containerPort 8080 in awsvpc mode"},
	"aws__amazon-ecs-agent__busybox-port-5180__task-definition.json":           {mode: "bridge"},
	"aws__amazon-ecs-agent__container-ordering-complete__task-definition.json": {mode: "bridge"},
	"aws__amazon-ecs-agent__container-ordering-healthy__task-definition.json":  {mode: "bridge"},
	"aws__amazon-ecs-agent__container-ordering-success__task-definition.json":  {mode: "bridge"},
	"aws__amazon-ecs-agent__granular-stop-timeout__task-definition.json":       {mode: "bridge"},
	"aws__amazon-ecs-agent__invalid-image__task-definition.json":               {mode: "bridge"},
	"aws__amazon-ecs-agent__network-link__task-definition.json":                {mode: "bridge"},
	"aws__amazon-ecs-agent__nginx__task-definition.json": {
		err: "containerDefinitions[0].portBindings: unknown field"},
	"aws__amazon-ecs-agent__oom-task__task-definition.json":               {mode: "bridge", memory: "64"},
	"aws__amazon-ecs-agent__simple-exit__task-definition.json":            {mode: "bridge"},
	"awsdocs__amazon-ecs-developer-guide__ecs-dl1__dl-test.json":          {mode: "host", cpu: "10240", memory: "1024"},
	"awsdocs__amazon-ecs-developer-guide__ecs-inference__ecs-neuron.json": {mode: "bridge"},
	"awsdocs__amazon-ecs-developer-guide__example_task_definitions__appmesh-gateway.json": {
		err: "containerDefinitions[0].memory: memory or memoryReservation is required when the task sets no memory"},
	"awsdocs__amazon-ecs-developer-guide__example_task_definitions__fargate-task-definition.json": {mode: "awsvpc", cpu: "256", memory: "512"},
	"awslabs__ecs-nginx-reverse-proxy__reverse-proxy__task-definition.json":                       {mode: "bridge"},
	// ECS container names take no "$", "{" or "}": Terraform substitutes its
	// template variables before it registers; berth sees the raw template.
	"hashicorp__terraform-provider-aws__ecs-alb__task-definition.json": {
		err: `containerDefinitions[0].name: must be 1-255 letters, digits, underscores or hyphens, got "${container_name}"`},
}

func TestTestdataTaskdefs(t *testing.T) {
	dir := taskdefsDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := taskdefExpectations[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it to taskdefExpectations", name)
			}
			req, err := readTaskdef(t, path)
			var td *berthv1.TaskDefinition
			if err == nil {
				td, err = Validate(req)
			}
			if want.err != "" {
				if err == nil || !strings.HasPrefix(ecserr.From(err).Own(), want.err) {
					t.Fatalf("got error %v, want %q", err, want.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if td.NetworkMode != want.mode || td.Cpu != want.cpu || td.Memory != want.memory {
				t.Errorf("networkMode, cpu, memory = %q, %q, %q; want %q, %q, %q",
					td.NetworkMode, td.Cpu, td.Memory, want.mode, want.cpu, want.memory)
			}
			assertIdempotent(t, td)
		})
	}
	for name := range taskdefExpectations {
		if !seen[name] {
			t.Errorf("expectation for %s, which is not in %s", name, dir)
		}
	}
}
