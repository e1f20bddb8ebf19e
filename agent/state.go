package agent

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// StateFile is the agent's bbolt file in its data dir.
const StateFile = "agent.db"

var (
	bucketAgent    = []byte("agent")
	keyInstanceID  = []byte("instance-id")
	keyInstanceARN = []byte("container-instance-arn")
	keyEndpoint    = []byte("task-endpoint-key")
)

// state is what the agent keeps across restarts, as the ECS agent keeps its
// own: the instance's identity and the container instance ARN it was given.
type state struct {
	db *bolt.DB
}

func openState(dir string) (*state, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent data dir: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, StateFile), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("agent state: %w (is another agent using this data dir?)", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAgent)
		if err != nil {
			return err
		}
		if b.Get(keyInstanceID) == nil {
			id := make([]byte, 9)
			rand.Read(id)
			return b.Put(keyInstanceID, []byte("i-"+hex.EncodeToString(id)[:17]))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &state{db: db}, nil
}

func (s *state) get(key []byte) string {
	var v string
	s.db.View(func(tx *bolt.Tx) error {
		v = string(tx.Bucket(bucketAgent).Get(key))
		return nil
	})
	return v
}

func (s *state) put(key []byte, value string) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAgent).Put(key, []byte(value)) })
}

func (s *state) instanceID() string  { return s.get(keyInstanceID) }
func (s *state) instanceARN() string { return s.get(keyInstanceARN) }
func (s *state) setInstanceARN(arn string) error {
	return s.put(keyInstanceARN, arn)
}
func (s *state) close() error { return s.db.Close() }

// endpointKey is the task endpoint's key (taskendpoint.Config.Key), made at
// the first start and kept, so that the URIs and tokens a container was given
// outlive the agent's restarts.
func (s *state) endpointKey() ([]byte, error) {
	if k := s.get(keyEndpoint); k != "" {
		return hex.DecodeString(k)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, s.put(keyEndpoint, hex.EncodeToString(k))
}
