package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input of every kind is one line on stderr and a non-zero exit: 2 when
// berth was called wrong, 1 when a file or the server says no.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	malformed := filepath.Join(dir, "malformed.json")
	if err := os.WriteFile(malformed, []byte(`{"family": "web", "containerDefinitions": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"run-task", "--task-definition", "web", "--bogus"}, 2, "unknown flag: --bogus"},
		{"unknown command", []string{"run-tasks"}, 2, `unknown command "run-tasks" for "berth"; Did you mean this?; run-task`},
		{"missing required flag", []string{"update-service", "--desired-count", "2"}, 2, "the following arguments are required: --service"},
		{"missing required flags", []string{"register-task-definition"}, 2, "required: --family, --container-definitions"},
		{"not an integer", []string{"run-task", "--task-definition", "web", "--count", "two"}, 2, `--count: "two" is not an integer`},
		{"bad shorthand", []string{"run-task", "--task-definition", "web", "--placement-strategy", "spread"}, 2, `--placement-strategy: "spread": want key=value`},
		{"unknown shorthand member", []string{"run-task", "--task-definition", "web", "--placement-strategy", "kind=spread"}, 2, "--placement-strategy: kind: unknown field"},
		{"bad output", []string{"list-clusters", "--output", "yaml"}, 2, `--output: "yaml" is not one of json, table, text`},
		{"stray argument", []string{"list-clusters", "extra"}, 2, `unexpected argument "extra"`},
		{"missing file", []string{"register-task-definition", "--cli-input-json", "file://" + filepath.Join(dir, "nosuch.json")}, 1,
			"--cli-input-json: open " + filepath.Join(dir, "nosuch.json") + ": no such file or directory"},
		{"malformed JSON", []string{"register-task-definition", "--cli-input-json", "file://" + malformed}, 1, "--cli-input-json " + malformed + ": "},
		{"unknown JSON member", []string{"register-task-definition", "--cli-input-json", "file://" + taskdefs + "aws__amazon-ecs-agent__nginx__task-definition.json"}, 1,
			"aws__amazon-ecs-agent__nginx__task-definition.json: containerDefinitions[0].portBindings: unknown field"},
		{"inline JSON of the wrong shape", []string{"run-task", "--cli-input-json", `{"taskDefinition": "web", "count": "many"}`}, 1, "--cli-input-json (inline JSON): count"},
		{"server: invalid argument", []string{"register-task-definition", "--family", "web", "--container-definitions", `{"name":"web","image":"busybox","memory":128,"portMappings":[{"containerPort":80,"hostPort":81}]}`, "--network-mode", "awsvpc"}, 1,
			"containerDefinitions[0].portMappings[0].hostPort"},
		{"server: not found", []string{"describe-task-definition", "--task-definition", "nosuch:1"}, 1, "nosuch"},
		{"server: no such cluster", []string{"list-services", "--cluster", "nosuch"}, 1, "nosuch"},
		// ECS's text word for word, and berth's own words beside it.
		{"server: ECS's text and berth's", []string{"describe-task-definition", "--task-definition", "nosuch:1"}, 1,
			"berth: Unable to describe task definition. (taskDefinition: nosuch:1 does not exist)"},
		{"server: ECS's text and the field", []string{"register-task-definition", "--family", "web", "--container-definitions", `{"image":"busybox","memory":128}`}, 1,
			"berth: Container.name should not be null or empty. (containerDefinitions[0].name: required)"},
		{"wait without services", []string{"wait", "services-stable"}, 2, "required: --services"},
		{"wait without a condition", []string{"wait"}, 2, "wait takes a condition: services-stable"},
		{"logs without a task", []string{"logs"}, 2, "logs takes one task ID or ARN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.berth(c.args...)
			r.fails(t, c.code, c.want)
			if r.stdout != "" {
				t.Errorf("stdout: %q, want nothing", r.stdout)
			}
		})
	}
}

// The token comes from --token, --token-file, --data-dir or BERTH_TOKEN;
// without one the server's refusal says how to give it.
func TestToken(t *testing.T) {
	e := newEnv(t)
	delete(e.vars, "BERTH_TOKEN")
	e.berth("list-clusters").fails(t, 1, "(give the admin token: --token, BERTH_TOKEN, --token-file or --data-dir)")
	e.ok(t, "list-clusters", "--data-dir", e.dataDir)
	e.ok(t, "list-clusters", "--token-file", filepath.Join(e.dataDir, "admin.token"))
	e.ok(t, "list-clusters", "--token", e.CP.AdminToken())
	e.berth("list-clusters", "--token", "wrong").fails(t, 1, "")
	e.berth("list-clusters", "--token-file", filepath.Join(e.dataDir, "nosuch")).fails(t, 1, "reading the token")

	e.vars["BERTH_TOKEN"] = e.CP.AdminToken()
	e.berth("list-clusters", "--endpoint", "127.0.0.1:1").fails(t, 1, "control plane at 127.0.0.1:1 unavailable")
}

func TestCompletion(t *testing.T) {
	e := newEnv(t)
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := e.ok(t, "completion", shell); !strings.Contains(out, "berth") || len(out) < 1000 {
			t.Errorf("completion %s: %d bytes", shell, len(out))
		}
	}
}
