package taskdef

import (
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// decode reads an inline JSON request; single quotes stand for double quotes
// to keep the tables readable.
func decode(t testing.TB, doc string) *berthv1.RegisterTaskDefinitionRequest {
	t.Helper()
	req := &berthv1.RegisterTaskDefinitionRequest{}
	if err := awsjson.Unmarshal([]byte(strings.ReplaceAll(doc, "'", `"`)), req); err != nil {
		t.Fatalf("decode %s: %v", doc, err)
	}
	return req
}

// web is a container with everything a minimal task needs, for the tables.
const web = `{'name': 'web', 'image': 'nginx', 'memory': 128}`

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		// family
		{"family missing", `{'containerDefinitions': [` + web + `]}`, "family: required"},
		{"family charset", `{'family': 'my app', 'containerDefinitions': [` + web + `]}`,
			`family: must be 1-255 letters, digits, underscores or hyphens, got "my app"`},
		{"family too long", `{'family': '` + strings.Repeat("a", 256) + `', 'containerDefinitions': [` + web + `]}`,
			"family: must be 1-255 letters, digits, underscores or hyphens, got"},

		// task size
		{"cpu garbage", `{'family': 'f', 'cpu': 'lots', 'containerDefinitions': [` + web + `]}`,
			`cpu: "lots" is not a CPU amount: give CPU units ("256") or vCPUs ("1 vCPU")`},
		{"cpu unit", `{'family': 'f', 'cpu': '2 cores', 'containerDefinitions': [` + web + `]}`,
			`cpu: "2 cores" is not a CPU amount`},
		{"cpu fraction", `{'family': 'f', 'cpu': '0.1 vcpu', 'containerDefinitions': [` + web + `]}`,
			`cpu: "0.1 vcpu" is not a whole number of CPU units (1 vCPU = 1024)`},
		{"cpu below EC2 range", `{'family': 'f', 'cpu': '64', 'containerDefinitions': [` + web + `]}`,
			"cpu: must be 128 to 196608 CPU units (0.125 to 192 vCPUs), got 64"},
		{"cpu above EC2 range", `{'family': 'f', 'cpu': '193 vCPU', 'containerDefinitions': [` + web + `]}`,
			"cpu: must be 128 to 196608 CPU units (0.125 to 192 vCPUs), got 197632"},
		{"memory garbage", `{'family': 'f', 'memory': '2 TB', 'containerDefinitions': [` + web + `]}`,
			`memory: "2 TB" is not a memory amount: give MiB ("512") or GB ("2 GB")`},
		{"memory fraction", `{'family': 'f', 'memory': '0.3GB', 'containerDefinitions': [` + web + `]}`,
			`memory: "0.3GB" is not a whole number of MiB (1 GB = 1024 MiB)`},
		{"memory tiny", `{'family': 'f', 'memory': '4', 'containerDefinitions': [` + web + `]}`,
			"memory: must be at least 6 MiB, got 4"},
		{"memory negative", `{'family': 'f', 'memory': '-512', 'containerDefinitions': [` + web + `]}`,
			`memory: "-512" is not a memory amount`},

		// network mode
		{"network mode", `{'family': 'f', 'networkMode': 'nat', 'containerDefinitions': [` + web + `]}`,
			`networkMode: must be bridge, host, awsvpc or none, got "nat"`},

		// compatibilities and Fargate
		{"launch type", `{'family': 'f', 'requiresCompatibilities': ['EC2', 'LAMBDA'], 'containerDefinitions': [` + web + `]}`,
			`requiresCompatibilities[1]: must be EC2, FARGATE or EXTERNAL, got "LAMBDA"`},
		{"launch type twice", `{'family': 'f', 'requiresCompatibilities': ['EC2', 'EC2'], 'containerDefinitions': [` + web + `]}`,
			"requiresCompatibilities[1]: EC2 is listed twice"},
		{"fargate bridge", `{'family': 'f', 'requiresCompatibilities': ['EC2', 'FARGATE'], 'cpu': '256', 'memory': '512', 'containerDefinitions': [` + web + `]}`,
			`networkMode: must be awsvpc with FARGATE, got "bridge"`},
		{"fargate no cpu", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'memory': '512', 'containerDefinitions': [` + web + `]}`,
			"cpu: required at the task level with FARGATE"},
		{"fargate no memory", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '256', 'containerDefinitions': [` + web + `]}`,
			"memory: required at the task level with FARGATE"},
		{"fargate cpu", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '768', 'memory': '2048', 'containerDefinitions': [` + web + `]}`,
			"cpu: Fargate takes 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units, got 768"},
		{"fargate memory small list", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '.25 vCPU', 'memory': '4GB', 'containerDefinitions': [` + web + `]}`,
			"memory: with cpu 256 Fargate takes memory 512, 1024 or 2048 MiB, got 4096"},
		{"fargate memory range", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '8 vcpu', 'memory': '18 GB', 'containerDefinitions': [` + web + `]}`,
			"memory: with cpu 8192 Fargate takes memory 16384 to 61440 in steps of 4096 MiB, got 18432"},

		// pid and ipc
		{"pid mode", `{'family': 'f', 'pidMode': 'container', 'containerDefinitions': [` + web + `]}`,
			`pidMode: must be host or task, got "container"`},
		{"ipc mode", `{'family': 'f', 'ipcMode': 'shareable', 'containerDefinitions': [` + web + `]}`,
			`ipcMode: must be host, task or none, got "shareable"`},

		// volumes
		{"volume name", `{'family': 'f', 'volumes': [{'name': 'a b'}], 'containerDefinitions': [` + web + `]}`,
			`volumes[0].name: must be 1-255 letters, digits, underscores or hyphens, got "a b"`},
		{"volume name missing", `{'family': 'f', 'volumes': [{'host': {'sourcePath': '/x'}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].name: required"},
		{"volume twice", `{'family': 'f', 'volumes': [{'name': 'data'}, {'name': 'data'}], 'containerDefinitions': [` + web + `]}`,
			`volumes[1].name: duplicate volume name "data"`},

		// containers
		{"no containers", `{'family': 'f'}`, "containerDefinitions: at least one container is required"},
		{"eleven containers", `{'family': 'f', 'containerDefinitions': [` + strings.TrimSuffix(strings.Repeat(web+",", 11), ",") + `]}`,
			"containerDefinitions: at most 10 containers, got 11"},
		{"container name missing", `{'family': 'f', 'containerDefinitions': [` + web + `, {'image': 'x', 'memory': 64}]}`,
			"containerDefinitions[1].name: required"},
		{"container name charset", `{'family': 'f', 'containerDefinitions': [{'name': '${container_name}', 'image': 'x', 'memory': 64}]}`,
			`containerDefinitions[0].name: must be 1-255 letters, digits, underscores or hyphens, got "${container_name}"`},
		{"container name twice", `{'family': 'f', 'containerDefinitions': [` + web + `, ` + web + `]}`,
			`containerDefinitions[1].name: duplicate container name "web"`},
		{"no essential", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'essential': false}]}`,
			"containerDefinitions: at least one container must be essential"},
		{"image missing", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'memory': 64}]}`,
			"containerDefinitions[0].image: required"},

		// container resources
		{"container cpu negative", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'cpu': -1}]}`,
			"containerDefinitions[0].cpu: must not be negative, got -1"},
		{"no memory anywhere", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x'}]}`,
			"containerDefinitions[1].memory: memory or memoryReservation is required when the task sets no memory"},
		{"memory tiny container", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 4}]}`,
			"containerDefinitions[0].memory: must be at least 6 MiB, got 4"},
		{"memory zero", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 0}]}`,
			"containerDefinitions[0].memory: must be at least 6 MiB, got 0"},
		{"reservation tiny", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memoryReservation': 5}]}`,
			"containerDefinitions[0].memoryReservation: must be at least 6 MiB, got 5"},
		{"reservation above limit", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 256, 'memoryReservation': 512}]}`,
			"containerDefinitions[0].memoryReservation: must be less than memory (256 MiB), got 512"},
		{"reservation equal limit", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 256, 'memoryReservation': 256}]}`,
			"containerDefinitions[0].memoryReservation: must be less than memory (256 MiB), got 256"},
		{"container above task memory", `{'family': 'f', 'memory': '512', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 1024}]}`,
			"containerDefinitions[0].memory: 1024 MiB is more than the task memory 512 MiB"},
		{"containers above task memory", `{'family': 'f', 'memory': '1 GB', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 1024, 'memoryReservation': 600}, {'name': 'b', 'image': 'x', 'memory': 500}]}`,
			"memory: the containers reserve 1100 MiB in all, more than the task memory 1024 MiB"},
		{"containers above task cpu", `{'family': 'f', 'cpu': '1 vcpu', 'memory': '2048', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'cpu': 1000}, {'name': 'b', 'image': 'x', 'cpu': 100}]}`,
			"cpu: the containers reserve 1100 CPU units in all, more than the task cpu 1024"},

		// links
		{"link outside bridge", `{'family': 'f', 'networkMode': 'host', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x', 'memory': 64, 'links': ['web']}]}`,
			"containerDefinitions[1].links: only allowed in bridge network mode, not host"},
		{"link on fargate", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '256', 'memory': '512', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x', 'links': ['web']}]}`,
			"containerDefinitions[1].links: only allowed in bridge network mode, not awsvpc"},
		{"link unknown", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x', 'memory': 64, 'links': ['web:w', 'db']}]}`,
			`containerDefinitions[1].links[1]: "db" names no container of the task`},
		{"link self", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'links': ['a:me']}]}`,
			`containerDefinitions[0].links[0]: "a" is the container itself`},
		{"link format", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x', 'memory': 64, 'links': ['web:a:b']}]}`,
			`containerDefinitions[1].links[0]: must be name or name:alias, each must be 1-255 letters, digits, underscores or hyphens, got "web:a:b"`},

		// port mappings
		{"container port missing", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'hostPort': 80}]}]}`,
			"containerDefinitions[0].portMappings[0].containerPort: must be 1-65535, got 0"},
		{"container port too big", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 65536}]}]}`,
			"containerDefinitions[0].portMappings[0].containerPort: must be 1-65535, got 65536"},
		{"protocol", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 80, 'protocol': 'sctp'}]}]}`,
			`containerDefinitions[0].portMappings[0].protocol: must be tcp or udp, got "sctp"`},
		{"bridge host port", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 80, 'hostPort': 70000}]}]}`,
			"containerDefinitions[0].portMappings[0].hostPort: must be 0 (dynamic) or 1-65535, got 70000"},
		{"awsvpc host port", `{'family': 'f', 'networkMode': 'awsvpc', 'containerDefinitions': [` + web + `, {'name': 'b', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 8080, 'hostPort': 80}]}]}`,
			"containerDefinitions[1].portMappings[0].hostPort: must equal containerPort 8080 in awsvpc mode"},
		{"host mode dynamic port", `{'family': 'f', 'networkMode': 'host', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 8080, 'hostPort': 0}]}]}`,
			"containerDefinitions[0].portMappings[0].hostPort: must equal containerPort 8080 in host mode"},
		{"none mode ports", `{'family': 'f', 'networkMode': 'none', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 80}]}]}`,
			"containerDefinitions[0].portMappings: not allowed in none network mode"},
		{"static port twice", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 80, 'hostPort': 8080}]}, {'name': 'b', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 81, 'hostPort': 8080, 'protocol': 'tcp'}]}]}`,
			"containerDefinitions[1].portMappings[0].hostPort: 8080/tcp is already used by containerDefinitions[0].portMappings[0]"},
		{"awsvpc port twice", `{'family': 'f', 'networkMode': 'awsvpc', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 53, 'protocol': 'udp'}, {'containerPort': 53, 'protocol': 'udp'}]}]}`,
			"containerDefinitions[0].portMappings[1].hostPort: 53/udp is already used by containerDefinitions[0].portMappings[0]"},
		{"port range with port", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPort': 80, 'containerPortRange': '80-90'}]}]}`,
			"containerDefinitions[0].portMappings[0].containerPort: cannot be set together with containerPortRange"},
		{"port range backwards", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'portMappings': [{'containerPortRange': '90-80'}]}]}`,
			`containerDefinitions[0].portMappings[0].containerPortRange: must be FROM-TO with 1 <= FROM < TO <= 65535, got "90-80"`},

		// volumes in containers
		{"mount unknown volume", `{'family': 'f', 'volumes': [{'name': 'data'}], 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'mountPoints': [{'sourceVolume': 'data', 'containerPath': '/d'}, {'sourceVolume': 'logs', 'containerPath': '/l'}]}]}`,
			`containerDefinitions[0].mountPoints[1].sourceVolume: "logs" names no volume of the task`},
		{"mount no volume", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'mountPoints': [{'containerPath': '/d'}]}]}`,
			"containerDefinitions[0].mountPoints[0].sourceVolume: required"},
		{"volumes from unknown", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'volumesFrom': [{'sourceContainer': 'b'}]}]}`,
			`containerDefinitions[0].volumesFrom[0].sourceContainer: "b" names no container of the task`},
		{"volumes from self", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'volumesFrom': [{'sourceContainer': 'a'}]}]}`,
			`containerDefinitions[0].volumesFrom[0].sourceContainer: "a" is the container itself`},

		// dependsOn
		{"depends on unknown", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'db', 'condition': 'START'}]}]}`,
			`containerDefinitions[0].dependsOn[0].containerName: "db" names no container of the task`},
		{"depends on nothing", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'condition': 'START'}]}]}`,
			"containerDefinitions[0].dependsOn[0].containerName: required"},
		{"depends on self", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'a', 'condition': 'START'}]}]}`,
			`containerDefinitions[0].dependsOn[0].containerName: "a" is the container itself`},
		{"condition unknown", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'web', 'condition': 'RUNNING'}]}]}`,
			`containerDefinitions[1].dependsOn[0].condition: must be START, COMPLETE, SUCCESS or HEALTHY, got "RUNNING"`},
		{"condition missing", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'web'}]}]}`,
			`containerDefinitions[1].dependsOn[0].condition: must be START, COMPLETE, SUCCESS or HEALTHY, got ""`},
		{"complete on essential", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'web', 'condition': 'COMPLETE'}]}]}`,
			`containerDefinitions[1].dependsOn[0].condition: COMPLETE cannot target essential container "web"`},
		{"success on later essential", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'init', 'condition': 'SUCCESS'}]}, {'name': 'init', 'image': 'x', 'memory': 64}]}`,
			`containerDefinitions[0].dependsOn[0].condition: SUCCESS cannot target essential container "init"`},
		{"healthy without check", `{'family': 'f', 'containerDefinitions': [` + web + `, {'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'web', 'condition': 'HEALTHY'}]}]}`,
			`containerDefinitions[1].dependsOn[0].condition: HEALTHY needs container "web" to have a healthCheck`},
		{"cycle", `{'family': 'f', 'containerDefinitions': [` + web + `,
			{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'web', 'condition': 'START'}, {'containerName': 'b', 'condition': 'START'}]},
			{'name': 'b', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'c', 'condition': 'START'}]},
			{'name': 'c', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'a', 'condition': 'START'}]}]}`,
			"containerDefinitions[1].dependsOn: dependency cycle a -> b -> c -> a"},
		{"two-cycle", `{'family': 'f', 'containerDefinitions': [
			{'name': 'a', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'b', 'condition': 'START'}]},
			{'name': 'b', 'image': 'x', 'memory': 64, 'dependsOn': [{'containerName': 'a', 'condition': 'START'}]}]}`,
			"containerDefinitions[0].dependsOn: dependency cycle a -> b -> a"},

		// timeouts
		{"stop timeout negative", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'stopTimeout': -1}]}`,
			"containerDefinitions[0].stopTimeout: must not be negative, got -1"},
		{"start timeout negative", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'startTimeout': -5}]}`,
			"containerDefinitions[0].startTimeout: must not be negative, got -5"},
		{"stop timeout fargate", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '256', 'memory': '512', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'stopTimeout': 300}]}`,
			"containerDefinitions[0].stopTimeout: must be at most 120 seconds with FARGATE, got 300"},

		// health checks
		{"health command missing", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'interval': 10}}]}`,
			"containerDefinitions[0].healthCheck.command: required"},
		{"health command form", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['curl', 'localhost']}}]}`,
			`containerDefinitions[0].healthCheck.command[0]: must be CMD or CMD-SHELL, got "curl"`},
		{"health command NONE", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['NONE']}}]}`,
			`containerDefinitions[0].healthCheck.command[0]: must be CMD or CMD-SHELL, got "NONE"`},
		{"health command empty", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['CMD-SHELL']}}]}`,
			"containerDefinitions[0].healthCheck.command: needs a command to run after CMD-SHELL"},
		{"health interval", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['CMD', 'true'], 'interval': 4}}]}`,
			"containerDefinitions[0].healthCheck.interval: must be 5-300 seconds, got 4"},
		{"health timeout", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['CMD', 'true'], 'timeout': 61}}]}`,
			"containerDefinitions[0].healthCheck.timeout: must be 2-60 seconds, got 61"},
		{"health retries", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['CMD', 'true'], 'retries': 0}}]}`,
			"containerDefinitions[0].healthCheck.retries: must be 1-10, got 0"},
		{"health start period", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'healthCheck': {'command': ['CMD', 'true'], 'startPeriod': 301}}]}`,
			"containerDefinitions[0].healthCheck.startPeriod: must be 0-300 seconds, got 301"},

		// container options
		{"log driver", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'logConfiguration': {'logDriver': 'stdout'}}]}`,
			`containerDefinitions[0].logConfiguration.logDriver: must be one of [awslogs awsfirelens fluentd gelf journald json-file splunk syslog], got "stdout"`},
		{"log driver missing", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'logConfiguration': {'options': {'k': 'v'}}}]}`,
			`containerDefinitions[0].logConfiguration.logDriver: must be one of`},
		{"firelens type", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'firelensConfiguration': {'type': 'vector'}}]}`,
			`containerDefinitions[0].firelensConfiguration.type: must be fluentbit or fluentd, got "vector"`},
		{"ulimit name", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'ulimits': [{'name': 'files', 'softLimit': 1, 'hardLimit': 2}]}]}`,
			`containerDefinitions[0].ulimits[0].name: must be one of [core cpu`},
		{"ulimit soft above hard", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'ulimits': [{'name': 'nofile', 'softLimit': 4096, 'hardLimit': 1024}]}]}`,
			"containerDefinitions[0].ulimits[0].softLimit: must not be more than hardLimit 1024, got 4096"},
		{"ephemeral storage", `{'family': 'f', 'ephemeralStorage': {'sizeInGiB': 20}, 'containerDefinitions': [` + web + `]}`,
			"ephemeralStorage.sizeInGiB: must be 21-200 GiB, got 20"},

		// placement constraints
		{"constraint type", `{'family': 'f', 'placementConstraints': [{'type': 'distinctInstance'}], 'containerDefinitions': [` + web + `]}`,
			`placementConstraints[0].type: must be memberOf, got "distinctInstance"`},
		{"constraint expression missing", `{'family': 'f', 'placementConstraints': [{'type': 'memberOf'}], 'containerDefinitions': [` + web + `]}`,
			"placementConstraints[0].expression: required"},
		{"constraint expression syntax", `{'family': 'f', 'placementConstraints': [{'type': 'memberOf', 'expression': 'attribute:ecs.os-type == linux'}, {'type': 'memberOf', 'expression': 'attribute:ecs.instance-type =='}], 'containerDefinitions': [` + web + `]}`,
			"placementConstraints[1].expression: column 31: "},
		{"too many constraints", `{'family': 'f', 'placementConstraints': [` + strings.TrimSuffix(strings.Repeat(`{'type': 'memberOf', 'expression': 'task:group == a'},`, 11), ",") + `], 'containerDefinitions': [` + web + `]}`,
			"placementConstraints: at most 10, got 11"},
		{"constraint on fargate", `{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '256', 'memory': '512', 'placementConstraints': [{'type': 'memberOf', 'expression': 'task:group == a'}], 'containerDefinitions': [` + web + `]}`,
			"placementConstraints: not supported with FARGATE"},

		// proxy configuration
		{"proxy container", `{'family': 'f', 'proxyConfiguration': {'type': 'APPMESH', 'containerName': 'envoy'}, 'containerDefinitions': [` + web + `]}`,
			`proxyConfiguration.containerName: "envoy" names no container of the task`},
		{"proxy type", `{'family': 'f', 'proxyConfiguration': {'type': 'ISTIO', 'containerName': 'web'}, 'containerDefinitions': [` + web + `]}`,
			`proxyConfiguration.type: must be APPMESH, got "ISTIO"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := decode(t, tt.doc)
			td, err := Validate(req)
			if err == nil {
				t.Fatalf("Validate succeeded with %v, want %q", td, tt.want)
			}
			// berth's own words: ECS's texts, where the message is one, are
			// checked word for word by ecsapi's wire error table.
			if own := ecserr.From(err).Own(); !strings.HasPrefix(own, tt.want) {
				t.Errorf("error\n got: %s\nwant: %s", own, tt.want)
			}
			if e := ecserr.From(err); e.Class != ecserr.InvalidArgument || ecserr.Exception(e) != ecserr.ClientException {
				t.Errorf("error class %v %s, want InvalidArgument ClientException", e.Class, ecserr.Exception(e))
			}
		})
	}
}
