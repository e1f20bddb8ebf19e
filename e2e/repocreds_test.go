package e2e

import (
	"crypto/subtle"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
)

// privateRegistry is a registry apart from berth's (go-containerregistry's,
// in memory) that answers only Basic user:password, on loopback.
func privateRegistry(t *testing.T, user, password string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestTaskPullsWithRepositoryCredentials: an image that is only in a
// private registry (not berth's) runs as an ECS task whose container's
// repositoryCredentials names a Secrets Manager secret holding the
// registry's username and password; a secret that does not exist, or one
// without a password, stops the task before any container starts with
// ECS's ResourceInitializationError naming the secret.
func TestTaskPullsWithRepositoryCredentials(t *testing.T) {
	t.Parallel()
	img := testimage.Image(t)
	s := newStack(t, controlplane.Config{})
	addr := privateRegistry(t, "puller", "s3cret-pw")

	// Push the image with the docker CLI, logged in with its own config dir.
	cfgDir := t.TempDir()
	docker := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("docker", append([]string{"--config", cfgDir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	name := addr + "/private/app:v1"
	docker("s3cret-pw", "login", "--username", "puller", "--password-stdin", addr)
	testimage.Tag(t, img, name)
	dockertest.RemoveImageOnCleanup(t, s.docker, name)
	docker("", "push", name)
	docker("", "rmi", name) // the agent's Docker no longer has it

	sm := berthv1.NewSecretsManagerClient(s.Dial(t))
	secret := func(name, value string) string {
		t.Helper()
		out, err := sm.CreateSecret(s.Ctx, &berthv1.CreateSecretRequest{Name: name, SecretString: &value})
		if err != nil {
			t.Fatal(err)
		}
		return out.GetArn()
	}
	good := secret("registry/private", `{"username":"puller","password":"s3cret-pw"}`)
	bad := secret("registry/nopassword", `{"username":"puller"}`)
	missing := strings.Replace(good, "registry/private", "registry/gone", 1)

	s.startDockerAgent(t, agent.Config{DataDir: t.TempDir()})
	s.connected(t)
	run := func(family, param string) string {
		t.Helper()
		td := sleepTaskDefinition(name)
		td.Family = family
		td.ContainerDefinitions[0].RepositoryCredentials = &berthv1.RepositoryCredentials{CredentialsParameter: param}
		return s.runTask(t, s.register(t, td))
	}

	arn := run("private-good", good)
	task := s.waitTask(t, arn, "RUNNING or STOPPED", func(task *berthv1.Task) bool {
		return task.GetLastStatus() == engine.StatusRunning || task.GetLastStatus() == engine.StatusStopped
	})
	if task.GetLastStatus() != engine.StatusRunning {
		t.Fatalf("the task stopped: %s / %s", task.GetStoppedReason(), containerOf(t, task, "app").GetReason())
	}
	if d := containerOf(t, task, "app").GetImageDigest(); !strings.HasPrefix(d, "sha256:") {
		t.Errorf("imageDigest %q", d)
	}
	s.stopTask(t, arn, "test over")
	s.waitStatus(t, arn, engine.StatusStopped)

	for _, tc := range []struct{ family, param, want string }{
		{"private-missing", missing, missing},
		{"private-bad", bad, "has no password"},
	} {
		arn := run(tc.family, tc.param)
		task := s.waitStatus(t, arn, engine.StatusStopped)
		r := task.GetStoppedReason()
		if !strings.HasPrefix(r, "ResourceInitializationError: unable to pull secrets or registry auth: ") ||
			!strings.Contains(r, tc.param) || !strings.Contains(r, tc.want) {
			t.Errorf("%s: stoppedReason %q, want ResourceInitializationError naming %s and %q", tc.family, r, tc.param, tc.want)
		}
		if strings.Contains(r, "s3cret-pw") {
			t.Errorf("%s: stoppedReason %q shows the password", tc.family, r)
		}
		if task.GetStopCode() != engine.StopCodeTaskFailedToStart {
			t.Errorf("%s: stopCode %q", tc.family, task.GetStopCode())
		}
		if c := containerOf(t, task, "app"); c.GetRuntimeId() != "" {
			t.Errorf("%s: container %s was created", tc.family, c.GetRuntimeId())
		}
	}
}
