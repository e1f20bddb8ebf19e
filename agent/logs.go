package agent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	rt "github.com/berth/berth/agent/runtime"
)

// internalPrefix starts the names of containers the agent adds to a task (the
// awsvpc pause container), whose output is not the task's.
const internalPrefix = "~internal~"

// logs answers a LogsRequest: it finds the task's containers by their labels
// and sends their output, one container after another, or all at once when
// following (each until it exits). The control plane has checked the
// container's name against the task; here it may still have no container yet.
func (a *agentRun) logs(ctx context.Context, req *berthv1.LogsRequest, send func(*berthv1.TaskLogsChunk) error) error {
	list, err := a.cfg.Runtime.List(ctx, map[string]string{rt.LabelTaskARN: req.GetTaskArn()})
	if err != nil {
		return err
	}
	var cs []rt.ContainerSummary
	for _, c := range list {
		name := c.Labels[rt.LabelContainerName]
		if name == "" || strings.HasPrefix(name, internalPrefix) || (req.GetContainer() != "" && name != req.GetContainer()) {
			continue
		}
		cs = append(cs, c)
	}
	switch {
	case len(cs) == 0 && req.GetContainer() != "":
		return fmt.Errorf("container %s of task %s has not been created on its instance (yet)", req.GetContainer(), req.GetTaskArn())
	case len(cs) == 0:
		return fmt.Errorf("task %s has no containers on its instance (yet)", req.GetTaskArn())
	}
	sort.Slice(cs, func(i, j int) bool {
		return cs[i].Labels[rt.LabelContainerName] < cs[j].Labels[rt.LabelContainerName]
	})
	var mu sync.Mutex // send is for one goroutine at a time
	read := func(ctx context.Context, c rt.ContainerSummary) error {
		name := c.Labels[rt.LabelContainerName]
		writer := func(stream string) chunkWriter {
			return func(p []byte) error {
				mu.Lock()
				defer mu.Unlock()
				return send(&berthv1.TaskLogsChunk{Container: name, Stream: stream, Data: append([]byte(nil), p...)})
			}
		}
		opts := rt.LogOptions{Follow: req.GetFollow(), Tail: int(req.GetTail())}
		if err := a.cfg.Runtime.Logs(ctx, c.ID, opts, writer("stdout"), writer("stderr")); err != nil {
			return fmt.Errorf("container %s: %w", name, err)
		}
		return nil
	}
	if !req.GetFollow() {
		for _, c := range cs {
			if err := read(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(cs))
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := read(ctx, c); err != nil {
				errs <- err
				cancel() // one failed: the answer is over
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

// chunkWriter is an io.Writer that sends each write.
type chunkWriter func(p []byte) error

func (w chunkWriter) Write(p []byte) (int, error) {
	if err := w(p); err != nil {
		return 0, err
	}
	return len(p), nil
}
