package store

import (
	"context"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Parameters and secrets are replaced whole only over the generation read.
func TestParameterAndSecretGenerations(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	putParam := func(gen uint64, version int32) error {
		_, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutParameterRecord{PutParameterRecord: &berthv1.PutParameterRecordCommand{
			Record: &berthv1.ParameterRecord{Name: "/a", Versions: []*berthv1.ParameterVersionRecord{{Version: version}}}, ReplacesGeneration: gen}}})
		return err
	}
	if err := putParam(0, 1); err != nil {
		t.Fatal(err)
	}
	if err := putParam(0, 9); !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("a second create: %v", err)
	}
	if err := putParam(1, 2); err != nil {
		t.Fatal(err)
	}
	if err := putParam(1, 9); !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("a stale replace: %v", err)
	}
	p, err := s.Parameter("/a")
	if err != nil || p.GetGeneration() != 2 || p.GetVersions()[0].GetVersion() != 2 {
		t.Fatalf("stored: %v, %v", p, err)
	}
	for _, name := range []string{"/a/b", "/b"} {
		if _, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutParameterRecord{PutParameterRecord: &berthv1.PutParameterRecordCommand{
			Record: &berthv1.ParameterRecord{Name: name}}}}); err != nil {
			t.Fatal(err)
		}
	}
	var under []string
	s.Parameters("/a", "", func(p *berthv1.ParameterRecord) bool { under = append(under, p.GetName()); return true })
	if len(under) != 2 {
		t.Fatalf("under /a: %v", under)
	}
	under = nil
	s.Parameters("/", "/a", func(p *berthv1.ParameterRecord) bool { under = append(under, p.GetName()); return true })
	if len(under) != 2 || under[0] != "/a/b" {
		t.Fatalf("after /a: %v", under)
	}
	res, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteParameterRecords{DeleteParameterRecords: &berthv1.DeleteParameterRecordsCommand{Names: []string{"/a", "/nope"}}}})
	if err != nil || len(res.(*berthv1.DeleteParameterRecordsResult).GetDeleted()) != 1 {
		t.Fatalf("delete: %v, %v", res, err)
	}

	if _, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_PutSecretRecord{PutSecretRecord: &berthv1.PutSecretRecordCommand{
		Record: &berthv1.SecretRecord{Name: "db"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteSecretRecord{DeleteSecretRecord: &berthv1.DeleteSecretRecordCommand{Name: "db", ReplacesGeneration: 7}}}); !apierr.HasReason(err, ReasonStale) {
		t.Fatalf("a stale delete: %v", err)
	}
	if _, err := s.Apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeleteSecretRecord{DeleteSecretRecord: &berthv1.DeleteSecretRecordCommand{Name: "db", ReplacesGeneration: 1}}}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Secret("db"); r != nil || err != nil {
		t.Fatalf("after delete: %v, %v", r, err)
	}
}

// A file from a build before these buckets gets them at Open, with its
// schema version unchanged.
func TestAddedBucketsAreMadeAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range openBuckets {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.Parameter("/x"); p != nil || err != nil {
		t.Fatalf("parameters bucket: %v", err)
	}
	if err := s.Secrets(func(*berthv1.SecretRecord) bool { return true }); err != nil {
		t.Fatalf("secrets bucket: %v", err)
	}
	s.db.View(func(tx *bolt.Tx) error {
		if v := schemaVersion(tx); v != SchemaVersion() {
			t.Errorf("schema version %d", v)
		}
		return nil
	})
}
