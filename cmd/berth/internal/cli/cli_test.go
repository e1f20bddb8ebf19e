package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/cmd/berth/internal/cli"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/testimage"
)

// TestMain removes the test images (exec's Docker test builds one), then
// checks that no goroutine outlived the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testimage.Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// taskdefs holds the ECS task definitions collected from public repositories,
// in the shared folder beside the repository.
const taskdefs = "../../../../../shared/testdata/ecs-taskdefs/"

// env is a control plane with quick service resyncs, hollow agents in the
// given zones (4096 CPU units, 8192 MiB each), and the CLI pointed at it.
type env struct {
	*cptest.Cluster
	dataDir string
	// vars is the CLI's environment: BERTH_ENDPOINT and BERTH_TOKEN.
	vars map[string]string
}

func newEnv(t *testing.T, zones ...string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{Cluster: cptest.Start(t, controlplane.Config{
		DataDir: dir, HeartbeatPeriod: 200 * time.Millisecond, ServiceResync: 100 * time.Millisecond, HealthGrace: 300 * time.Millisecond,
	}), dataDir: dir}
	e.vars = map[string]string{"BERTH_ENDPOINT": e.CP.GRPCAddr(), "BERTH_TOKEN": e.CP.AdminToken()}
	for _, az := range zones {
		e.StartAgent(t, agent.Config{AvailabilityZone: az, InstanceType: "m5.large"})
	}
	if len(zones) > 0 {
		e.WaitInstances(t, len(zones))
	}
	return e
}

// result is what one run of the CLI printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// berth runs the CLI in-process with args.
func (e *env) berth(args ...string) result {
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return e.vars[k] }})
	return result{out.String(), errOut.String(), code}
}

// ok runs the CLI and fails t unless it exits 0.
func (e *env) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := e.berth(args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("berth %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// decode runs the CLI and decodes its JSON output into m, strictly.
func (e *env) decode(t *testing.T, m proto.Message, args ...string) {
	t.Helper()
	out := e.ok(t, args...)
	if err := protojson.Unmarshal([]byte(out), m); err != nil {
		t.Fatalf("berth %s: output is not a %T: %v\n%s", strings.Join(args, " "), m, err, out)
	}
}

// fails checks that a run failed with one line on stderr naming want.
func (r result) fails(t *testing.T, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "berth: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line \"berth: ...\": %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not say %q", r.stderr, want)
	}
}

// regexpLine says whether a line of text matches the regular expression.
func regexpLine(text, expr string) bool {
	return regexp.MustCompile(`(?m)` + expr).MatchString(text)
}
