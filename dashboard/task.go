package dashboard

import (
	"net/http"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TaskDetail is what the page shows of one task: its containers and why it
// is where it is (ExplainTask).
type TaskDetail struct {
	Task       Task        `json:"task"`
	Containers []Container `json:"containers"`
	// StoppedReason, when the task is stopping.
	StoppedReason string       `json:"stoppedReason,omitempty"`
	Explanation   *Explanation `json:"explanation,omitempty"`
	// Note says why there is no explanation, or why the task waits.
	Note string `json:"note,omitempty"`
	// Waiting is the service's latest placement failure, for a task that
	// is not placed yet.
	Waiting *Failure `json:"waiting,omitempty"`
	// TaskRoleArn is the role the task's containers act as; ExecutionRoleArn
	// the one its secrets are read for (RunTask's overrides, else the task
	// definition's).
	TaskRoleArn      string `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn string `json:"executionRoleArn,omitempty"`
	// Secrets are the containers' secrets by name and reference, never
	// their values.
	Secrets []SecretRef `json:"secrets"`
}

// SecretRef is one of a container's secrets: an environment variable (or a
// log driver option) and the parameter or secret it comes from.
type SecretRef struct {
	Container string `json:"container"`
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
	// LogOption says it is a logConfiguration.secretOptions entry.
	LogOption bool `json:"logOption,omitempty"`
}

// Container is one of a task's containers.
type Container struct {
	Name         string    `json:"name"`
	Image        string    `json:"image"`
	LastStatus   string    `json:"lastStatus"`
	HealthStatus string    `json:"healthStatus,omitempty"`
	ExitCode     *int32    `json:"exitCode,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Ports        []Binding `json:"ports"`
}

// Binding is a host port.
type Binding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

// Explanation is how a task was placed: the instances that passed every
// filter, then each strategy's ranking.
type Explanation struct {
	Candidates    int32  `json:"candidates"`
	Steps         []Step `json:"steps"`
	TieBreak      string `json:"tieBreak,omitempty"`
	NamedInstance bool   `json:"namedInstance"`
}

// Step is one strategy's part in a placement.
type Step struct {
	Strategy   string `json:"strategy"`
	Candidates int32  `json:"candidates"`
	Best       int32  `json:"best"`
	Score      int64  `json:"score"`
}

// task is GET /dashboard/api/task?cluster=C&task=ID.
func (d *Dashboard) task(w http.ResponseWriter, r *http.Request) {
	cluster, err := d.cluster(r)
	if err != nil {
		writeError(w, err, "cluster")
		return
	}
	id := r.URL.Query().Get("task")
	if err := required("task", id); err != nil {
		writeError(w, err, "")
		return
	}
	id = lastPart(id)
	rec, err := d.cfg.Store.Task(cluster, id)
	if err != nil {
		writeError(w, err, "task")
		return
	}
	ex, err := d.cfg.API.Berth().ExplainTask(r.Context(), &berthv1.ExplainTaskRequest{Cluster: cluster, Task: id})
	if err != nil {
		writeError(w, err, "task")
		return
	}
	t := rec.GetTask()
	out := TaskDetail{Task: task(rec), Containers: []Container{}, StoppedReason: t.GetStoppedReason(), Note: ex.GetNote()}
	for _, c := range t.GetContainers() {
		ct := Container{Name: c.GetName(), Image: c.GetImage(), LastStatus: c.GetLastStatus(), HealthStatus: c.GetHealthStatus(),
			ExitCode: c.ExitCode, Reason: c.GetReason(), Ports: []Binding{}}
		for _, b := range c.GetNetworkBindings() {
			ct.Ports = append(ct.Ports, Binding{BindIP: b.GetBindIp(), ContainerPort: b.GetContainerPort(), HostPort: b.GetHostPort(), Protocol: b.GetProtocol()})
		}
		out.Containers = append(out.Containers, ct)
	}
	if p := ex.GetPlacement(); p != nil {
		e := &Explanation{Candidates: p.GetCandidates(), Steps: []Step{}, TieBreak: p.GetTieBreak(), NamedInstance: p.GetNamedInstance()}
		for _, s := range p.GetSteps() {
			e.Steps = append(e.Steps, Step{Strategy: s.GetStrategy(), Candidates: s.GetCandidates(), Best: s.GetBest(), Score: s.GetScore()})
		}
		out.Explanation = e
	}
	d.addSecrets(&out, rec)
	if rec.GetInstanceId() == "" && out.Task.Service != "" {
		out.Waiting = d.explainService(r.Context(), cluster, out.Task.Service)
	}
	writeJSON(w, http.StatusOK, out)
}

// addSecrets fills in the task's roles and its containers' secrets (names
// and references) from its task definition.
func (d *Dashboard) addSecrets(out *TaskDetail, rec *berthv1.TaskRecord) {
	out.Secrets = []SecretRef{}
	tdr, err := d.cfg.Store.TaskDefinition(rec.GetFamily(), rec.GetRevision())
	if err != nil {
		return
	}
	td, o := tdr.GetTaskDefinition(), rec.GetTask().GetOverrides()
	out.TaskRoleArn, out.ExecutionRoleArn = td.GetTaskRoleArn(), td.GetExecutionRoleArn()
	if r := o.GetTaskRoleArn(); r != "" {
		out.TaskRoleArn = r
	}
	if r := o.GetExecutionRoleArn(); r != "" {
		out.ExecutionRoleArn = r
	}
	for _, cd := range td.GetContainerDefinitions() {
		for _, s := range cd.GetSecrets() {
			out.Secrets = append(out.Secrets, SecretRef{Container: cd.GetName(), Name: s.GetName(), ValueFrom: s.GetValueFrom()})
		}
		for _, s := range cd.GetLogConfiguration().GetSecretOptions() {
			out.Secrets = append(out.Secrets, SecretRef{Container: cd.GetName(), Name: s.GetName(), ValueFrom: s.GetValueFrom(), LogOption: true})
		}
	}
}
