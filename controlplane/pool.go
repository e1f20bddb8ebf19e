package controlplane

import (
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/hostpool"
	"github.com/berth/berth/store"
)

// startPool makes the Fargate pool manager and the EC2 capacity providers'
// manager (their Run starts with the other loops).
func (c *ControlPlane) startPool(cfg Config, placer *placement.Placer) {
	fc := cfg.Fargate
	fc.Store, fc.Placer = c.store, placer
	if fc.Logger == nil {
		fc.Logger = cfg.Logger
	}
	c.pool = fargate.New(fc)
	c.pool.SetJoin(c.GRPCAddr(), c.trust.token())
	cc := cfg.Capacity
	cc.Store, cc.Placer = c.store, placer
	if cc.Provisioner == nil {
		cc.Provisioner = fc.Provisioner
	}
	if cc.Logger == nil {
		cc.Logger = cfg.Logger
	}
	c.capacity = capacity.New(cc)
	c.capacity.SetJoin(c.GRPCAddr(), c.trust.token())
	c.trust.onRotate = func(token string) { // hosts started from now on join with the new token
		c.pool.SetJoin(c.GRPCAddr(), token)
		c.capacity.SetJoin(c.GRPCAddr(), token)
	}
	c.metrics.registry.MustRegister(newPoolCollector(c))
	for _, p := range []hostpool.Provisioner{fc.Provisioner, cc.Provisioner} {
		if closer, ok := p.(io.Closer); ok && (len(c.poolClosers) == 0 || c.poolClosers[0] != closer) {
			c.poolClosers = append(c.poolClosers, closer)
		}
	}
}

// closePool closes the provisioners (in-process hosts end with the control
// plane); the managers' Run have returned.
func (c *ControlPlane) closePool() {
	for _, closer := range c.poolClosers {
		if err := closer.Close(); err != nil {
			c.log.Warn("closing a provisioner", "err", err)
		}
	}
}

// FargatePool is the Fargate pool manager (for its Stats).
func (c *ControlPlane) FargatePool() *fargate.Manager { return c.pool }

// poolCollector exports the Fargate pool and what it costs, per cluster,
// worked out at each scrape.
type poolCollector struct {
	c                        *ControlPlane
	hosts, waiting           *prometheus.Desc
	tasksCost, poolCost      *prometheus.Desc
	reservedCPU, capacityCPU *prometheus.Desc
	reservation              *prometheus.Desc
}

func newPoolCollector(c *ControlPlane) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"cluster"}, nil)
	}
	return &poolCollector{c: c,
		hosts:       d("berth_fargate_pool_hosts", "Fargate pool hosts registered."),
		waiting:     d("berth_fargate_tasks_waiting", "Fargate tasks waiting in PROVISIONING for capacity."),
		tasksCost:   d("berth_fargate_tasks_cost_dollars_per_hour", "What the running Fargate tasks cost per hour at Fargate's prices."),
		poolCost:    d("berth_fargate_pool_cost_dollars_per_hour", "What the Fargate pool's hosts would cost per hour at Fargate's on-demand prices."),
		reservedCPU: d("berth_fargate_pool_reserved_cpu_units", "CPU units the pool's tasks hold."),
		capacityCPU: d("berth_fargate_pool_cpu_units", "CPU units the pool's hosts registered."),
		reservation: prometheus.NewDesc("berth_capacity_provider_reservation",
			"ECS's CapacityProviderReservation of an EC2 capacity provider in a cluster: instances needed / instances running x 100.",
			[]string{"cluster", "provider"}, nil),
	}
}

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.hosts, p.waiting, p.tasksCost, p.poolCost, p.reservedCPU, p.capacityCPU, p.reservation} {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	clusters, _, _ := p.c.store.Clusters("", 1<<30)
	now := time.Now()
	for _, cl := range clusters {
		s := p.c.pool.Stats(cl)
		var tasks float64
		for _, t := range p.c.store.Tasks(cl, func(t *berthv1.TaskRecord) bool { return t.Task.GetLaunchType() == store.LaunchTypeFargate }) {
			perHour, _ := fargate.TaskCost(t.Task, now)
			tasks += perHour
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, cl)
		}
		gauge(p.hosts, float64(s.Hosts))
		gauge(p.waiting, float64(s.Waiting))
		gauge(p.tasksCost, tasks)
		gauge(p.poolCost, fargate.OnDemandPrice.PerHour(s.RegisteredCPU, s.RegisteredMemory))
		gauge(p.reservedCPU, float64(s.ReservedCPU))
		gauge(p.capacityCPU, float64(s.RegisteredCPU))
		usage := p.c.capacity.Usage(cl)
		if rec, err := p.c.store.Cluster(cl); err == nil {
			for _, name := range rec.GetCapacityProviders() {
				if _, ok := usage[name]; !ok && !store.IsBuiltinProvider(name) {
					usage[name] = capacity.ProviderUse{}
				}
			}
		}
		for name, u := range usage {
			ch <- prometheus.MustNewConstMetric(p.reservation, prometheus.GaugeValue, capacity.Reservation(u.Running, u.Needed), cl, name)
		}
	}
}
