package store

import (
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// bucketECRRepositories holds ECR's repositories. It is one of the
// openBuckets: new and empty when made, so made at Open without a
// migration.
var bucketECRRepositories = []byte("ecr-repositories")

// KindECRRepository is an event about an ECR repository.
const KindECRRepository Kind = "ecrrepository"

// Reasons of the ECR repository commands.
const (
	ReasonECRRepositoryNotFound = "ECRRepositoryNotFound"
	ReasonECRRepositoryExists   = "ECRRepositoryExists"
)

func createECRRepository(c *change, cmd *berthv1.CreateEcrRepositoryCommand) (proto.Message, error) {
	rec := proto.Clone(cmd.GetRecord()).(*berthv1.EcrRepositoryRecord)
	name := rec.GetRepository().GetRepositoryName()
	found, err := get(c.tx, bucketECRRepositories, []byte(name), &berthv1.EcrRepositoryRecord{})
	if err != nil {
		return nil, err
	}
	if found {
		return nil, refused(apierr.AlreadyExists, ReasonECRRepositoryExists, "repository %q already exists", name)
	}
	return rec, c.put(KindECRRepository, bucketECRRepositories, []byte(name), rec)
}

func updateECRRepository(c *change, cmd *berthv1.UpdateEcrRepositoryCommand) (proto.Message, error) {
	rec := proto.Clone(cmd.GetRecord()).(*berthv1.EcrRepositoryRecord)
	name := rec.GetRepository().GetRepositoryName()
	found, err := get(c.tx, bucketECRRepositories, []byte(name), &berthv1.EcrRepositoryRecord{})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refused(apierr.NotFound, ReasonECRRepositoryNotFound, "repository %q not found", name)
	}
	return rec, c.put(KindECRRepository, bucketECRRepositories, []byte(name), rec)
}

func deleteECRRepository(c *change, cmd *berthv1.DeleteEcrRepositoryCommand) (proto.Message, error) {
	name := cmd.GetRepositoryName()
	rec := &berthv1.EcrRepositoryRecord{}
	found, err := get(c.tx, bucketECRRepositories, []byte(name), rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, refused(apierr.NotFound, ReasonECRRepositoryNotFound, "repository %q not found", name)
	}
	return rec, c.delete(KindECRRepository, bucketECRRepositories, []byte(name), rec)
}

// ECRRepository returns the ECR repository of name, or ok false.
func (s *Store) ECRRepository(name string) (*berthv1.EcrRepositoryRecord, bool, error) {
	rec := &berthv1.EcrRepositoryRecord{}
	var found bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		found, err = get(tx, bucketECRRepositories, []byte(name), rec)
		return err
	})
	if err != nil || !found {
		return nil, false, err
	}
	return rec, true, nil
}

// ECRRepositories lists the ECR repositories by name.
func (s *Store) ECRRepositories() ([]*berthv1.EcrRepositoryRecord, error) {
	var out []*berthv1.EcrRepositoryRecord
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketECRRepositories).ForEach(func(_, v []byte) error {
			rec := &berthv1.EcrRepositoryRecord{}
			if err := proto.Unmarshal(v, rec); err != nil {
				return err
			}
			out = append(out, rec)
			return nil
		})
	})
	return out, err
}
