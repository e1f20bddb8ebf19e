package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// ErrServiceChanged is the rejection of a PutServiceCommand whose expected
// version is stale: read the service again and retry.
var ErrServiceChanged = refused(apierr.FailedPrecondition, "",
	"the service was changed by another request meanwhile: try again")

func serviceKey(cluster, name string) []byte { return append(clusterPrefix(cluster), name...) }

// putService writes a service at its expected version.
func putService(c *change, cmd *berthv1.PutServiceCommand) (proto.Message, error) {
	rec := proto.Clone(cmd.GetService()).(*berthv1.ServiceRecord)
	if err := activeCluster(c, rec.Cluster); err != nil {
		return nil, err
	}
	name := rec.GetService().GetServiceName()
	old := &berthv1.ServiceRecord{}
	found, err := get(c.tx, bucketServices, serviceKey(rec.Cluster, name), old)
	if err != nil {
		return nil, err
	}
	live := found && old.Service.GetStatus() != StatusInactive
	switch {
	case cmd.GetExpectedVersion() == 0 && live:
		return nil, refused(apierr.InvalidArgument, ReasonBadParameter,
			"Creation of service was not idempotent: service %q already exists in cluster %q", name, rec.Cluster)
	case cmd.GetExpectedVersion() != 0 && (!found || old.Version != cmd.GetExpectedVersion()):
		return nil, ErrServiceChanged
	}
	rec.Version = old.Version + 1
	if err := c.put(KindService, bucketServices, serviceKey(rec.Cluster, name), rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Service returns a service, INACTIVE ones included. The record is shared:
// the caller must not modify it.
func (s *Store) Service(cluster, name string) (*berthv1.ServiceRecord, error) {
	if rec, ok := s.services.get(cluster, name); ok {
		return rec, nil
	}
	return nil, apierr.New(apierr.NotFound, ReasonServiceNotFound, "service %q not found in cluster %q", name, cluster).Says(TextServiceNotFound)
}

// Services lists the cluster's services that keep accepts (all when nil), by
// name. The records are shared.
func (s *Store) Services(cluster string, keep func(*berthv1.ServiceRecord) bool) []*berthv1.ServiceRecord {
	return s.services.list(cluster, keep)
}

func decodeService(v []byte) (*berthv1.ServiceRecord, error) {
	rec := &berthv1.ServiceRecord{}
	return rec, proto.Unmarshal(v, rec)
}
