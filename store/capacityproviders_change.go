package store

import (
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Deleting and updating EC2 capacity providers.

// Update statuses of a capacity provider, as ECS reports them.
const (
	ProviderDeleteComplete = "DELETE_COMPLETE"
	ProviderUpdateComplete = "UPDATE_COMPLETE"
)

// loadCapacityProvider is the stored provider, or the refusal for a name
// that is not one (FARGATE and FARGATE_SPOT are not stored).
func loadCapacityProvider(tx *bolt.Tx, name string) (*berthv1.CapacityProvider, error) {
	cp := &berthv1.CapacityProvider{}
	found, err := get(tx, bucketCapacityProviders, []byte(name), cp)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refused(apierr.NotFound, ReasonCapacityProviderNotFound, "The specified capacity provider %s does not exist", name)
	}
	return cp, nil
}

// deleteCapacityProvider removes a provider no cluster has among its
// providers and no service or task uses (refused with no reason: ECS answers
// a ClientException); it returns the provider INACTIVE
// with update status DELETE_COMPLETE. The name is then free again.
func deleteCapacityProvider(c *change, cmd *berthv1.DeleteCapacityProviderCommand) (proto.Message, error) {
	name := cmd.GetName()
	if IsBuiltinProvider(name) {
		return nil, badParameter("capacityProvider", "the %s capacity provider is reserved and cannot be deleted", name)
	}
	cp, err := loadCapacityProvider(c.tx, name)
	if err != nil {
		return nil, err
	}
	var clusters []string
	var inUse error
	err = scan(c.tx.Bucket(bucketClusters), nil, nil, false, func(k, v []byte) (bool, error) {
		cl := &berthv1.Cluster{}
		if err := proto.Unmarshal(v, cl); err != nil {
			return false, err
		}
		clusters = append(clusters, cl.GetClusterName())
		if cl.GetStatus() == StatusActive && contains(cl.GetCapacityProviders(), name) {
			inUse = refused(apierr.FailedPrecondition, "",
				"The capacity provider %s cannot be deleted because it is associated with cluster %s. Remove the capacity provider from the cluster and try again.", name, cl.GetClusterName())
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if inUse != nil {
		return nil, inUse
	}
	for _, cluster := range clusters {
		if by := providerUser(c, cluster, name); by != "" {
			return nil, refused(apierr.FailedPrecondition, "",
				"The capacity provider %s cannot be deleted: %s uses it", name, by)
		}
	}
	last := proto.Clone(cp).(*berthv1.CapacityProvider)
	last.Status = StatusInactive
	last.UpdateStatus = ProviderDeleteComplete
	if err := c.delete(KindCapacityProvider, bucketCapacityProviders, []byte(name), last); err != nil {
		return nil, err
	}
	return last, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// updateCapacityProvider replaces a provider's managed scaling, termination
// protection and draining; the command carries them validated, with the
// defaults filled.
func updateCapacityProvider(c *change, cmd *berthv1.UpdateCapacityProviderCommand) (proto.Message, error) {
	name := cmd.GetName()
	if IsBuiltinProvider(name) {
		return nil, badParameter("name", "the %s capacity provider cannot be updated", name)
	}
	cp, err := loadCapacityProvider(c.tx, name)
	if err != nil {
		return nil, err
	}
	asg := cp.GetAutoScalingGroupProvider()
	if asg == nil {
		asg = &berthv1.AutoScalingGroupProvider{}
		cp.AutoScalingGroupProvider = asg
	}
	asg.ManagedScaling = proto.Clone(cmd.GetManagedScaling()).(*berthv1.ManagedScaling)
	asg.ManagedTerminationProtection = cmd.GetManagedTerminationProtection()
	asg.ManagedDraining = cmd.GetManagedDraining()
	cp.UpdateStatus = ProviderUpdateComplete
	if err := c.put(KindCapacityProvider, bucketCapacityProviders, []byte(name), cp); err != nil {
		return nil, err
	}
	return cp, nil
}
