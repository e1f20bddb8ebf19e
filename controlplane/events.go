package controlplane

import (
	"context"
	"fmt"

	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/events/eventsapi"
)

// startEvents makes EventBridge's default bus over the store, with ECS
// targets run through the ECS API in-process (Lambda targets wait for
// Lambda: cfg.Lambda), and places the dispatcher's cursor before any
// PutEvents is served.
func (c *ControlPlane) startEvents(ctx context.Context, cfg Config, api *ecsapi.Server) error {
	c.events = eventsapi.New(eventsapi.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Now: cfg.EventsClock, Tick: cfg.EventsTick,
		Lambda: cfg.Lambda, ECS: api,
	})
	if err := c.events.Init(ctx); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	return nil
}

// taskEvents is the loop that puts ECS's state changes on the bus.
func (c *ControlPlane) taskEvents(cfg Config) func(context.Context) error {
	te := &eventsapi.TaskEvents{Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Now: cfg.EventsClock}
	return te.Run
}

// Events is EventBridge's server.
func (c *ControlPlane) Events() *eventsapi.Server { return c.events }
