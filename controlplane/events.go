package controlplane

import (
	"context"

	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/events/eventsapi"
	"github.com/berth/berth/schedules/schedulerapi"
)

// startEvents makes EventBridge's default bus over the store, with ECS
// targets run through the ECS API in-process, Lambda targets through
// Lambda's API (or cfg.EventsLambda), and EventBridge Scheduler, whose schedules fire
// through the bus's delivery queue.
func (c *ControlPlane) startEvents(cfg Config, api *ecsapi.Server) {
	c.events = eventsapi.New(eventsapi.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Now: cfg.EventsClock, Tick: cfg.EventsTick,
		Lambda: c.eventSource(cfg.EventsLambda), ECS: api,
	})
	c.scheduler = schedulerapi.New(schedulerapi.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Queue: c.events, Now: cfg.EventsClock, Tick: cfg.EventsTick,
	})
}

// taskEvents is the loop that puts ECS's state changes on the bus. Before
// it, once, S3 sends the events of the changes a crash left pending (its
// notifications reach Lambda and the bus, which run by then).
func (c *ControlPlane) taskEvents(cfg Config) func(context.Context) error {
	te := &eventsapi.TaskEvents{Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Now: cfg.EventsClock}
	return func(ctx context.Context) error {
		if err := c.s3.Recover(ctx); err != nil {
			c.log.Error("s3: the events of the changes a restart cut off", "err", err)
		}
		return te.Run(ctx)
	}
}

// Events is EventBridge's server.
func (c *ControlPlane) Events() *eventsapi.Server { return c.events }

// Scheduler is EventBridge Scheduler's server.
func (c *ControlPlane) Scheduler() *schedulerapi.Server { return c.scheduler }
