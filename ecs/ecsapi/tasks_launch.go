package ecsapi

import (
	"google.golang.org/protobuf/types/known/structpb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/store"
)

// taskLaunch is what RunTask and StartTask say about the tasks beyond their
// placement: EBS volumes (refused: berth has no EBS), ECS Exec (kept on the
// tasks) and which tags the tasks take from their task definition.
type taskLaunch struct {
	volumeConfigurations []*structpb.Struct
	enableExecuteCommand bool
	propagateTags        string
}

func runTaskLaunch(req *berthv1.RunTaskRequest) taskLaunch {
	return taskLaunch{volumeConfigurations: req.GetVolumeConfigurations(), enableExecuteCommand: req.GetEnableExecuteCommand(),
		propagateTags: req.GetPropagateTags()}
}

func (l taskLaunch) check() error {
	if len(l.volumeConfigurations) > 0 {
		return ecserr.Param("volumeConfigurations", "not supported by berth: it has no EBS volumes to attach")
	}
	switch l.propagateTags {
	case "", "NONE", "TASK_DEFINITION":
	case "SERVICE":
		return ecserr.Param("propagateTags", "SERVICE is for a service's tasks: a task started alone takes TASK_DEFINITION or NONE")
	default:
		return ecserr.Param("propagateTags", "must be TASK_DEFINITION or NONE, got %q", l.propagateTags)
	}
	return nil
}

// withTags is the tags of the tasks: the request's and, with propagateTags
// TASK_DEFINITION, the task definition's, a request tag winning over a task
// definition tag of the same key; at most 50.
func (l taskLaunch) withTags(rec *berthv1.TaskDefinitionRecord, tags []*berthv1.Tag) ([]*berthv1.Tag, error) {
	if l.propagateTags != "TASK_DEFINITION" || len(rec.GetTags()) == 0 {
		return tags, nil
	}
	given := make(map[string]bool, len(tags))
	for _, t := range tags {
		given[t.GetKey()] = true
	}
	var out []*berthv1.Tag
	for _, t := range rec.GetTags() {
		if !given[t.GetKey()] {
			out = append(out, t)
		}
	}
	out = append(out, tags...)
	if len(out) > store.MaxTags {
		return nil, ecserr.Param("propagateTags", "the task would have %d tags with its task definition's, more than %d", len(out), store.MaxTags)
	}
	return out, nil
}

// checkInferenceOverrides refuses Elastic Inference overrides.
func checkInferenceOverrides(o *berthv1.TaskOverride) error {
	if len(o.GetInferenceAcceleratorOverrides()) > 0 {
		return ecserr.Param("overrides.inferenceAcceleratorOverrides",
			"not supported by berth: Elastic Inference accelerators are no longer available, and berth has none")
	}
	return nil
}
