package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A migration moves the file from schema version-1 to version. Each runs in
// its own transaction together with the version bump, so a crash leaves the
// file at one version or the next.
type migration struct {
	version uint32
	name    string
	apply   func(tx *bolt.Tx) error
}

// migrations is the ordered list of every schema change since the first
// release. Append only; never edit one that has shipped.
var migrations = []migration{
	{1, "create the buckets of the first schema", createBuckets(
		bucketMeta, bucketClusters, bucketFamilies, bucketTaskDefs,
		bucketInstances, bucketServices, bucketTasks)},
	{2, "add the lookup buckets instance-ec2 and instance-tasks", fillLookups},
	{3, "add the bucket capacity-providers", createBuckets(bucketCapacityProviders)},
	{4, "tasks carry their task definition's family and revision", fillTaskFamilies},
	{5, "add the bucket account-settings", createBuckets(bucketAccountSettings)},
}

// openBuckets are buckets that were added without a migration: a new
// bucket that starts empty changes no existing data, so Open makes it when
// it is missing, in any schema version, and the version is not bumped.
var openBuckets = [][]byte{bucketParameters, bucketSecrets, bucketECRRepositories, bucketEventLog, bucketDocuments}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() uint32 { return migrations[len(migrations)-1].version }

func createBuckets(names ...[]byte) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return fmt.Errorf("create bucket %s: %w", n, err)
			}
		}
		return nil
	}
}

// schemaVersion reads the file's version; 0 for a new file.
func schemaVersion(tx *bolt.Tx) uint32 {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get(keySchema)
	if len(v) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// migrate brings the file up to SchemaVersion, one migration per transaction.
func migrate(db *bolt.DB, list []migration) error {
	var current uint32
	if err := db.View(func(tx *bolt.Tx) error { current = schemaVersion(tx); return nil }); err != nil {
		return err
	}
	if latest := list[len(list)-1].version; current > latest {
		return fmt.Errorf("state file has schema version %d, newer than this berth's %d", current, latest)
	}
	for _, m := range list {
		if m.version <= current {
			continue
		}
		err := db.Update(func(tx *bolt.Tx) error {
			if err := m.apply(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchema, u32(m.version))
		})
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}
