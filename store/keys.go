package store

import (
	"bytes"
	"encoding/binary"
)

// Bucket names.
var (
	bucketMeta      = []byte("meta")
	bucketClusters  = []byte("clusters")
	bucketFamilies  = []byte("families")
	bucketTaskDefs  = []byte("taskdefs")
	bucketInstances = []byte("instances")
	bucketServices  = []byte("services")
	bucketTasks     = []byte("tasks")

	bucketCapacityProviders = []byte("capacity-providers")

	keySchema   = []byte("schema")
	keyRevision = []byte("revision")
)

// taskDefKey is family 0x00 revision: a family's revisions sort together and
// numerically, and family "web" sorts before "web-a".
func taskDefKey(family string, revision int32) []byte {
	k := make([]byte, 0, len(family)+5)
	k = append(k, family...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint32(k, uint32(revision))
}

// familyPrefix is the prefix of every key of one family in taskdefs.
func familyPrefix(family string) []byte {
	return append([]byte(family), 0)
}

// splitTaskDefKey returns the family and revision of a taskdefs key.
func splitTaskDefKey(k []byte) (string, int32) {
	i := bytes.IndexByte(k, 0)
	return string(k[:i]), int32(binary.BigEndian.Uint32(k[i+1:]))
}

// clusterPrefix is the prefix of a cluster's keys in instances, services and
// tasks.
func clusterPrefix(cluster string) []byte {
	return append([]byte(cluster), 0)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
