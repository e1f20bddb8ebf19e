package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
)

// Tuning of the event streams.
const (
	// minPush is the least time between two pushes of one stream: a burst
	// of changes becomes at most ten messages a second.
	minPush = 100 * time.Millisecond
	// keepAlive is how often an idle stream sends a comment, so that
	// proxies and browsers keep it open.
	keepAlive = 15 * time.Second
	// writeTimeout is how long a client may take to take one event before
	// its stream is dropped.
	writeTimeout = 10 * time.Second
	// rewatchDelay is how long a stream waits before watching again after
	// the store cut its watch off (it fell behind).
	rewatchDelay = 100 * time.Millisecond
)

// Delta is a "delta" event: the objects of the cluster that changed since
// the previous event, as they are now, and the ids of those that went.
type Delta struct {
	Revision  uint64     `json:"revision"`
	Instances []Instance `json:"instances,omitempty"`
	Tasks     []Task     `json:"tasks,omitempty"`
	Services  []Service  `json:"services,omitempty"`
	Removed   Removed    `json:"removed"`
	// Clusters is the cluster list, when it changed.
	Clusters []string `json:"clusters,omitempty"`
}

// Removed names the objects a delta removes: deleted ones, stopped tasks,
// inactive services.
type Removed struct {
	Instances []string `json:"instances,omitempty"`
	Tasks     []string `json:"tasks,omitempty"`
	Services  []string `json:"services,omitempty"`
}

// dirty is what changed in a cluster since the last push.
type dirty struct {
	instances, tasks, services map[string]bool
	clusters                   bool
}

func newDirty() *dirty {
	return &dirty{instances: map[string]bool{}, tasks: map[string]bool{}, services: map[string]bool{}}
}

func (d *dirty) empty() bool {
	return len(d.instances) == 0 && len(d.tasks) == 0 && len(d.services) == 0 && !d.clusters
}

// add notes an event if it is about the cluster.
func (d *dirty) add(cluster string, e store.Event) {
	switch v := e.Value.(type) {
	case *berthv1.ContainerInstanceRecord:
		if v.GetCluster() == cluster {
			d.instances[v.GetId()] = true
		}
	case *berthv1.TaskRecord:
		if v.GetCluster() == cluster {
			d.tasks[v.GetId()] = true
		}
	case *berthv1.ServiceRecord:
		if v.GetCluster() == cluster {
			d.services[v.GetService().GetServiceName()] = true
		}
	case *berthv1.Cluster:
		d.clusters = true
	}
}

// events is GET /dashboard/api/events: server-sent events. The first is a
// "snapshot" (a State); then "delta" events; a "snapshot" again whenever
// the stream lost track (the store cut its watch off); and a "views" event
// (Views) whenever the services' panels changed, looked at every
// viewsPeriod. The stream ends
// when the client goes or the dashboard closes.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	cluster, err := d.cluster(r)
	if err != nil {
		writeError(w, err, "cluster")
		return
	}
	rc := http.NewResponseController(w)
	if !d.openStream() {
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: "too many event streams are open, or the control plane is shutting down: retry later"})
		return
	}
	defer d.closeStream()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(d.stop, cancel)()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	send := func(event string, v any) bool {
		b, err := json.Marshal(v)
		if err != nil {
			d.log.Warn("dashboard: encoding an event", "err", err)
			return false
		}
		rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // a slow client is dropped
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	watch := d.cfg.Store.Watch(ctx) // before the snapshot: nothing falls between
	if !send("snapshot", d.snapshot(ctx, cluster)) {
		return
	}
	var (
		changed   = newDirty()
		pushAt    <-chan time.Time // armed while changes wait
		lastPush  time.Time
		ping      = time.NewTicker(keepAlive)
		viewsTick = time.NewTicker(viewsPeriod)
		lastViews []byte // the views last sent
	)
	defer ping.Stop()
	defer viewsTick.Stop()
	lastViews, _ = json.Marshal(d.views(ctx)) // as the snapshot had them, or newer
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-watch:
			if !ok {
				if ctx.Err() != nil {
					return
				}
				// Cut off for falling behind: wait a moment, watch again
				// and start over from a snapshot.
				select {
				case <-ctx.Done():
					return
				case <-time.After(rewatchDelay):
				}
				watch = d.cfg.Store.Watch(ctx)
				changed, pushAt = newDirty(), nil
				if !send("snapshot", d.snapshot(ctx, cluster)) {
					return
				}
				lastPush = time.Now()
				continue
			}
			changed.add(cluster, e)
			if pushAt == nil && !changed.empty() {
				pushAt = time.After(max(0, time.Until(lastPush.Add(minPush))))
			}
		case <-pushAt:
			pushAt = nil
			delta := d.delta(ctx, cluster, changed)
			changed = newDirty()
			if !send("delta", delta) {
				return
			}
			lastPush = time.Now()
		case <-viewsTick.C:
			v := d.views(ctx)
			b, err := json.Marshal(v)
			if err != nil || bytes.Equal(b, lastViews) {
				continue
			}
			lastViews = b
			if !send("views", json.RawMessage(b)) {
				return
			}
		case <-ping.C:
			rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// delta re-reads the changed objects: what it sends is their latest state.
func (d *Dashboard) delta(ctx context.Context, cluster string, c *dirty) *Delta {
	st := d.cfg.Store
	out := &Delta{Revision: st.Revision()}
	for id := range c.instances {
		rec, err := st.ContainerInstance(cluster, id)
		if err != nil || rec.GetInstance().GetStatus() == "INACTIVE" {
			out.Removed.Instances = append(out.Removed.Instances, id)
			continue
		}
		out.Instances = append(out.Instances, instance(rec))
	}
	for id := range c.tasks {
		rec, err := st.Task(cluster, id)
		if err != nil || !live(rec) {
			out.Removed.Tasks = append(out.Removed.Tasks, id)
			continue
		}
		out.Tasks = append(out.Tasks, task(rec))
	}
	for name := range c.services {
		rec, err := st.Service(cluster, name)
		if err != nil || rec.GetService().GetStatus() == "INACTIVE" {
			out.Removed.Services = append(out.Removed.Services, name)
			continue
		}
		out.Services = append(out.Services, d.service(ctx, rec))
	}
	if c.clusters {
		out.Clusters = d.clusters()
	}
	return out
}
