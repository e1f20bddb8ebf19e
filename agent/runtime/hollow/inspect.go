package hollow

import (
	"context"
	"maps"
	"slices"

	"github.com/berth/berth/agent/runtime"
)

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.ContainerState, error) {
	r.counters.inspects.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.lookup(id)
	if err != nil {
		return runtime.ContainerState{}, err
	}
	st := c.state
	st.Labels = maps.Clone(st.Labels)
	st.NetworkBindings = slices.Clone(st.NetworkBindings)
	return st, nil
}

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.ContainerSummary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.ContainerSummary
	for _, c := range r.containers {
		if !runtime.MatchLabels(c.state.Labels, labels) {
			continue
		}
		out = append(out, runtime.ContainerSummary{
			ID: c.state.ID, Name: c.state.Name, Image: c.state.Image,
			Status: c.state.Status, Labels: maps.Clone(c.state.Labels),
		})
	}
	return out, nil
}
