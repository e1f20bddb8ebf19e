package ecsapi

import (
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func cloneInstance(in *berthv1.ContainerInstance) *berthv1.ContainerInstance {
	return proto.Clone(in).(*berthv1.ContainerInstance)
}

func cloneTask(t *berthv1.Task) *berthv1.Task { return proto.Clone(t).(*berthv1.Task) }
