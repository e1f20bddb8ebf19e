package dispatcher

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Identity is the container instance an agent's certificate names: the
// control plane's transport layer puts it in the session's context
// (WithIdentity), and the session is that instance's whatever its messages
// say.
type Identity struct {
	Cluster  string
	Instance string // the agent's instance id (ec2InstanceId)
}

type identityKey struct{}

// WithIdentity marks ctx as a session of the instance id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

func identityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// checkIdentity refuses a registration that claims another instance than
// the one the session's certificate names.
func (d *Dispatcher) checkIdentity(ctx context.Context, cluster string, reg *berthv1.RegisterInstance) error {
	id, ok := identityFrom(ctx)
	if !ok {
		return nil // an agent of the older bearer join token: its messages name it
	}
	if id.Cluster == cluster && id.Instance == reg.GetInstanceId() {
		return nil
	}
	d.cfg.Logger.Warn("agent registration refused: it claims another instance than its certificate names",
		"certificate_cluster", id.Cluster, "certificate_instance", id.Instance, "claimed_cluster", cluster, "claimed_instance", reg.GetInstanceId())
	return status.Errorf(codes.PermissionDenied, "the certificate names instance %s of cluster %s; the registration claims instance %s of cluster %s",
		id.Instance, id.Cluster, reg.GetInstanceId(), cluster)
}

// ownChanges keeps the reported changes of tasks assigned to the session's
// instance; the others are refused and logged.
func (d *Dispatcher) ownChanges(s *session, changes []*berthv1.TaskStateChange) []*berthv1.TaskStateChange {
	out := changes[:0:0]
	for _, ch := range changes {
		id := taskID(ch.GetTaskArn())
		if _, sent := s.sent[id]; !sent {
			t, err := d.cfg.Store.Task(s.cluster, id)
			if err != nil || t.InstanceId != s.id {
				owner := ""
				if err == nil {
					owner = t.InstanceId
				}
				d.cfg.Logger.Warn("agent state report refused: the task is not assigned to its instance",
					"cluster", s.cluster, "instance", s.id, "ec2_instance", s.ec2ID, "task", ch.GetTaskArn(), "assigned_to", owner)
				continue
			}
		}
		out = append(out, ch)
	}
	return out
}

// taskID is the last part of a task ARN (or the id itself).
func taskID(arnOrID string) string {
	for i := len(arnOrID) - 1; i >= 0; i-- {
		if arnOrID[i] == '/' {
			return arnOrID[i+1:]
		}
	}
	return arnOrID
}

// deregistered cuts off the session of a deregistered instance whose agent
// holds a certificate: its identity is revoked, so it cannot come back.
// (An agent of the older bearer token keeps its session, as before.)
func (d *Dispatcher) deregistered(rec *berthv1.ContainerInstanceRecord) {
	d.mu.Lock()
	s := d.sessions[instanceKey(rec.Cluster, rec.Id)]
	d.mu.Unlock()
	if s != nil && s.bound {
		d.cfg.Logger.Info("container instance deregistered: its agent's session is cut off", "cluster", rec.Cluster, "instance", rec.Id)
		s.cutOff()
	}
}
