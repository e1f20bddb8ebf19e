package controlplane

import (
	"context"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/secretref"
)

// TestEndpointURL: the configured URL, else the HTTP address, with a
// wildcard address as loopback.
func TestEndpointURL(t *testing.T) {
	for _, tc := range []struct {
		cfg        Config
		addr, want string
	}{
		{Config{}, "127.0.0.1:7480", "http://127.0.0.1:7480"},
		{Config{}, "0.0.0.0:7480", "http://127.0.0.1:7480"},
		{Config{}, "[::]:7480", "http://127.0.0.1:7480"},
		{Config{}, "10.1.2.3:80", "http://10.1.2.3:80"},
		{Config{AWSEndpointURL: "https://berth.example:443"}, "0.0.0.0:7480", "https://berth.example:443"},
	} {
		if got := endpointURL(tc.cfg, tc.addr); got != tc.want {
			t.Errorf("endpointURL(%q, %q) = %q, want %q", tc.cfg.AWSEndpointURL, tc.addr, got, tc.want)
		}
	}
}

// fakeSource holds values by reference.
type fakeSource map[string]string

func (f fakeSource) Resolve(_ context.Context, ref string) (string, error) {
	if v, ok := f[ref]; ok {
		return v, nil
	}
	return "", apierr.New(apierr.NotFound, "", "%s not found", ref)
}

// TestResolveSecrets: every container's secrets and secret log options by
// name; the first reference that cannot be had is ECS's reason naming the
// container and the reference, never a value.
func TestResolveSecrets(t *testing.T) {
	r := secretref.Resolver{ARNs: arn.Default,
		SSM:            fakeSource{"/a": "value-a", "arn:aws:ssm:us-east-1:000000000000:parameter/b": "vb"},
		SecretsManager: fakeSource{"arn:aws:secretsmanager:us-east-1:000000000000:secret:s-AbCdEf:k::": "vs"}}
	sec := func(name, from string) *berthv1.Secret { return &berthv1.Secret{Name: name, ValueFrom: from} }
	td := &berthv1.TaskDefinition{ContainerDefinitions: []*berthv1.ContainerDefinition{
		{Name: "web", Secrets: []*berthv1.Secret{sec("A", "/a"), sec("B", "arn:aws:ssm:us-east-1:000000000000:parameter/b")},
			LogConfiguration: &berthv1.LogConfiguration{SecretOptions: []*berthv1.Secret{sec("token", "arn:aws:secretsmanager:us-east-1:000000000000:secret:s-AbCdEf:k::")}}},
		{Name: "plain"},
	}}
	got, err := resolveSecrets(context.Background(), r, td)
	if err != nil || len(got) != 1 {
		t.Fatalf("resolveSecrets = %v, %v", got, err)
	}
	if got[0].ContainerName != "web" || got[0].Environment["A"] != "value-a" || got[0].Environment["B"] != "vb" || got[0].LogOptions["token"] != "vs" {
		t.Errorf("web's secrets: %v", got[0])
	}
	for _, tc := range []struct{ from, want string }{
		{"/missing", "unable to retrieve secrets from ssm: container web: invalid parameters: /missing"},
		{"arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-AbCdEf", "unable to retrieve secret from asm: container web: failed to fetch secret arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-AbCdEf"},
		{"arn:aws:ssm:eu-west-1:000000000000:parameter/b", "container web: secret X: valueFrom: arn:aws:ssm:eu-west-1:000000000000:parameter/b is of region"},
	} {
		bad := &berthv1.TaskDefinition{ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "web", Secrets: []*berthv1.Secret{sec("A", "/a"), sec("X", tc.from)}}}}
		_, err := resolveSecrets(context.Background(), r, bad)
		if err == nil || !strings.HasPrefix(err.Error(), ResourceInitPrefix) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "value-a") {
			t.Errorf("%s: %v, want ECS's reason with %q", tc.from, err, tc.want)
		}
	}
}

// TestTaskRole: RunTask's override wins over the task definition's role.
func TestTaskRole(t *testing.T) {
	td := &berthv1.TaskDefinition{TaskRoleArn: "td-role", ExecutionRoleArn: "td-exec"}
	if got := TaskRole(&berthv1.Task{}, td); got != "td-role" {
		t.Errorf("TaskRole = %q", got)
	}
	task := &berthv1.Task{Overrides: &berthv1.TaskOverride{TaskRoleArn: "o-role", ExecutionRoleArn: "o-exec"}}
	if TaskRole(task, td) != "o-role" || ExecutionRole(task, td) != "o-exec" || ExecutionRole(&berthv1.Task{}, td) != "td-exec" {
		t.Error("overrides do not win")
	}
}
