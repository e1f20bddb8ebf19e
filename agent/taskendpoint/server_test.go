package taskendpoint

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Config{AvailabilityZone: "us-east-1a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sdkCredentials reads credentials as an AWS SDK in a container does: the
// default chain of aws-sdk-go-v2 with nothing but env.
func sdkCredentials(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return "", err
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	// The SDK's credential cache moves the expiry up by its own window (a few minutes).
	return c.AccessKeyID + "/" + c.SecretAccessKey + "/" + c.SessionToken + "/" + c.Expires.UTC().Format("2006-01-02"), nil
}

// TestCredentialsThroughTheSDKDefaultChain: the SDK's default chain reads the
// task's credentials unchanged, then the renewed ones; a wrong or missing
// token gets 403 with the body SDKs read; a stopped task's are gone.
func TestCredentialsThroughTheSDKDefaultChain(t *testing.T) {
	s := newServer(t)
	a := testAssignment(testTaskARN, "host")
	env := s.Environment(a, "app")
	if !strings.HasPrefix(env[EnvCredentialsFullURI], s.URL()+"/v2/credentials/") || env[EnvAuthorizationToken] == "" {
		t.Fatalf("environment: %v", env)
	}
	got, err := sdkCredentials(t, env)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ASIAEXAMPLE/secret/session/2030-01-02"; got != want {
		t.Errorf("credentials: got %s, want %s", got, want)
	}
	code, body := get(t, env[EnvCredentialsFullURI], env[EnvAuthorizationToken])
	var cr map[string]any
	if err := json.Unmarshal(body, &cr); code != 200 || err != nil || cr["RoleArn"] != "arn:aws:iam::000000000000:role/web" || len(cr) != 5 {
		t.Errorf("credentials response %d: %s", code, body)
	}

	renewed := &berthv1.RoleCredentials{RoleArn: "arn:aws:iam::000000000000:role/web", AccessKeyId: "ASIARENEWED",
		SecretAccessKey: "secret2", SessionToken: "session2", Expiration: float64(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC).Unix())}
	if !s.Credentials(&berthv1.TaskCredentials{TaskArn: testTaskARN, TaskRoleCredentials: renewed}) {
		t.Fatal("renewal refused")
	}
	if got, err := sdkCredentials(t, env); err != nil || got != "ASIARENEWED/secret2/session2/2030-01-02" {
		t.Errorf("renewed credentials: %s %v", got, err)
	}

	for _, token := range []string{"", "wrong"} {
		code, body := get(t, env[EnvCredentialsFullURI], token)
		var e errorResponse
		if err := json.Unmarshal(body, &e); code != http.StatusForbidden || err != nil || e.Code == "" || e.Message == "" {
			t.Errorf("token %q: %d %s", token, code, body)
		}
	}
	wrong := map[string]string{EnvCredentialsFullURI: env[EnvCredentialsFullURI], EnvAuthorizationToken: "wrong"}
	if _, err := sdkCredentials(t, wrong); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("the SDK with a wrong token: %v", err)
	}

	s.TaskChanged(a, &berthv1.TaskStateChange{TaskArn: testTaskARN, LastStatus: "STOPPED"})
	if code, body := get(t, env[EnvCredentialsFullURI], env[EnvAuthorizationToken]); code != http.StatusBadRequest {
		t.Errorf("a stopped task's credentials: %d %s", code, body)
	}
	if s.Credentials(&berthv1.TaskCredentials{TaskArn: testTaskARN, TaskRoleCredentials: renewed}) {
		t.Error("a stopped task's credentials were renewed")
	}
	// Its metadata stays until the engine forgets it, as the ECS agent keeps it.
	if code, _ := get(t, env[EnvMetadataV4]+"/task", ""); code != 200 {
		t.Errorf("a stopped task's metadata: %d", code)
	}
	s.TaskGone(testTaskARN)
	if code, _ := get(t, env[EnvMetadataV4]+"/task", ""); code != http.StatusNotFound {
		t.Errorf("a forgotten task's metadata: %d", code)
	}
}

// TestNoRoleNoCredentials: a task without a role gets no credentials
// variables.
func TestNoRoleNoCredentials(t *testing.T) {
	s := newServer(t)
	a := testAssignment(testTaskARN, "host")
	a.TaskRoleCredentials = nil
	env := s.Environment(a, "app")
	if _, ok := env[EnvCredentialsFullURI]; ok || env[EnvMetadataV4] == "" || env[EnvMetadataV3] == "" {
		t.Errorf("environment: %v", env)
	}
}

// TestMetadataPaths serves every v4 and v3 path of two tasks on the shared
// listener; a task's own listener refuses the other's ids as the ECS agent
// refuses an unknown one.
func TestMetadataPaths(t *testing.T) {
	s := newServer(t)
	other := "arn:aws:ecs:us-east-1:000000000000:task/default/fedcba9876543210"
	a, b := testAssignment(testTaskARN, "host"), testAssignment(other, "host")
	envA, envB := s.Environment(a, "app"), s.Environment(b, "app")
	s.Environment(a, "side")
	s.TaskChanged(a, testStateChange(testTaskARN))
	s.TaskChanged(b, testStateChange(other))
	if err := s.ContainerStarted(context.Background(), testTaskARN, "app", runtime.ContainerState{ID: "c0ffee", Name: "ecs-web-3-app"}); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{envA[EnvMetadataV4], envA[EnvMetadataV3]} {
		code, body := get(t, uri, "")
		var c ContainerResponse
		if err := json.Unmarshal(body, &c); code != 200 || err != nil || c.Name != "app" || c.DockerName != "ecs-web-3-app" {
			t.Errorf("%s: %d %s", uri, code, body)
		}
		code, body = get(t, uri+"/task", "")
		var tr TaskResponse
		if err := json.Unmarshal(body, &tr); code != 200 || err != nil || tr.TaskARN != testTaskARN || len(tr.Containers) != 2 {
			t.Errorf("%s/task: %d %s", uri, code, body)
		}
		code, body = get(t, uri+"/stats", "")
		var st map[string]any
		if err := json.Unmarshal(body, &st); code != 200 || err != nil || st["id"] != "c0ffee" {
			t.Errorf("%s/stats: %d %s", uri, code, body)
		}
		code, body = get(t, uri+"/task/stats", "")
		var ts map[string]json.RawMessage
		if err := json.Unmarshal(body, &ts); code != 200 || err != nil || len(ts) != 2 {
			t.Errorf("%s/task/stats: %d %s", uri, code, body)
		}
	}
	if code, body := get(t, envB[EnvMetadataV4]+"/task", ""); code != 200 || !strings.Contains(string(body), other) {
		t.Errorf("the other task on the shared listener: %d %s", code, body)
	}
	if code, _ := get(t, s.URL()+"/v4/0000/task", ""); code != http.StatusNotFound {
		t.Errorf("an unknown id: %d", code)
	}

	// A's own listener (as in its network namespace) refuses B's ids.
	s.mu.Lock()
	own := &handler{s: s, task: s.tasks[testTaskARN]}
	s.mu.Unlock()
	idB := envB[EnvMetadataV4][strings.LastIndex(envB[EnvMetadataV4], "/")+1:]
	idA := envA[EnvMetadataV4][strings.LastIndex(envA[EnvMetadataV4], "/")+1:]
	for path, want := range map[string]int{"/v4/" + idB + "/task": 404, "/v4/" + idB: 404, "/v3/" + idB + "/task": 404, "/v4/" + idA + "/task": 200} {
		rec := httptest.NewRecorder()
		own.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			t.Errorf("task A's listener, %s: %d, want %d (%s)", path, rec.Code, want, rec.Body)
		}
	}
	credB := envB[EnvCredentialsFullURI][strings.Index(envB[EnvCredentialsFullURI], "/v2/"):]
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, credB, nil)
	req.Header.Set("Authorization", envB[EnvAuthorizationToken])
	own.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest {
		t.Errorf("task A's listener gave task B's credentials: %d", rec.Code)
	}
}

// TestForwarderKeepsTheSignedHost: the forwarder to the front door passes a
// request on as it came, Host header included (SigV4 signs it).
func TestForwarderKeepsTheSignedHost(t *testing.T) {
	var gotHost, gotPath, gotTarget string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotPath, gotTarget = r.Host, r.URL.Path, r.Header.Get("X-Amz-Target")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer up.Close()
	s := newServer(t)
	a := testAssignment(testTaskARN, "bridge")
	a.AwsEndpointUrl = up.URL
	s.cfg.Namespaces = true
	target := s.forwards(a)
	if target == nil {
		t.Fatal("a bridge task with a loopback front door is not forwarded")
	}
	if env := s.Environment(a, "app"); env[EnvEndpointURL] != "http://127.0.0.1:51678" {
		t.Errorf("AWS_ENDPOINT_URL = %q", env[EnvEndpointURL])
	}
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:51678/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeTasks")
	rec := httptest.NewRecorder()
	s.forwarder(target).ServeHTTP(rec, req)
	if rec.Code != http.StatusTeapot || gotHost != "127.0.0.1:51678" || gotPath != "/" || gotTarget == "" {
		t.Errorf("forwarded: %d, host %q, path %q, target %q", rec.Code, gotHost, gotPath, gotTarget)
	}
	a.AwsEndpointUrl = "https://berth.example.com"
	if s.forwards(a) != nil {
		t.Error("a front door off loopback is forwarded")
	}
}

// TestIdsOutliveTheServer: a server with the same key (a restarted agent)
// gives a task's containers the same URIs and token.
func TestIdsOutliveTheServer(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := testAssignment(testTaskARN, "host")
	env := func(k []byte) map[string]string {
		s, err := New(Config{Key: k, Addr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		e := s.Environment(a, "app")
		for _, v := range []string{EnvMetadataV4, EnvMetadataV3, EnvCredentialsFullURI} { // the port is the listener's
			e[v] = e[v][strings.Index(e[v][len("http://"):], "/")+len("http://"):]
		}
		return e
	}
	first, again, other := env(key), env(key), env([]byte("another key"))
	for _, v := range []string{EnvMetadataV4, EnvCredentialsFullURI, EnvAuthorizationToken} {
		if first[v] != again[v] || first[v] == other[v] {
			t.Errorf("%s: %q, then %q with the same key, %q with another", v, first[v], again[v], other[v])
		}
	}
}

// TestMetadataTaskWithTags: ${URI}/taskWithTags (v4 and v3) is /task with the
// task's tags as TaskTags, as the ECS agent serves it; /task has none, and
// berth's agent has no instance tags to give (ContainerInstanceTags absent).
func TestMetadataTaskWithTags(t *testing.T) {
	s := newServer(t)
	a := testAssignment(testTaskARN, "host")
	a.Task.Tags = []*berthv1.Tag{{Key: "team", Value: "web"}, {Key: "env", Value: ""}}
	env := s.Environment(a, "app")
	s.TaskChanged(a, testStateChange(testTaskARN))
	for _, uri := range []string{env[EnvMetadataV4], env[EnvMetadataV3]} {
		code, body := get(t, uri+"/taskWithTags", "")
		var tr map[string]json.RawMessage
		if err := json.Unmarshal(body, &tr); code != 200 || err != nil {
			t.Fatalf("%s/taskWithTags: %d %s", uri, code, body)
		}
		var tags map[string]string
		if err := json.Unmarshal(tr["TaskTags"], &tags); err != nil || len(tags) != 2 || tags["team"] != "web" || tags["env"] != "" {
			t.Errorf("%s/taskWithTags: TaskTags %s", uri, tr["TaskTags"])
		}
		if _, ok := tr["ContainerInstanceTags"]; ok {
			t.Errorf("%s/taskWithTags: ContainerInstanceTags %s", uri, tr["ContainerInstanceTags"])
		}
		if string(tr["TaskARN"]) != `"`+testTaskARN+`"` || len(tr["Containers"]) < 10 {
			t.Errorf("%s/taskWithTags is not /task's response: %s", uri, body)
		}
		if _, body := get(t, uri+"/task", ""); strings.Contains(string(body), "TaskTags") {
			t.Errorf("%s/task shows TaskTags: %s", uri, body)
		}
	}
}
