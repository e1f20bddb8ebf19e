package store_test

import (
	"context"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/store"
	"github.com/berth/berth/store/storetest"
)

// Tagging a service gives it a new version, so a writer holding the service
// as it was cannot put it back without the tags.
func TestTaggingAServiceStalesOlderCopies(t *testing.T) {
	s := storetest.WithCluster(t, "default")
	put := func(version int32) error {
		_, err := s.Apply(context.Background(), &berthv1.Command{Change: &berthv1.Command_PutService{PutService: &berthv1.PutServiceCommand{
			ExpectedVersion: version,
			Service:         &berthv1.ServiceRecord{Cluster: "default", Service: &berthv1.Service{ServiceName: "web", Status: store.StatusActive}},
		}}})
		return err
	}
	if err := put(0); err != nil {
		t.Fatal(err)
	}
	old, err := s.Service("default", "web")
	if err != nil {
		t.Fatal(err)
	}
	res := &berthv1.TaggedResource{Type: store.TaggedService, Cluster: "default", Name: "web"}
	storetest.Apply(t, s, &berthv1.Command{Change: &berthv1.Command_TagResource{TagResource: &berthv1.TagResourceCommand{
		Resource: res, Tags: []*berthv1.Tag{{Key: "team", Value: "a"}}}}})
	if err := put(old.Version); err != store.ErrServiceChanged {
		t.Fatalf("put at the version before tagging: %v, want ErrServiceChanged", err)
	}
	tags, err := s.ResourceTags(res)
	if err != nil || len(tags) != 1 || tags[0].GetValue() != "a" {
		t.Fatalf("tags %v, %v", tags, err)
	}
	if now, _ := s.Service("default", "web"); len(now.GetService().GetTags()) != 1 {
		t.Fatalf("the service index does not have the tags: %v", now)
	}
}
