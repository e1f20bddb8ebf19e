// Package storetest gives other packages' tests a real store on a temporary
// state file.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
)

// Open opens a store on a new file in t's temporary directory and closes it
// when t ends.
func Open(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// WithCluster opens a store holding one ACTIVE cluster, name.
func WithCluster(t testing.TB, name string) *store.Store {
	t.Helper()
	s := Open(t)
	Apply(t, s, &berthv1.Command{Change: &berthv1.Command_CreateCluster{CreateCluster: &berthv1.CreateClusterCommand{
		Cluster: &berthv1.Cluster{ClusterName: name, Status: store.StatusActive}}}})
	return s
}

// Apply applies cmd and fails t if it is refused.
func Apply(t testing.TB, s *store.Store, cmd *berthv1.Command) proto.Message {
	t.Helper()
	res, err := s.Apply(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return res
}
