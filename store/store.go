package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// ErrClosed is returned by Apply once Close has begun.
var ErrClosed = errors.New("store: closed")

// Options tune a Store; the zero value is the production setting.
type Options struct {
	// MaxBatch caps how many queued commands one transaction applies
	// (default 512).
	MaxBatch int
	// OnCommit, if set, is called after each durable transaction with the
	// number of commands it held and how long the commit took (for metrics).
	OnCommit func(commands int, took time.Duration)
}

// Store is berth's state in one bbolt file. Its methods are safe for
// concurrent use.
type Store struct {
	db        *bolt.DB
	opts      Options
	queue     chan *proposal
	closing   chan struct{}
	done      chan struct{}
	close     sync.Once
	revision  atomic.Uint64
	watchers  watchers
	taskDefs  taskDefIndex
	instances objectIndex[*berthv1.ContainerInstanceRecord]
	tasks     taskIndex
	services  objectIndex[*berthv1.ServiceRecord]
	strs      interner // for the records kept in memory; see interner
}

// Open opens the state file at path (a missing one is a first start: it is
// made), runs pending migrations and starts the writer. A file that is
// empty, truncated or corrupt is refused with a *CorruptError and left as
// it is. The caller must Close it.
func Open(path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if err := checkFile(path); err != nil {
		return nil, err
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	db, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(db, migrations); err != nil {
		db.Close()
		return nil, err
	}
	if err := ensureBuckets(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		opts:    opts,
		queue:   make(chan *proposal, opts.MaxBatch),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	err = db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyRevision); len(v) == 8 {
			s.revision.Store(binary.BigEndian.Uint64(v))
		}
		err := s.instances.load(tx.Bucket(bucketInstances), func(v []byte) (*berthv1.ContainerInstanceRecord, error) {
			rec, err := decodeInstance(v)
			s.strs.instance(rec)
			return rec, err
		})
		if err != nil {
			return err
		}
		s.tasks.init()
		err = s.tasks.load(tx.Bucket(bucketTasks), func(v []byte) (*berthv1.TaskRecord, error) {
			rec, err := decodeTask(v)
			s.strs.task(rec)
			return rec, err
		})
		if err != nil {
			return err
		}
		if err := s.services.load(tx.Bucket(bucketServices), decodeService); err != nil {
			return err
		}
		return s.taskDefs.load(tx)
	})
	if err != nil {
		db.Close()
		return nil, &CorruptError{Path: path, Reason: err.Error()}
	}
	releaseMapped(db) // the load read every page; an error only leaves them mapped
	go s.write()
	return s, nil
}

// openBolt opens the state file with bbolt. checkFile has looked at it;
// what it does not check (the order of keys across pages) bbolt's walk at
// open reports by a panic in the caller's goroutine, returned here as a
// *CorruptError, as are bbolt's own errors for an invalid file.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &CorruptError{Path: path, Reason: fmt.Sprint(r)}
		}
	}()
	db, err = bolt.Open(path, 0o600, boltOptions())
	switch {
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, &CorruptError{Path: path, Reason: err.Error()}
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// boltOptions are the options the state file is opened with.
func boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout: 2 * time.Second,
		// As etcd runs bbolt: the freelist is not written on every commit
		// (that cost grows with the file) but rebuilt at open, and kept as
		// a map, which frees and allocates pages in constant time.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	}
}

// createFile makes the state file at path if there is none, whole or not
// at all: bbolt writes its first pages (and syncs them) in a file beside
// it, which is renamed into place and the rename synced. A first start cut
// short leaves that file (removed at the next) or a whole state file, never
// an empty one, which Open refuses.
func createFile(path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there is one (or Open's errors will say what is wrong)
	}
	tmp := path + ".new"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("create %s: %w", path, err)
	}
	db, err := bolt.Open(tmp, 0o600, boltOptions())
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("create %s: sync its directory: %w", path, err)
	}
	return nil
}

// Close stops the writer after the commands already queued are applied,
// closes every watch and closes the file.
func (s *Store) Close() error {
	s.close.Do(func() { close(s.closing) })
	<-s.done
	s.watchers.closeAll()
	return s.db.Close()
}

// Revision is the revision of the last applied change.
func (s *Store) Revision() uint64 { return s.revision.Load() }

// Apply applies cmd durably and returns what it produced (the stored object).
// A rejected command returns its *apierr.Error and changes nothing. If ctx
// ends after the command was queued, Apply returns ctx.Err() but the command
// may still be applied.
func (s *Store) Apply(ctx context.Context, cmd *berthv1.Command) (proto.Message, error) {
	p := &proposal{cmd: cmd, done: make(chan struct{})}
	select {
	case <-s.closing:
		return nil, ErrClosed
	default:
	}
	select {
	case s.queue <- p:
	case <-s.closing:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-p.done:
		return p.result, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

func get(tx *bolt.Tx, bucket, key []byte, m proto.Message) (bool, error) {
	v := tx.Bucket(bucket).Get(key)
	if v == nil {
		return false, nil
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("decode %s/%q: %w", bucket, key, err)
	}
	return true, nil
}

func put(tx *bolt.Tx, bucket, key []byte, m proto.Message) error {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s/%q: %w", bucket, key, err)
	}
	return tx.Bucket(bucket).Put(key, v)
}
