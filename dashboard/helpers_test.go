package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/internal/cptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a control plane with hollow agents, its dashboard's base URL and
// the instances the dashboard's "add instance" control started.
type env struct {
	*cptest.Cluster
	base  string
	token string

	mu    sync.Mutex
	added []string // "zone/type"
}

// start runs a control plane whose AddInstance hook starts a cptest agent
// of the named size, and n agents in zones a, b, c, ... of type m5.large.
func start(t testing.TB, n int, size dashboard.InstanceType) *env {
	t.Helper()
	e := &env{}
	var hookT = t
	c := cptest.Start(t, controlplane.Config{
		DashboardPublic: true, // these tests read the data; the control plane's tests check its guard
		AddInstance: func(ctx context.Context, cluster, zone, instanceType string) error {
			it, _ := dashboard.InstanceTypeNamed(instanceType)
			e.StartAgent(hookT, agent.Config{Cluster: cluster, AvailabilityZone: zone, InstanceType: instanceType, CPU: it.CPU, Memory: it.Memory})
			e.mu.Lock()
			e.added = append(e.added, zone+"/"+instanceType)
			e.mu.Unlock()
			return nil
		},
	})
	e.Cluster = c
	e.base = "http://" + c.CP.HTTPAddr()
	e.token = c.CP.AdminToken()
	for i := range n {
		zone := "us-east-1" + string(rune('a'+i%3))
		c.StartAgent(t, agent.Config{AvailabilityZone: zone, InstanceType: size.Name, CPU: size.CPU, Memory: size.Memory})
	}
	if n > 0 {
		c.WaitInstances(t, n)
	}
	return e
}

// service registers a task definition of cpu units and MiB (one container,
// port 80 on a dynamic host port) and creates a service of it.
func (e *env) service(t testing.TB, name string, cpu, memory, count int32, strategy ...*berthv1.PlacementStrategy) {
	t.Helper()
	td, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: name,
		ContainerDefinitions: []*berthv1.ContainerDefinition{{
			Name: "app", Image: "berth/" + name, Cpu: cpu, Memory: proto.Int32(memory),
			PortMappings: []*berthv1.PortMapping{{ContainerPort: 80}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ECS.CreateService(e.Ctx, &berthv1.CreateServiceRequest{
		ServiceName: name, TaskDefinition: td.TaskDefinition.Family, DesiredCount: proto.Int32(count), PlacementStrategy: strategy,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// state reads the dashboard's snapshot.
func (e *env) state(t testing.TB, cluster string) *dashboard.State {
	t.Helper()
	var st dashboard.State
	code := e.get(t, "/dashboard/api/state?cluster="+cluster, &st)
	if code != http.StatusOK {
		t.Fatalf("state: HTTP %d", code)
	}
	return &st
}

func (e *env) get(t testing.TB, path string, out any) int {
	t.Helper()
	res, err := http.Get(e.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res.StatusCode
}

// post calls a control with the token ("" for none) and decodes the answer.
func (e *env) post(t testing.TB, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("POST %s: not JSON: %q", path, b)
		}
	}
	return res.StatusCode, out
}

// sse reads server-sent events.
type sse struct {
	res    *http.Response
	cancel context.CancelFunc
	events chan sseEvent
}

type sseEvent struct {
	name string
	data []byte
}

func (e *env) stream(t testing.TB, cluster string) *sse {
	t.Helper()
	return openStream(t, e.base, cluster)
}

func openStream(t testing.TB, base, cluster string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/dashboard/api/events?cluster="+cluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("events: HTTP %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sse{res: res, cancel: cancel, events: make(chan sseEvent, 1024)}
	go func() {
		defer close(s.events)
		r := bufio.NewReader(res.Body)
		var ev sseEvent
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			line = bytes.TrimRight(line, "\n")
			switch {
			case len(line) == 0:
				if ev.name != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case bytes.HasPrefix(line, []byte("event: ")):
				ev.name = string(line[len("event: "):])
			case bytes.HasPrefix(line, []byte("data: ")):
				ev.data = append([]byte(nil), line[len("data: "):]...)
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sse) close() {
	s.cancel()
	s.res.Body.Close()
	for range s.events {
	}
}

// next is the next event, failing t after d.
func (s *sse) next(t testing.TB, d time.Duration) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
		return sseEvent{}, false
	}
}

// StartAgentSized starts the i-th of many small agents (zones a, b, c).
func (e *env) StartAgentSized(t testing.TB, i int, size dashboard.InstanceType) {
	t.Helper()
	zone := "us-east-1" + string(rune('a'+i%3))
	e.StartAgent(t, agent.Config{AvailabilityZone: zone, InstanceType: size.Name, CPU: size.CPU, Memory: size.Memory})
}
