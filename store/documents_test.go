package store

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

func TestCollectionPutGetListDelete(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	c := Collection[*wrapperspb.StringValue]{Store: s, Name: "things", New: func() *wrapperspb.StringValue { return &wrapperspb.StringValue{} }}

	if _, ok, err := c.Get("a"); err != nil || ok {
		t.Fatalf("Get of a missing key: ok %v, err %v", ok, err)
	}
	gen, err := c.Put(ctx, 1, "a/1", wrapperspb.String("one"), 0)
	if err != nil || gen != 1 {
		t.Fatalf("first Put: generation %d, err %v", gen, err)
	}
	if _, err := c.Put(ctx, 2, "a/1", wrapperspb.String("again"), 0); !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("Put over an existing key with generation 0: %v, want %s", err, ReasonStale)
	}
	if gen, err = c.Put(ctx, 3, "a/1", wrapperspb.String("uno"), 1); err != nil || gen != 2 {
		t.Fatalf("second Put: generation %d, err %v", gen, err)
	}
	for _, k := range []string{"a/2", "b/1"} {
		if _, err := c.Put(ctx, 4, k, wrapperspb.String(k), 0); err != nil {
			t.Fatal(err)
		}
	}
	rec, ok, err := c.Get("a/1")
	if err != nil || !ok || rec.Value.GetValue() != "uno" || rec.Generation != 2 || rec.UpdatedAt != 3 {
		t.Fatalf("Get: %+v %v %v", rec, ok, err)
	}
	var keys []string
	if err := c.List("a/", "", func(r Stored[*wrapperspb.StringValue]) bool { keys = append(keys, r.Key); return true }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "a/1" || keys[1] != "a/2" {
		t.Fatalf("List a/: %v", keys)
	}
	keys = nil
	c.List("", "a/1", func(r Stored[*wrapperspb.StringValue]) bool { keys = append(keys, r.Key); return len(keys) < 1 })
	if len(keys) != 1 || keys[0] != "a/2" {
		t.Fatalf("List after a/1, one: %v", keys)
	}
	if err := c.Delete(ctx, 5, "a/1", 1); !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("Delete with an old generation: %v", err)
	}
	if err := c.Delete(ctx, 5, "a/1", 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, 5, "a/1", 2); !apierr.HasReason(err, ReasonDocumentNotFound) {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	// A new record under a deleted key starts again at generation 1.
	if gen, err := c.Put(ctx, 6, "a/1", wrapperspb.String("new"), 0); err != nil || gen != 1 {
		t.Fatalf("Put after Delete: %d %v", gen, err)
	}
}

func TestWriteDocumentsIsAllOrNothing(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	if _, err := s.WriteDocuments(ctx, 1, &berthv1.DocumentWrite{Collection: "c", Key: "x", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	rev := s.Revision()
	_, err := s.WriteDocuments(ctx, 2,
		&berthv1.DocumentWrite{Collection: "c", Key: "y", Value: []byte("2")},
		&berthv1.DocumentWrite{Collection: "c", Key: "x", Value: []byte("3")}) // x exists: stale
	if !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("err %v", err)
	}
	if _, ok, _ := s.Document("c", "y"); ok || s.Revision() != rev {
		t.Fatal("a refused command wrote its first document")
	}
	for _, bad := range []*berthv1.DocumentWrite{
		{Collection: "", Key: "k"},
		{Collection: "c", Key: ""},
		{Collection: "c", Key: "a\x00b"},
	} {
		if _, err := s.WriteDocuments(ctx, 3, bad); !apierr.HasReason(err, "InvalidDocumentName") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	_, err = s.WriteDocuments(ctx, 3,
		&berthv1.DocumentWrite{Collection: "c", Key: "z", Value: []byte("1")},
		&berthv1.DocumentWrite{Collection: "c", Key: "z", Delete: true, AnyGeneration: true})
	if !apierr.HasReason(err, "DuplicateDocumentWrite") {
		t.Fatalf("two writes of one key: %v", err)
	}
	// any_generation writes whatever is stored; a delete of nothing is no error.
	if _, err := s.WriteDocuments(ctx, 4, &berthv1.DocumentWrite{Collection: "c", Key: "x", Value: []byte("4"), AnyGeneration: true},
		&berthv1.DocumentWrite{Collection: "c", Key: "gone", Delete: true, AnyGeneration: true}); err != nil {
		t.Fatal(err)
	}
	doc, _, _ := s.Document("c", "x")
	if string(doc.GetValue()) != "4" || doc.GetGeneration() != 2 {
		t.Fatalf("x: %v", doc)
	}
}

func TestCollectionUpdateRetriesStale(t *testing.T) {
	s := openTestStore(t)
	ctx := context.Background()
	c := Collection[*wrapperspb.Int64Value]{Store: s, Name: "counters", New: func() *wrapperspb.Int64Value { return &wrapperspb.Int64Value{} }}
	done := make(chan error, 4)
	for range 4 {
		go func() {
			var err error
			for range 10 {
				if _, err = c.Update(ctx, 1, "n", func(old *wrapperspb.Int64Value, _ bool) (*wrapperspb.Int64Value, error) {
					return wrapperspb.Int64(old.GetValue() + 1), nil
				}); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	rec, _, _ := c.Get("n")
	if rec.Value.GetValue() != 40 || rec.Generation != 40 {
		t.Fatalf("after 40 increments: %d at generation %d", rec.Value.GetValue(), rec.Generation)
	}
}

func openTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
