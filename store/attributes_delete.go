package store

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// ReasonTargetNotFound is an attribute's target (a container instance) that
// does not exist.
const ReasonTargetNotFound = "TargetNotFound"

// deleteAttributes removes custom attributes from the instances they target.
// Every target must exist, and an attribute given with a value must have
// that value, before anything is written; an attribute the instance does not
// have is nothing to remove.
func deleteAttributes(c *change, cmd *berthv1.DeleteAttributesCommand) (proto.Message, error) {
	byTarget := map[string][]*berthv1.Attribute{}
	var order []string
	for _, a := range cmd.GetAttributes() {
		if _, ok := byTarget[a.GetTargetId()]; !ok {
			order = append(order, a.GetTargetId())
		}
		byTarget[a.GetTargetId()] = append(byTarget[a.GetTargetId()], a)
	}
	recs := make([]*berthv1.ContainerInstanceRecord, len(order))
	for i, id := range order {
		rec := &berthv1.ContainerInstanceRecord{}
		found, err := get(c.tx, bucketInstances, instanceKey(cmd.GetCluster(), id), rec)
		if err != nil {
			return nil, err
		}
		if !found || IsPoolHost(rec) {
			return nil, refused(apierr.NotFound, ReasonTargetNotFound,
				"Could not find container instance %s in cluster %q", id, cmd.GetCluster())
		}
		c.strs.instance(rec)
		have := map[string]string{}
		for _, a := range rec.Instance.GetAttributes() {
			have[a.GetName()] = a.GetValue()
		}
		for _, a := range byTarget[id] {
			if v, ok := have[a.GetName()]; ok && a.GetValue() != "" && v != a.GetValue() {
				return nil, badParameter("attributes", "attribute %s of container instance %s has the value %q, not %q", a.GetName(), id, v, a.GetValue())
			}
		}
		recs[i] = rec
	}
	for i, rec := range recs {
		drop := map[string]bool{}
		for _, a := range byTarget[order[i]] {
			drop[a.GetName()] = true
		}
		kept := make([]*berthv1.Attribute, 0, len(rec.Instance.GetAttributes()))
		for _, a := range rec.Instance.GetAttributes() {
			if !drop[a.GetName()] {
				kept = append(kept, a)
			}
		}
		if len(kept) == len(rec.Instance.GetAttributes()) {
			continue
		}
		rec.Instance.Attributes = kept
		if err := c.putInstance(rec); err != nil {
			return nil, err
		}
	}
	return &berthv1.DeleteAttributesResponse{Attributes: cmd.GetAttributes()}, nil
}
