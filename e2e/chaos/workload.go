package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// writer is one client writing a mix of RegisterTaskDefinition, RunTask,
// UpdateService and StopTask, and keeping what was acknowledged.
type writer struct {
	cl      *Client
	rnd     *rand.Rand
	family  string
	service string

	mu       sync.Mutex
	acks     int
	revs     []int32         // acknowledged revisions of family
	tasks    []string        // acknowledged RunTask tasks
	stopped  map[string]bool // acknowledged StopTask
	desired  int32           // the last acknowledged desiredCount
	tried    []int32         // desiredCounts sent since, unacknowledged
	maxTasks int
}

func newWriter(cl *Client, seed uint64, i int) *writer {
	return &writer{
		cl: cl, rnd: rand.New(rand.NewPCG(seed, uint64(i)+1)),
		family: fmt.Sprintf("chaos-%d", i), service: fmt.Sprintf("chaos-%d", i),
		stopped: map[string]bool{}, desired: 1, maxTasks: 12,
	}
}

func containers() []*berthv1.ContainerDefinition {
	return []*berthv1.ContainerDefinition{{Name: "app", Image: "chaos/sleep", Memory: proto.Int32(16), Command: []string{"sleep"}}}
}

// setup registers the first revision and creates the service (desiredCount
// 1), retrying until the control plane answers.
func (w *writer) setup(ctx context.Context) error {
	return poll(ctx, 2*time.Minute, func() error {
		c, cancel := context.WithTimeout(w.cl.Ctx(ctx), 10*time.Second)
		defer cancel()
		if len(w.revs) == 0 {
			res, err := w.cl.RegisterTaskDefinition(c, &berthv1.RegisterTaskDefinitionRequest{Family: w.family, ContainerDefinitions: containers()})
			if err != nil {
				return err
			}
			w.revs = append(w.revs, res.TaskDefinition.Revision)
			w.acks++
		}
		_, err := w.cl.CreateService(c, &berthv1.CreateServiceRequest{ServiceName: w.service, TaskDefinition: w.family, DesiredCount: proto.Int32(1)})
		if err == nil {
			w.acks++
		}
		return err
	})
}

// run writes until stop closes. Each write that errors is unacknowledged
// (the control plane may be gone); the writer waits a moment and goes on.
func (w *writer) run(ctx context.Context, stop <-chan struct{}, pause func() time.Duration) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := w.once(ctx); err != nil {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		} else if d := pause(); d > 0 {
			select {
			case <-stop:
				return
			case <-time.After(d):
			}
		}
	}
}

func (w *writer) live() []string {
	var out []string
	for _, t := range w.tasks {
		if !w.stopped[t] {
			out = append(out, t)
		}
	}
	return out
}

func (w *writer) once(ctx context.Context) error {
	c, cancel := context.WithTimeout(w.cl.Ctx(ctx), 20*time.Second)
	defer cancel()
	w.mu.Lock()
	live := w.live()
	op := w.rnd.IntN(100)
	switch {
	case op >= 75 || len(live) >= w.maxTasks:
		if len(live) > 0 {
			op = 80 // StopTask
		} else {
			op = 30 // RunTask
		}
	}
	var victim string
	if len(live) > 0 {
		victim = live[w.rnd.IntN(len(live))]
	}
	desired := int32(w.rnd.IntN(3))
	w.mu.Unlock()

	switch {
	case op < 25:
		res, err := w.cl.RegisterTaskDefinition(c, &berthv1.RegisterTaskDefinitionRequest{Family: w.family, ContainerDefinitions: containers()})
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.revs = append(w.revs, res.TaskDefinition.Revision)
		w.acks++
		w.mu.Unlock()
	case op < 50:
		res, err := w.cl.RunTask(c, &berthv1.RunTaskRequest{TaskDefinition: w.family, Count: 1, StartedBy: w.family})
		if err != nil {
			return err
		}
		w.mu.Lock()
		for _, t := range res.Tasks {
			w.tasks = append(w.tasks, t.TaskArn)
		}
		if len(res.Tasks) > 0 {
			w.acks++
		}
		w.mu.Unlock()
	case op < 75:
		w.mu.Lock()
		w.tried = append(w.tried, desired)
		w.mu.Unlock()
		_, err := w.cl.UpdateService(c, &berthv1.UpdateServiceRequest{Service: w.service, DesiredCount: proto.Int32(desired)})
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.desired, w.tried = desired, nil
		w.acks++
		w.mu.Unlock()
	default:
		_, err := w.cl.StopTask(c, &berthv1.StopTaskRequest{Task: victim, Reason: "chaos"})
		if err != nil {
			return err
		}
		w.mu.Lock()
		w.stopped[victim] = true
		w.acks++
		w.mu.Unlock()
	}
	return nil
}

func (w *writer) acked() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acks
}

// verify checks that every acknowledged write is in the control plane:
// each revision, each task RunTask returned, each stop, and the service's
// desiredCount (the last acknowledged, or one sent after it whose answer was
// lost with the process).
func (w *writer) verify(ctx context.Context, c *cluster, t *Tally) error {
	ctx, cancel := context.WithTimeout(w.cl.Ctx(ctx), time.Minute)
	defer cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Acked += w.acks
	for _, rev := range w.revs {
		_, err := w.cl.DescribeTaskDefinition(ctx, &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: fmt.Sprintf("%s:%d", w.family, rev)})
		if err != nil {
			t.Lost++
			t.problem("acknowledged %s:%d lost: %v", w.family, rev, err)
		}
	}
	tasks, err := c.describeTasks(ctx, w.tasks)
	if err != nil {
		return err
	}
	found := map[string]*berthv1.Task{}
	for _, task := range tasks {
		found[task.TaskArn] = task
	}
	for _, arn := range w.tasks {
		task := found[arn]
		switch {
		case task == nil:
			t.Lost++
			t.problem("acknowledged RunTask %s lost", arn)
		case w.stopped[arn] && task.DesiredStatus != "STOPPED":
			t.Lost++
			t.problem("acknowledged StopTask %s lost: desiredStatus %s", arn, task.DesiredStatus)
		}
	}
	svc, err := w.cl.DescribeServices(ctx, &berthv1.DescribeServicesRequest{Services: []string{w.service}})
	if err != nil {
		return err
	}
	if len(svc.Services) != 1 {
		t.Lost++
		t.problem("service %s lost", w.service)
		return nil
	}
	if got := svc.Services[0].GetDesiredCount(); got != w.desired && !slices.Contains(w.tried, got) {
		t.Lost++
		t.problem("service %s: desiredCount %d, acknowledged %d (unacknowledged since: %v)", w.service, got, w.desired, w.tried)
	}
	return nil
}
