package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// updateCluster applies UpdateCluster and UpdateClusterSettings to an ACTIVE
// cluster (ClusterNotFound, with ECS's message, otherwise): each setting
// replaces the one of its name, each configuration part that is set replaces
// the stored part, and service connect defaults that are set replace the
// stored ones (an empty namespace removes them). The values were validated
// by the caller.
func updateCluster(c *change, cmd *berthv1.UpdateClusterCommand) (proto.Message, error) {
	name := cmd.GetClusterName()
	cl := &berthv1.Cluster{}
	found, err := get(c.tx, bucketClusters, []byte(name), cl)
	if err != nil {
		return nil, err
	}
	if !found || cl.Status != StatusActive {
		return nil, clusterNotFound(name)
	}
	for _, st := range cmd.GetSettings() {
		replaced := false
		for _, have := range cl.Settings {
			if have.GetName() == st.GetName() {
				have.Value, replaced = st.GetValue(), true
			}
		}
		if !replaced {
			cl.Settings = append(cl.Settings, proto.Clone(st).(*berthv1.ClusterSetting))
		}
	}
	if conf := cmd.GetConfiguration(); conf != nil {
		if cl.Configuration == nil {
			cl.Configuration = &berthv1.ClusterConfiguration{}
		}
		if e := conf.GetExecuteCommandConfiguration(); e != nil {
			cl.Configuration.ExecuteCommandConfiguration = proto.Clone(e).(*berthv1.ExecuteCommandConfiguration)
		}
		if m := conf.GetManagedStorageConfiguration(); m != nil {
			cl.Configuration.ManagedStorageConfiguration = proto.Clone(m).(*berthv1.ManagedStorageConfiguration)
		}
	}
	if d := cmd.GetServiceConnectDefaults(); d != nil {
		if d.GetNamespace() == "" {
			cl.ServiceConnectDefaults = nil
		} else {
			cl.ServiceConnectDefaults = &berthv1.ClusterServiceConnectDefaults{Namespace: d.GetNamespace()}
		}
	}
	if err := c.put(KindCluster, bucketClusters, []byte(name), cl); err != nil {
		return nil, err
	}
	return cl, nil
}
