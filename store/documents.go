package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// bucketDocuments holds the documents of the services that keep their own
// record types (Lambda, S3's bucket settings, EventBridge, ELB, auto
// scaling): one nested bucket per collection, made at the first write into
// it. It is one of the openBuckets.
var bucketDocuments = []byte("documents")

// KindDocument is an event about a document; its Key is
// DocumentEventKey(collection, key) and its Value a *berthv1.Document.
const KindDocument Kind = "document"

// ReasonDocumentNotFound: a deletion named a document that is not stored.
const ReasonDocumentNotFound = "DocumentNotFound"

// DocumentEventKey is the Key of a KindDocument event.
func DocumentEventKey(collection, key string) string { return collection + "\x00" + key }

// validDocumentName: collection and key names are non-empty and carry no 0x00,
// the separator of DocumentEventKey.
func validDocumentName(what, s string) error {
	if s == "" || bytes.IndexByte([]byte(s), 0) >= 0 {
		return refused(apierr.InvalidArgument, "InvalidDocumentName", "document %s %q must be non-empty and hold no NUL byte", what, s)
	}
	return nil
}

// writeDocuments checks every write's condition before the first write, so a
// refused command writes nothing.
func writeDocuments(c *change, cmd *berthv1.WriteDocumentsCommand) (proto.Message, error) {
	res := &berthv1.WriteDocumentsResult{}
	olds := make([]*berthv1.Document, len(cmd.GetWrites()))
	for i, w := range cmd.GetWrites() {
		if err := validDocumentName("collection", w.GetCollection()); err != nil {
			return nil, err
		}
		if err := validDocumentName("key", w.GetKey()); err != nil {
			return nil, err
		}
		old, found, err := getDocument(c.tx, w.GetCollection(), w.GetKey())
		if err != nil {
			return nil, err
		}
		for _, p := range cmd.GetWrites()[:i] {
			if p.GetCollection() == w.GetCollection() && p.GetKey() == w.GetKey() {
				return nil, refused(apierr.InvalidArgument, "DuplicateDocumentWrite", "%s %q is written twice in one command", w.GetCollection(), w.GetKey())
			}
		}
		if !found {
			old = &berthv1.Document{}
		}
		if w.GetDelete() && !found && !w.GetAnyGeneration() {
			return nil, refused(apierr.NotFound, ReasonDocumentNotFound, "%s %q not found", w.GetCollection(), w.GetKey())
		}
		if !w.GetAnyGeneration() {
			if err := checkGeneration(w.GetCollection(), w.GetKey(), old.GetGeneration(), w.GetIfGeneration()); err != nil {
				return nil, err
			}
		}
		olds[i] = old
	}
	for i, w := range cmd.GetWrites() {
		coll, err := c.tx.Bucket(bucketDocuments).CreateBucketIfNotExists([]byte(w.GetCollection()))
		if err != nil {
			return nil, err
		}
		evKey := DocumentEventKey(w.GetCollection(), w.GetKey())
		if w.GetDelete() {
			if olds[i].GetCollection() == "" {
				res.Documents = append(res.Documents, &berthv1.Document{})
				continue
			}
			if err := coll.Delete([]byte(w.GetKey())); err != nil {
				return nil, err
			}
			c.events = append(c.events, Event{Revision: c.revision, Kind: KindDocument, Key: evKey, Value: olds[i], Deleted: true})
			res.Documents = append(res.Documents, olds[i])
			continue
		}
		doc := &berthv1.Document{
			Collection: w.GetCollection(),
			Key:        w.GetKey(),
			Value:      w.GetValue(),
			Generation: olds[i].GetGeneration() + 1,
			UpdatedAt:  c.at,
		}
		v, err := proto.MarshalOptions{Deterministic: true}.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if err := coll.Put([]byte(w.GetKey()), v); err != nil {
			return nil, err
		}
		c.events = append(c.events, Event{Revision: c.revision, Kind: KindDocument, Key: evKey, Value: doc})
		res.Documents = append(res.Documents, doc)
	}
	return res, nil
}

func getDocument(tx *bolt.Tx, collection, key string) (*berthv1.Document, bool, error) {
	coll := tx.Bucket(bucketDocuments).Bucket([]byte(collection))
	if coll == nil {
		return nil, false, nil
	}
	v := coll.Get([]byte(key))
	if v == nil {
		return nil, false, nil
	}
	doc := &berthv1.Document{}
	if err := proto.Unmarshal(v, doc); err != nil {
		return nil, false, fmt.Errorf("decode document %s/%q: %w", collection, key, err)
	}
	return doc, true, nil
}

// Document returns the document collection/key, or ok false.
func (s *Store) Document(collection, key string) (doc *berthv1.Document, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		doc, ok, err = getDocument(tx, collection, key)
		return err
	})
	return doc, ok, err
}

// Documents calls fn with the documents of collection whose keys start with
// prefix and sort after after (""; from the first), in key order, until fn
// returns false.
func (s *Store) Documents(collection, prefix, after string, fn func(*berthv1.Document) bool) error {
	return s.view(func(tx *bolt.Tx) error {
		coll := tx.Bucket(bucketDocuments).Bucket([]byte(collection))
		if coll == nil {
			return nil
		}
		cur := coll.Cursor()
		k, v := cur.Seek([]byte(prefix))
		if after != "" && after >= prefix {
			k, v = cur.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = cur.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, []byte(prefix)); k, v = cur.Next() {
			doc := &berthv1.Document{}
			if err := proto.Unmarshal(v, doc); err != nil {
				return fmt.Errorf("decode document %s/%q: %w", collection, k, err)
			}
			if !fn(doc) {
				return nil
			}
		}
		return nil
	})
}

// WriteDocuments applies writes together (see berthv1.WriteDocumentsCommand)
// at time at and returns the documents as written.
func (s *Store) WriteDocuments(ctx context.Context, at float64, writes ...*berthv1.DocumentWrite) ([]*berthv1.Document, error) {
	out, err := s.Apply(ctx, &berthv1.Command{At: at, Change: &berthv1.Command_WriteDocuments{
		WriteDocuments: &berthv1.WriteDocumentsCommand{Writes: writes},
	}})
	if err != nil {
		return nil, err
	}
	return out.(*berthv1.WriteDocumentsResult).GetDocuments(), nil
}
