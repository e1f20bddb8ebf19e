package store

import (
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// EC2 capacity providers: one record per provider in the capacity-providers
// bucket, keyed by name. The built-in FARGATE and FARGATE_SPOT are not
// stored.

// Built-in capacity providers.
const (
	ProviderFargate     = "FARGATE"
	ProviderFargateSpot = "FARGATE_SPOT"
)

// IsBuiltinProvider reports whether name is FARGATE or FARGATE_SPOT.
func IsBuiltinProvider(name string) bool {
	return name == ProviderFargate || name == ProviderFargateSpot
}

// ProviderAttribute is the custom attribute that names the EC2 capacity
// provider whose instance group an instance belongs to.
const ProviderAttribute = "berth.capacity-provider"

func capacityProviderNotFound(name string) error {
	return badParameter("capacityProviders", "capacity provider %q does not exist", name)
}

// createCapacityProvider stores a new ACTIVE provider; the name must be free.
func createCapacityProvider(c *change, cmd *berthv1.CreateCapacityProviderCommand) (proto.Message, error) {
	cp := proto.Clone(cmd.GetCapacityProvider()).(*berthv1.CapacityProvider)
	name := cp.GetName()
	found, err := get(c.tx, bucketCapacityProviders, []byte(name), &berthv1.CapacityProvider{})
	if err != nil {
		return nil, err
	}
	if found || IsBuiltinProvider(name) {
		return nil, badParameter("name", "a capacity provider named %q already exists", name)
	}
	group := cp.GetAutoScalingGroupProvider().GetAutoScalingGroupArn()
	var user string
	err = scan(c.tx.Bucket(bucketCapacityProviders), nil, nil, false, func(k, v []byte) (bool, error) {
		other := &berthv1.CapacityProvider{}
		if err := proto.Unmarshal(v, other); err != nil {
			return false, err
		}
		if other.GetAutoScalingGroupProvider().GetAutoScalingGroupArn() == group {
			user = other.Name
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if user != "" {
		return nil, badParameter("autoScalingGroupProvider.autoScalingGroupArn", "%q is already used by capacity provider %s", group, user)
	}
	cp.Status = StatusActive
	if err := c.put(KindCapacityProvider, bucketCapacityProviders, []byte(name), cp); err != nil {
		return nil, err
	}
	return cp, nil
}

// putClusterCapacityProviders replaces the cluster's providers and default
// strategy. Every EC2 provider named must exist, and a provider being removed
// must not be used by a service (in its strategy) or by a task that is not
// STOPPED, as ECS refuses.
func putClusterCapacityProviders(c *change, cmd *berthv1.PutClusterCapacityProvidersCommand) (proto.Message, error) {
	name := cmd.GetCluster()
	cl, err := loadActiveCluster(c, name)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, p := range cmd.GetCapacityProviders() {
		keep[p] = true
		if IsBuiltinProvider(p) {
			continue
		}
		ok, err := get(c.tx, bucketCapacityProviders, []byte(p), &berthv1.CapacityProvider{})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, capacityProviderNotFound(p)
		}
	}
	for _, p := range cl.GetCapacityProviders() {
		if keep[p] {
			continue
		}
		if by := providerUser(c, name, p); by != "" {
			return nil, refused(apierr.FailedPrecondition, ReasonCapacityProviderInUse,
				"The specified capacity provider %s is in use and cannot be removed: %s uses it", p, by)
		}
	}
	cl.CapacityProviders = cmd.GetCapacityProviders()
	cl.DefaultCapacityProviderStrategy = cmd.GetDefaultCapacityProviderStrategy()
	if err := c.put(KindCluster, bucketClusters, []byte(name), cl); err != nil {
		return nil, err
	}
	return cl, nil
}

// providerUser names a live service of the cluster whose strategy includes
// the provider, or a task not STOPPED that runs on it; "" when none does.
func providerUser(c *change, cluster, provider string) string {
	by := ""
	scan(c.tx.Bucket(bucketServices), clusterPrefix(cluster), nil, false, func(k, v []byte) (bool, error) {
		rec, err := decodeService(v)
		if err != nil {
			return false, err
		}
		if rec.Service.GetStatus() == StatusInactive {
			return true, nil
		}
		for _, it := range rec.Service.GetCapacityProviderStrategy() {
			if it.GetCapacityProvider() == provider {
				by = "service " + rec.Service.GetServiceName()
				return false, nil
			}
		}
		return true, nil
	})
	if by != "" {
		return by
	}
	scan(c.tx.Bucket(bucketTasks), clusterPrefix(cluster), nil, false, func(k, v []byte) (bool, error) {
		rec, err := decodeTask(v)
		if err != nil {
			return false, err
		}
		if rec.Task.GetLastStatus() != TaskStopped && rec.Task.GetCapacityProviderName() == provider {
			by = "task " + rec.Task.GetTaskArn()
			return false, nil
		}
		return true, nil
	})
	return by
}

// CapacityProvider returns the named EC2 capacity provider.
func (s *Store) CapacityProvider(name string) (*berthv1.CapacityProvider, error) {
	cp := &berthv1.CapacityProvider{}
	err := s.view(func(tx *bolt.Tx) error {
		found, err := get(tx, bucketCapacityProviders, []byte(name), cp)
		if err == nil && !found {
			err = refused(apierr.NotFound, ReasonCapacityProviderNotFound, "capacity provider %q not found", name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// CapacityProviders lists the EC2 capacity providers by name.
func (s *Store) CapacityProviders() ([]*berthv1.CapacityProvider, error) {
	var out []*berthv1.CapacityProvider
	err := s.view(func(tx *bolt.Tx) error {
		return scan(tx.Bucket(bucketCapacityProviders), nil, nil, false, func(k, v []byte) (bool, error) {
			cp := &berthv1.CapacityProvider{}
			if err := proto.Unmarshal(v, cp); err != nil {
				return false, err
			}
			out = append(out, cp)
			return true, nil
		})
	})
	return out, err
}
