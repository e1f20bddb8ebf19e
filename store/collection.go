package store

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Collection is a typed view of one collection of documents: a service keeps
// its records, of its own protobuf type T, under string keys it chooses.
type Collection[T proto.Message] struct {
	Store *Store
	// Name is the collection's name ("lambda-functions"): unique per service
	// and record type.
	Name string
	// New returns an empty T to decode into.
	New func() T
}

// Stored is a record read from a collection with its generation.
type Stored[T proto.Message] struct {
	Key        string
	Value      T
	Generation uint64
	UpdatedAt  float64
}

func (c Collection[T]) decode(doc *berthv1.Document) (Stored[T], error) {
	v := c.New()
	if err := proto.Unmarshal(doc.GetValue(), v); err != nil {
		return Stored[T]{}, fmt.Errorf("decode %s/%q: %w", c.Name, doc.GetKey(), err)
	}
	return Stored[T]{Key: doc.GetKey(), Value: v, Generation: doc.GetGeneration(), UpdatedAt: doc.GetUpdatedAt()}, nil
}

// Get returns the record of key, or ok false.
func (c Collection[T]) Get(key string) (rec Stored[T], ok bool, err error) {
	doc, ok, err := c.Store.Document(c.Name, key)
	if err != nil || !ok {
		return Stored[T]{}, false, err
	}
	rec, err = c.decode(doc)
	return rec, err == nil, err
}

// List calls fn with the records whose keys start with prefix and sort after
// after, in key order, until fn returns false.
func (c Collection[T]) List(prefix, after string, fn func(Stored[T]) bool) error {
	var decodeErr error
	err := c.Store.Documents(c.Name, prefix, after, func(doc *berthv1.Document) bool {
		rec, err := c.decode(doc)
		if err != nil {
			decodeErr = err
			return false
		}
		return fn(rec)
	})
	if err != nil {
		return err
	}
	return decodeErr
}

// PutWrite is the write that stores v under key if the stored record is still
// of generation ifGeneration (0: there must be none).
func (c Collection[T]) PutWrite(key string, v T, ifGeneration uint64) (*berthv1.DocumentWrite, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &berthv1.DocumentWrite{Collection: c.Name, Key: key, Value: b, IfGeneration: ifGeneration}, nil
}

// DeleteWrite is the write that deletes key if it is still of generation
// ifGeneration.
func (c Collection[T]) DeleteWrite(key string, ifGeneration uint64) *berthv1.DocumentWrite {
	return &berthv1.DocumentWrite{Collection: c.Name, Key: key, Delete: true, IfGeneration: ifGeneration}
}

// Put stores v under key if the stored record is still of ifGeneration (0:
// there must be none; otherwise the refusal has reason ReasonStale) and
// returns the new generation.
func (c Collection[T]) Put(ctx context.Context, at float64, key string, v T, ifGeneration uint64) (uint64, error) {
	w, err := c.PutWrite(key, v, ifGeneration)
	if err != nil {
		return 0, err
	}
	docs, err := c.Store.WriteDocuments(ctx, at, w)
	if err != nil {
		return 0, err
	}
	return docs[0].GetGeneration(), nil
}

// Delete removes key if it is still of ifGeneration.
func (c Collection[T]) Delete(ctx context.Context, at float64, key string, ifGeneration uint64) error {
	_, err := c.Store.WriteDocuments(ctx, at, c.DeleteWrite(key, ifGeneration))
	return err
}

// maxUpdateAttempts bounds Update's retries under contention.
const maxUpdateAttempts = 100

// Update reads key, lets fn decide its new value (fn gets ok false when none
// is stored; returning an error writes nothing), and stores it guarded by the
// generation read, retrying from the read when another writer got there
// first. It returns what was stored.
func (c Collection[T]) Update(ctx context.Context, at float64, key string, fn func(old T, ok bool) (T, error)) (Stored[T], error) {
	for attempt := 1; ; attempt++ {
		old, ok, err := c.Get(key)
		if err != nil {
			return Stored[T]{}, err
		}
		if !ok {
			old.Value = c.New()
		}
		v, err := fn(old.Value, ok)
		if err != nil {
			return Stored[T]{}, err
		}
		gen, err := c.Put(ctx, at, key, v, old.Generation)
		if apierr.HasReason(err, ReasonStale) && attempt < maxUpdateAttempts {
			continue
		}
		if err != nil {
			return Stored[T]{}, err
		}
		return Stored[T]{Key: key, Value: v, Generation: gen, UpdatedAt: at}, nil
	}
}
