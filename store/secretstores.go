package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// The buckets of SSM Parameter Store and Secrets Manager. They are made at
// Open when a file lacks them: adding an empty bucket changes no existing
// data, so it needs no schema version of its own.
var (
	bucketParameters = []byte("ssm-parameters")
	bucketSecrets    = []byte("secrets")
)

// Kinds of the events of parameters and secrets.
const (
	KindParameter Kind = "ssmparameter"
	KindSecret    Kind = "secret"
)

// ReasonStale says a command replaced a record that changed since it was
// read (its generation moved on): read again and retry.
const ReasonStale = "Stale"

// ensureBuckets makes the openBuckets a file lacks, writing only when one is
// missing.
func ensureBuckets(db *bolt.DB) error {
	missing := false
	db.View(func(tx *bolt.Tx) error {
		for _, b := range openBuckets {
			if tx.Bucket(b) == nil {
				missing = true
			}
		}
		return nil
	})
	if !missing {
		return nil
	}
	return db.Update(createBuckets(openBuckets...))
}

// checkGeneration refuses a replace of a record whose generation is not the
// one the command read (0: there was none).
func checkGeneration(what, name string, have, want uint64) error {
	if have != want {
		return refused(apierr.FailedPrecondition, ReasonStale,
			"%s %s changed while the request ran (generation %d, not %d): retry", what, name, have, want)
	}
	return nil
}

func putParameterRecord(c *change, cmd *berthv1.PutParameterRecordCommand) (proto.Message, error) {
	rec := proto.Clone(cmd.GetRecord()).(*berthv1.ParameterRecord)
	key := []byte(rec.GetName())
	old := &berthv1.ParameterRecord{}
	if _, err := get(c.tx, bucketParameters, key, old); err != nil {
		return nil, err
	}
	if err := checkGeneration("parameter", rec.GetName(), old.GetGeneration(), cmd.GetReplacesGeneration()); err != nil {
		return nil, err
	}
	rec.Generation = old.GetGeneration() + 1
	if err := c.put(KindParameter, bucketParameters, key, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func deleteParameterRecords(c *change, cmd *berthv1.DeleteParameterRecordsCommand) (proto.Message, error) {
	res := &berthv1.DeleteParameterRecordsResult{}
	for _, name := range cmd.GetNames() {
		old := &berthv1.ParameterRecord{}
		found, err := get(c.tx, bucketParameters, []byte(name), old)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if err := c.delete(KindParameter, bucketParameters, []byte(name), old); err != nil {
			return nil, err
		}
		res.Deleted = append(res.Deleted, name)
	}
	return res, nil
}

func putSecretRecord(c *change, cmd *berthv1.PutSecretRecordCommand) (proto.Message, error) {
	rec := proto.Clone(cmd.GetRecord()).(*berthv1.SecretRecord)
	key := []byte(rec.GetName())
	old := &berthv1.SecretRecord{}
	if _, err := get(c.tx, bucketSecrets, key, old); err != nil {
		return nil, err
	}
	if err := checkGeneration("secret", rec.GetName(), old.GetGeneration(), cmd.GetReplacesGeneration()); err != nil {
		return nil, err
	}
	rec.Generation = old.GetGeneration() + 1
	if err := c.put(KindSecret, bucketSecrets, key, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

func deleteSecretRecord(c *change, cmd *berthv1.DeleteSecretRecordCommand) (proto.Message, error) {
	key := []byte(cmd.GetName())
	old := &berthv1.SecretRecord{}
	if _, err := get(c.tx, bucketSecrets, key, old); err != nil {
		return nil, err
	}
	if err := checkGeneration("secret", cmd.GetName(), old.GetGeneration(), cmd.GetReplacesGeneration()); err != nil {
		return nil, err
	}
	if err := c.delete(KindSecret, bucketSecrets, key, old); err != nil {
		return nil, err
	}
	return old, nil
}

// Parameter returns the parameter of that name, or nil.
func (s *Store) Parameter(name string) (*berthv1.ParameterRecord, error) {
	var out *berthv1.ParameterRecord
	err := s.view(func(tx *bolt.Tx) error {
		p := &berthv1.ParameterRecord{}
		found, err := get(tx, bucketParameters, []byte(name), p)
		if found {
			out = p
		}
		return err
	})
	return out, err
}

// Parameters calls fn with each parameter whose name starts with prefix, in
// name order, from the first name after after ("" for the start), until fn
// returns false.
func (s *Store) Parameters(prefix, after string, fn func(*berthv1.ParameterRecord) bool) error {
	return s.view(func(tx *bolt.Tx) error {
		return scan(tx.Bucket(bucketParameters), []byte(prefix), afterKey(prefix, after), false, func(_, v []byte) (bool, error) {
			p := &berthv1.ParameterRecord{}
			if err := proto.Unmarshal(v, p); err != nil {
				return false, fmt.Errorf("decode parameter: %w", err)
			}
			return fn(p), nil
		})
	})
}

// Secret returns the secret of that name, or nil.
func (s *Store) Secret(name string) (*berthv1.SecretRecord, error) {
	var out *berthv1.SecretRecord
	err := s.view(func(tx *bolt.Tx) error {
		r := &berthv1.SecretRecord{}
		found, err := get(tx, bucketSecrets, []byte(name), r)
		if found {
			out = r
		}
		return err
	})
	return out, err
}

// Secrets calls fn with each secret in name order until fn returns false.
func (s *Store) Secrets(fn func(*berthv1.SecretRecord) bool) error {
	return s.view(func(tx *bolt.Tx) error {
		return scan(tx.Bucket(bucketSecrets), nil, nil, false, func(_, v []byte) (bool, error) {
			r := &berthv1.SecretRecord{}
			if err := proto.Unmarshal(v, r); err != nil {
				return false, fmt.Errorf("decode secret: %w", err)
			}
			return fn(r), nil
		})
	})
}

// afterKey is after as a key to scan from, or nil when it sorts before
// prefix (the scan then starts at the prefix).
func afterKey(prefix, after string) []byte {
	if after == "" || after < prefix {
		return nil
	}
	return []byte(after)
}
