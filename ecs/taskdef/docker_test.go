package taskdef

import (
	"strings"
	"testing"
)

// withContainer is a bridge task definition of one container with extra
// members (JSON, single quotes), for the Docker settings tables.
func withContainer(task, members string) string {
	if task != "" {
		task += ", "
	}
	return `{'family': 'f', ` + task + `'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, ` + members + `}]}`
}

const fargate = `'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc', 'cpu': '256', 'memory': '512'`

// TestValidateRefusesDockerSettings: what berth's agent cannot honour, and
// what Docker would refuse, is refused at registration with its field path.
func TestValidateRefusesDockerSettings(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"secrets without an execution role", withContainer("", `'secrets': [{'name': 'A', 'valueFrom': '/a'}]`),
			"When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."},
		{"secret without valueFrom", withContainer(`'executionRoleArn': 'arn:aws:iam::0:role/x'`, `'secrets': [{'name': 'A'}]`),
			"containerDefinitions[0].secrets[0].valueFrom: is required"},
		{"secret without name", withContainer(`'executionRoleArn': 'arn:aws:iam::0:role/x'`, `'secrets': [{'name': 'A', 'valueFrom': '/a'}, {'valueFrom': '/b'}]`),
			"containerDefinitions[0].secrets[1].name: is required"},
		{"environment file type", withContainer("", `'environmentFiles': [{'value': 'arn:aws:s3:::b/e.env', 'type': 'ssm'}]`),
			`containerDefinitions[0].environmentFiles[0].type: must be "s3", got "ssm"`},
		{"environment file not an ARN", withContainer("", `'environmentFiles': [{'value': 's3://b/e.env', 'type': 's3'}]`),
			`containerDefinitions[0].environmentFiles[0].value: "s3://b/e.env" is not an S3 object ARN`},
		{"environment file name", withContainer("", `'environmentFiles': [{'value': 'arn:aws:s3:::b/a.env', 'type': 's3'}, {'value': 'arn:aws:s3:::b/e.txt', 'type': 's3'}]`),
			`containerDefinitions[0].environmentFiles[1].value: "arn:aws:s3:::b/e.txt": an environment file's name must end in .env`},
		{"environment files over 10", withContainer("", `'environmentFiles': [`+strings.Repeat(`{'value': 'arn:aws:s3:::b/e.env', 'type': 's3'}, `, 10)+`{'value': 'arn:aws:s3:::b/e.env', 'type': 's3'}]`),
			"containerDefinitions[0].environmentFiles: at most 10 environment files per container, got 11"},
		{"repository credentials", withContainer("", `'repositoryCredentials': {'credentialsParameter': 'my-secret'}`),
			`containerDefinitions[0].repositoryCredentials.credentialsParameter: must be the ARN of a Secrets Manager secret, got "my-secret"`},
		{"log secret option without valueFrom", withContainer("", `'logConfiguration': {'logDriver': 'splunk', 'secretOptions': [{'name': 'splunk-token'}]}`),
			"containerDefinitions[0].logConfiguration.secretOptions[0].valueFrom: is required"},
		{"hostname awsvpc", withContainer(`'networkMode': 'awsvpc'`, `'hostname': 'h'`),
			"containerDefinitions[0].hostname: not allowed in awsvpc network mode"},
		{"dns awsvpc", withContainer(`'networkMode': 'awsvpc'`, `'dnsServers': ['10.0.0.2']`),
			"containerDefinitions[0].dnsServers: not allowed in awsvpc network mode"},
		{"extra hosts awsvpc", withContainer(`'networkMode': 'awsvpc'`, `'extraHosts': [{'hostname': 'db', 'ipAddress': '10.0.0.9'}]`),
			"containerDefinitions[0].extraHosts: not allowed in awsvpc network mode"},
		{"extra host without ip", withContainer("", `'extraHosts': [{'hostname': 'db'}]`),
			"containerDefinitions[0].extraHosts[0]: needs a hostname"},
		{"ports without network", withContainer("", `'disableNetworking': true, 'portMappings': [{'containerPort': 80}]`),
			"containerDefinitions[0].portMappings: not allowed with disableNetworking"},
		{"capability", withContainer("", `'linuxParameters': {'capabilities': {'add': ['CAP_NET_ADMIN']}}`),
			`containerDefinitions[0].linuxParameters.capabilities.add[0]: must be a Linux capability as ECS names it`},
		{"device relative", withContainer("", `'linuxParameters': {'devices': [{'hostPath': 'dev/fuse'}]}`),
			`containerDefinitions[0].linuxParameters.devices[0].hostPath: must be an absolute path, got "dev/fuse"`},
		{"device permission", withContainer("", `'linuxParameters': {'devices': [{'hostPath': '/dev/fuse', 'permissions': ['exec']}]}`),
			`containerDefinitions[0].linuxParameters.devices[0].permissions[0]: must be read, write or mknod, got "exec"`},
		{"shm with ipc host", withContainer(`'ipcMode': 'host'`, `'linuxParameters': {'sharedMemorySize': 64}`),
			"containerDefinitions[0].linuxParameters.sharedMemorySize: not allowed with ipcMode host"},
		{"tmpfs size", withContainer("", `'linuxParameters': {'tmpfs': [{'containerPath': '/run'}]}`),
			"containerDefinitions[0].linuxParameters.tmpfs[0].size: must be a positive number of MiB, got 0"},
		{"tmpfs option", withContainer("", `'linuxParameters': {'tmpfs': [{'containerPath': '/run', 'size': 8, 'mountOptions': ['huge=always']}]}`),
			`containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[0]: "huge=always" is not a tmpfs mount option`},
		{"swap without limit", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memoryReservation': 64, 'linuxParameters': {'maxSwap': 128}}]}`,
			"containerDefinitions[0].linuxParameters.maxSwap: needs a hard memory limit"},
		{"swappiness alone", withContainer("", `'linuxParameters': {'swappiness': 10}`),
			"containerDefinitions[0].linuxParameters.swappiness: needs maxSwap"},
		{"sysctl not namespaced", withContainer("", `'systemControls': [{'namespace': 'vm.swappiness', 'value': '10'}]`),
			`containerDefinitions[0].systemControls[0].namespace: must be a namespaced kernel parameter`},
		{"net sysctl in host mode", withContainer(`'networkMode': 'host'`, `'systemControls': [{'namespace': 'net.core.somaxconn', 'value': '1024'}]`),
			"containerDefinitions[0].systemControls[0].namespace: net.core.somaxconn is in the network namespace, which host network mode shares"},
		{"ipc sysctl with ipc host", withContainer(`'ipcMode': 'host'`, `'systemControls': [{'namespace': 'kernel.shmmax', 'value': '1024'}]`),
			"containerDefinitions[0].systemControls[0].namespace: kernel.shmmax is in the IPC namespace"},
		{"security option", withContainer("", `'dockerSecurityOptions': ['credentialspec:file://x.json']`),
			`containerDefinitions[0].dockerSecurityOptions[0]: must be no-new-privileges, apparmor:PROFILE, label:VALUE or seccomp:PROFILE`},
		{"inference accelerator", withContainer("", `'resourceRequirements': [{'type': 'InferenceAccelerator', 'value': 'device_1'}]`),
			`containerDefinitions[0].resourceRequirements[0].type: must be GPU`},
		{"gpu count", withContainer("", `'resourceRequirements': [{'type': 'GPU', 'value': 'two'}]`),
			`containerDefinitions[0].resourceRequirements[0].value: must be a whole number of GPUs`},
		{"privileged fargate", withContainer(fargate, `'privileged': true`),
			"containerDefinitions[0].privileged: not supported with FARGATE"},
		{"capability fargate", withContainer(fargate, `'linuxParameters': {'capabilities': {'add': ['NET_ADMIN']}}`),
			`containerDefinitions[0].linuxParameters.capabilities.add[0]: only SYS_PTRACE may be added with FARGATE, got "NET_ADMIN"`},
		{"ipc mode fargate", withContainer(fargate+`, 'ipcMode': 'task'`, ``),
			"ipcMode: not supported with FARGATE"},
		// Fargate allows pidMode task only, also when EC2 is listed beside it.
		{"pid mode host fargate", withContainer(fargate+`, 'pidMode': 'host'`, ``),
			"pidMode: must be task with FARGATE, got host"},
		{"pid mode host fargate and ec2", withContainer(strings.Replace(fargate, `['FARGATE']`, `['EC2', 'FARGATE']`, 1)+`, 'pidMode': 'host'`, ``),
			"pidMode: must be task with FARGATE, got host"},
		{"docker volume", `{'family': 'f', 'volumes': [{'name': 'v', 'dockerVolumeConfiguration': {'scope': 'task'}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].dockerVolumeConfiguration: not supported by berth"},
		{"efs without file system", `{'family': 'f', 'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'rootDirectory': '/data'}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].efsVolumeConfiguration.fileSystemId: required"},
		{"efs iam without encryption", `{'family': 'f', 'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'fileSystemId': 'fs-1', 'authorizationConfig': {'iam': 'ENABLED'}}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].efsVolumeConfiguration.authorizationConfig.iam: ENABLED needs transitEncryption ENABLED"},
		{"efs access point with a root directory", `{'family': 'f', 'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'fileSystemId': 'fs-1', 'rootDirectory': '/data', 'transitEncryption': 'ENABLED', 'authorizationConfig': {'accessPointId': 'fsap-1'}}}], 'containerDefinitions': [` + web + `]}`,
			`volumes[0].efsVolumeConfiguration.rootDirectory: must be omitted or / with an access point`},
		{"efs transit encryption", `{'family': 'f', 'volumes': [{'name': 'v', 'efsVolumeConfiguration': {'fileSystemId': 'fs-1', 'transitEncryption': 'yes'}}], 'containerDefinitions': [` + web + `]}`,
			`volumes[0].efsVolumeConfiguration.transitEncryption: must be ENABLED or DISABLED, got "yes"`},
		{"fsx volume", `{'family': 'f', 'volumes': [{'name': 'v', 'fsxWindowsFileServerVolumeConfiguration': {'fileSystemId': 'fs-1', 'rootDirectory': 'share'}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].fsxWindowsFileServerVolumeConfiguration: not supported by berth"},
		{"s3 files volume", `{'family': 'f', 'volumes': [{'name': 'v', 's3filesVolumeConfiguration': {'fileSystemArn': 'arn:x'}}], 'containerDefinitions': [` + web + `]}`,
			"volumes[0].s3filesVolumeConfiguration: not supported by berth"},
		{"restart policy", withContainer(``, `'restartPolicy': {'enabled': true}`),
			"containerDefinitions[0].restartPolicy.enabled: not supported by berth yet"},
		{"volumesFrom cycle", `{'family': 'f', 'containerDefinitions': [{'name': 'a', 'image': 'x', 'memory': 64, 'volumesFrom': [{'sourceContainer': 'b'}]},
			{'name': 'b', 'image': 'x', 'memory': 64, 'links': ['a']}]}`,
			"containerDefinitions[0].volumesFrom: dependency cycle a -> b -> a"},
		{"host volume relative", `{'family': 'f', 'volumes': [{'name': 'v', 'host': {'sourcePath': 'data'}}], 'containerDefinitions': [` + web + `]}`,
			`volumes[0].host.sourcePath: must be an absolute path, got "data"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(tt.doc, `, }`, `}`, 1)
			_, err := Validate(decode(t, doc))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
}

// TestValidateAcceptsDockerSettings: the settings berth honours register.
func TestValidateAcceptsDockerSettings(t *testing.T) {
	doc := withContainer(`'pidMode': 'task', 'ipcMode': 'none'`, `'hostname': 'app', 'dnsServers': ['10.0.0.2'],
		'dnsSearchDomains': ['corp'], 'extraHosts': [{'hostname': 'db', 'ipAddress': '10.0.0.9'}],
		'privileged': true, 'readonlyRootFilesystem': true, 'interactive': true, 'pseudoTerminal': true,
		'dockerSecurityOptions': ['no-new-privileges', 'apparmor:docker-default'], 'startTimeout': 60,
		'systemControls': [{'namespace': 'net.ipv4.tcp_keepalive_time', 'value': '60'}, {'namespace': 'kernel.shmmax', 'value': '1024'}],
		'logConfiguration': {'logDriver': 'json-file', 'options': {'max-size': '10m'}},
		'resourceRequirements': [{'type': 'GPU', 'value': '1'}],
		'linuxParameters': {'capabilities': {'add': ['NET_ADMIN'], 'drop': ['ALL']}, 'initProcessEnabled': true,
			'devices': [{'hostPath': '/dev/fuse', 'permissions': ['read', 'write']}],
			'tmpfs': [{'containerPath': '/run', 'size': 16, 'mountOptions': ['noexec', 'mode=1777']}],
			'maxSwap': 128, 'swappiness': 10}`)
	if _, err := Validate(decode(t, doc)); err != nil {
		t.Fatal(err)
	}
}
