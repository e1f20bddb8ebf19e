package dispatcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync/atomic"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
)

// lockInstance orders the registration and departure of one instance's
// sessions, so that an old session's departure never lands after a new
// session's registration.
func (d *Dispatcher) lockInstance(cluster, ec2ID string) func() {
	h := fnv.New32a()
	h.Write([]byte(cluster + "\x00" + ec2ID))
	m := &d.instanceLocks[h.Sum32()%uint32(len(d.instanceLocks))]
	m.Lock()
	return m.Unlock
}

// open registers the instance and makes its session the live one, cutting
// off any older session of the same instance.
func (d *Dispatcher) open(ctx context.Context, stream berthv1.AgentSessions_SessionServer, reg *berthv1.RegisterInstance, seen *atomic.Int64) (*session, *berthv1.ContainerInstanceRecord, error) {
	registered, err := registeredResources(reg.GetRegisteredResources())
	if err != nil {
		return nil, nil, err
	}
	if reg.GetInstanceId() == "" || len(reg.GetInstanceId()) > 255 {
		return nil, nil, ecserr.Param("register.instanceId", "must be 1-255 characters")
	}
	cluster := reg.GetCluster()
	if cluster == "" {
		cluster = "default"
	}
	if err := d.checkIdentity(ctx, cluster, reg); err != nil {
		return nil, nil, err
	}
	unlock := d.lockInstance(cluster, reg.GetInstanceId())
	defer unlock()
	res, err := d.cfg.Store.Apply(ctx, &berthv1.Command{At: epoch(d.cfg.Now()), Change: &berthv1.Command_RegisterContainerInstance{
		RegisterContainerInstance: &berthv1.RegisterContainerInstanceCommand{
			Cluster: cluster, Id: newInstanceID(), Registered: registered,
			Instance: &berthv1.ContainerInstance{
				Ec2InstanceId: reg.GetInstanceId(), Attributes: reg.GetAttributes(), VersionInfo: reg.GetVersionInfo(),
			},
		},
	}})
	if err != nil {
		return nil, nil, err
	}
	rec := res.(*berthv1.ContainerInstanceRecord)
	s := &session{
		cluster: rec.Cluster, id: rec.Id, ec2ID: reg.GetInstanceId(), key: instanceKey(rec.Cluster, rec.Id), stream: stream,
		wake: make(chan struct{}, 1),
		seen: seen,
	}
	_, s.bound = identityFrom(ctx)
	s.seen.Store(d.cfg.Now().UnixNano())
	d.mu.Lock()
	if old := d.sessions[s.key]; old != nil {
		old.cutOff()
	}
	d.sessions[s.key] = s
	delete(d.offline, s.key)
	d.mu.Unlock()
	return s, rec, nil
}

// close ends a session: unless a newer session of the instance is live, the
// instance is marked disconnected and its tasks get a TTL before they are
// lost.
func (d *Dispatcher) close(s *session) {
	unlock := d.lockInstance(s.cluster, s.ec2ID)
	defer unlock()
	d.mu.Lock()
	live := d.sessions[s.key]
	if live == s {
		delete(d.sessions, s.key)
		// silent for a TTL before it was cut off, then a TTL more to come back
		d.offline[s.key] = departure{lostAt: d.cfg.Now().Add(d.cfg.TTL), away: 2 * d.cfg.TTL}
	}
	d.mu.Unlock()
	if live != s {
		return
	}
	d.cfg.Logger.Info("agent session closed", "cluster", s.cluster, "instance", s.id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := d.cfg.Store.Apply(ctx, &berthv1.Command{At: epoch(d.cfg.Now()), Change: &berthv1.Command_SetAgentConnected{
		SetAgentConnected: &berthv1.SetAgentConnectedCommand{Cluster: s.cluster, Id: s.id, Connected: false},
	}})
	if err != nil && !ecserr.Is(err, ecserr.NotFound) { // NotFound: deregistered meanwhile
		d.cfg.Logger.Warn("could not mark the agent disconnected", "instance", s.id, "err", err)
	}
}

// registeredResources reads what an agent registers: CPU and MEMORY (whole
// numbers above 0), and optionally GPU, PORTS and PORTS_UDP.
func registeredResources(list []*berthv1.Resource) (*berthv1.Resources, error) {
	r := &berthv1.Resources{}
	for i, res := range list {
		path := fmt.Sprintf("register.registeredResources[%d]", i)
		var err error
		switch res.GetName() {
		case "CPU":
			r.Cpu = res.GetIntegerValue()
		case "MEMORY":
			r.Memory = res.GetIntegerValue()
		case "GPU":
			r.Gpu = res.GetIntegerValue()
		case "PORTS":
			r.PortsTcp, err = ports(path, res.GetStringSetValue())
		case "PORTS_UDP":
			r.PortsUdp, err = ports(path, res.GetStringSetValue())
		default:
			return nil, ecserr.Param(path+".name", "must be CPU, MEMORY, GPU, PORTS or PORTS_UDP, not %q", res.GetName())
		}
		if err != nil {
			return nil, err
		}
	}
	if r.Cpu <= 0 || r.Memory <= 0 {
		return nil, ecserr.Param("register.registeredResources", "CPU and MEMORY must be registered, above 0")
	}
	if r.Gpu < 0 {
		return nil, ecserr.Param("register.registeredResources", "GPU must not be negative")
	}
	return r, nil
}

func ports(path string, set []string) ([]int32, error) {
	out := make([]int32, 0, len(set))
	for j, p := range set {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, ecserr.Param(fmt.Sprintf("%s.stringSetValue[%d]", path, j), "%q is not a port (1-65535)", p)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newInstanceID() string { return randomHex(16) }
func newSessionID() string  { return randomHex(8) }
