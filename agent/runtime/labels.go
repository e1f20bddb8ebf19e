package runtime

// Labels every berth container carries. The Docker labels contract: an agent that
// restarts lists its containers by LabelInstanceARN and re-adopts them by the rest.
const (
	LabelTaskARN       = "berth.task-arn"
	LabelContainerName = "berth.container-name"
	LabelCluster       = "berth.cluster"
	LabelInstanceARN   = "berth.instance-arn"
)

// Owner says which task container a runtime container is: it becomes the berth labels.
type Owner struct {
	TaskARN              string
	ContainerName        string // the container definition's name
	Cluster              string
	ContainerInstanceARN string
}

// Labels returns the labels of a container with spec: its dockerLabels overlaid with
// the owner's berth labels, which a dockerLabel cannot override. Empty owner fields are
// left out.
func (s ContainerSpec) Labels() map[string]string {
	out := make(map[string]string, len(s.DockerLabels)+4)
	for k, v := range s.DockerLabels {
		out[k] = v
	}
	for k, v := range map[string]string{
		LabelTaskARN:       s.Owner.TaskARN,
		LabelContainerName: s.Owner.ContainerName,
		LabelCluster:       s.Owner.Cluster,
		LabelInstanceARN:   s.Owner.ContainerInstanceARN,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// MatchLabels reports whether have carries every label in want; a wanted value of ""
// matches any value.
func MatchLabels(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}
