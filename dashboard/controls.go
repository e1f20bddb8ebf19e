package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/controlplane/bearer"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/store"
)

// maxBody bounds a control's request body.
const maxBody = 64 << 10

// apiError is the JSON body of every error the dashboard's API answers.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	// Detail is berth's own words when Error is ECS's text, word for word.
	Detail string `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// fieldError is a rejection of one request field.
type fieldError struct {
	code  int
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func badField(field, format string, args ...any) *fieldError {
	return &fieldError{code: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// writeError answers err: a *fieldError as it is; an ECS API error with the
// status of its class, naming the field its message starts with ("path:
// rule") or else notFoundField for a NotFound.
func writeError(w http.ResponseWriter, err error, notFoundField string) {
	var fe *fieldError
	if errors.As(err, &fe) {
		writeJSON(w, fe.code, apiError{Error: fe.Error(), Field: fe.field})
		return
	}
	e := apierr.From(err)
	code := http.StatusInternalServerError
	field := ""
	switch e.Class {
	case apierr.InvalidArgument:
		code, field = http.StatusBadRequest, e.Field
	case apierr.NotFound:
		code, field = http.StatusNotFound, notFoundField
		switch e.Reason {
		case store.ReasonClusterNotFound:
			field = "cluster"
		case store.ReasonServiceNotFound:
			field = "service"
		}
	case apierr.FailedPrecondition, apierr.AlreadyExists:
		code = http.StatusConflict
	case apierr.Unauthenticated:
		code = http.StatusUnauthorized
	case apierr.PermissionDenied:
		code = http.StatusForbidden
	case apierr.ResourceExhausted:
		code = http.StatusTooManyRequests
	case apierr.Unimplemented:
		code = http.StatusNotImplemented
	}
	writeJSON(w, code, apiError{Error: e.Message, Field: field, Detail: e.Detail})
}

// admin lets through requests that carry the admin token, compared in
// constant time as the gRPC API does, or a token IsAdmin takes.
func (d *Dashboard) admin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		credentials := r.Header.Get("Authorization")
		if got, ok := strings.CutPrefix(credentials, "Bearer "); !ok || got == "" {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing token: send the admin token as 'Authorization: Bearer <token>'", Field: "authorization"})
			return
		}
		if !bearer.Matches(credentials, d.cfg.AdminToken) && (d.cfg.IsAdmin == nil || !d.cfg.IsAdmin(strings.TrimPrefix(credentials, "Bearer "))) {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "wrong token: the demo controls take the admin token (admin.token in the control plane's data dir) or an access token of scope admin", Field: "authorization"})
			return
		}
		next(w, r)
	}
}

// decode reads a control's JSON body strictly into v.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var (
		typeErr *json.UnmarshalTypeError
		syntax  *json.SyntaxError
		tooBig  *http.MaxBytesError
	)
	switch {
	case err == nil:
		if dec.More() {
			return badField("body", "one JSON object expected")
		}
		if _, err := dec.Token(); err != io.EOF {
			return badField("body", "one JSON object expected")
		}
		return nil
	case errors.As(err, &typeErr):
		return badField(typeErr.Field, "must be a JSON %s", typeErr.Type.Kind())
	case errors.As(err, &syntax), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badField("body", "not a JSON object: %v", err)
	case errors.As(err, &tooBig):
		return &fieldError{code: http.StatusRequestEntityTooLarge, field: "body", msg: fmt.Sprintf("larger than %d bytes", maxBody)}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badField(strings.Trim(f, `"`), "unknown field")
	}
	return badField("body", "%v", err)
}

// clusterParam is a control's cluster ("default" when empty).
func clusterParam(c string) string {
	if c == "" {
		return ecsapi.DefaultCluster
	}
	return c
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return badField(field, "is required")
	}
	return nil
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

type scaleRequest struct {
	Cluster      string `json:"cluster"`
	Service      string `json:"service"`
	DesiredCount *int32 `json:"desiredCount"`
}

// scale sets a service's desired count (UpdateService).
func (d *Dashboard) scale(w http.ResponseWriter, r *http.Request) {
	var req scaleRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("service", req.Service)
	}
	if err == nil {
		switch {
		case req.DesiredCount == nil:
			err = badField("desiredCount", "is required")
		case *req.DesiredCount < 0:
			err = badField("desiredCount", "must be 0 or more, got %d", *req.DesiredCount)
		}
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	res, err := d.cfg.API.UpdateService(r.Context(), &berthv1.UpdateServiceRequest{
		Cluster: clusterParam(req.Cluster), Service: req.Service, DesiredCount: proto.Int32(*req.DesiredCount),
	})
	if err != nil {
		writeError(w, err, "service")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": res.GetService().GetServiceName(), "desiredCount": res.GetService().GetDesiredCount()})
}

// strategies are the placement strategies the page offers, by the name it
// shows.
var strategies = []struct {
	name string
	list []*berthv1.PlacementStrategy
}{
	{"binpack(memory)", []*berthv1.PlacementStrategy{{Type: "binpack", Field: "memory"}}},
	{"spread(instanceId)", []*berthv1.PlacementStrategy{{Type: "spread", Field: "instanceId"}}},
	{"binpack(resources)", []*berthv1.PlacementStrategy{{Type: "binpack", Field: "resources"}}},
	{"spread(attribute:ecs.availability-zone), binpack(memory)", []*berthv1.PlacementStrategy{
		{Type: "spread", Field: "attribute:ecs.availability-zone"}, {Type: "binpack", Field: "memory"}}},
}

func strategyNames() []string {
	out := make([]string, len(strategies))
	for i, s := range strategies {
		out[i] = s.name
	}
	return out
}

type strategyRequest struct {
	Cluster  string `json:"cluster"`
	Service  string `json:"service"`
	Strategy string `json:"strategy"`
	// Redeploy starts a new deployment, so that the service's tasks are
	// replaced under the new strategy. Without it only tasks placed from
	// now on follow it (UpdateService does not redeploy for a strategy).
	Redeploy bool `json:"redeploy"`
}

// strategy switches a service's placement strategy (UpdateService).
func (d *Dashboard) strategy(w http.ResponseWriter, r *http.Request) {
	var req strategyRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("service", req.Service)
	}
	var list []*berthv1.PlacementStrategy
	if err == nil {
		for _, s := range strategies {
			if s.name == req.Strategy {
				list = s.list
			}
		}
		if list == nil {
			err = badField("strategy", "must be one of %s, got %q", strings.Join(strategyNames(), " | "), req.Strategy)
		}
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	res, err := d.cfg.API.UpdateService(r.Context(), &berthv1.UpdateServiceRequest{
		Cluster: clusterParam(req.Cluster), Service: req.Service, PlacementStrategy: list, ForceNewDeployment: req.Redeploy,
	})
	if err != nil {
		writeError(w, err, "service")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": res.GetService().GetServiceName(),
		"placementStrategy": strategyText(res.GetService().GetPlacementStrategy()), "redeployed": req.Redeploy})
}

type stopTaskRequest struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
}

// stopTask kills a task (StopTask).
func (d *Dashboard) stopTask(w http.ResponseWriter, r *http.Request) {
	var req stopTaskRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("task", req.Task)
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	res, err := d.cfg.API.StopTask(r.Context(), &berthv1.StopTaskRequest{
		Cluster: clusterParam(req.Cluster), Task: req.Task, Reason: "Stopped from the dashboard",
	})
	if err != nil {
		writeError(w, err, "task")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"task": lastPart(res.GetTask().GetTaskArn()), "desiredStatus": res.GetTask().GetDesiredStatus()})
}

type instanceStateRequest struct {
	Cluster  string `json:"cluster"`
	Instance string `json:"instance"`
	Status   string `json:"status"`
}

// instanceState drains an instance or makes it ACTIVE again
// (UpdateContainerInstancesState).
func (d *Dashboard) instanceState(w http.ResponseWriter, r *http.Request) {
	var req instanceStateRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("instance", req.Instance)
	}
	if err == nil && req.Status != "DRAINING" && req.Status != "ACTIVE" {
		err = badField("status", "must be DRAINING or ACTIVE, got %q", req.Status)
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	res, err := d.cfg.API.UpdateContainerInstancesState(r.Context(), &berthv1.UpdateContainerInstancesStateRequest{
		Cluster: clusterParam(req.Cluster), ContainerInstances: []string{req.Instance}, Status: req.Status,
	})
	if err != nil {
		writeError(w, ecsFieldRenamed(err, "containerInstances", "instance"), "instance")
		return
	}
	if f := res.GetFailures(); len(f) > 0 {
		writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("instance %q: %s", req.Instance, f[0].GetReason()), Field: "instance"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"instance": req.Instance, "status": req.Status})
}

// ecsFieldRenamed renames the field an ECS API error names to the
// dashboard request's.
func ecsFieldRenamed(err error, from, to string) error {
	e := apierr.From(err)
	if rest, ok := strings.CutPrefix(e.Field, from); ok && (rest == "" || strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, ".")) {
		return badField(to, "%s", e.Rule())
	}
	return err
}

type addInstanceRequest struct {
	Cluster      string `json:"cluster"`
	Zone         string `json:"zone"`
	InstanceType string `json:"instanceType"`
}

// addInstance starts a hollow instance through Config.AddInstance.
func (d *Dashboard) addInstance(w http.ResponseWriter, r *http.Request) {
	var req addInstanceRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("zone", req.Zone)
	}
	if err == nil && !validZone(req.Zone) {
		err = badField("zone", "letters, digits and '-' only, at most 64, got %q", req.Zone)
	}
	if err == nil {
		if _, ok := InstanceTypeNamed(req.InstanceType); !ok {
			err = badField("instanceType", "must be one of %s, got %q", strings.Join(instanceTypeNames(), " | "), req.InstanceType)
		}
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	if d.cfg.AddInstance == nil {
		writeJSON(w, http.StatusNotImplemented, apiError{Error: d.controls().AddInstanceNote})
		return
	}
	cluster := clusterParam(req.Cluster)
	if _, err := d.cfg.Store.Cluster(cluster); err != nil {
		writeError(w, err, "cluster")
		return
	}
	if err := d.cfg.AddInstance(r.Context(), cluster, req.Zone, req.InstanceType); err != nil {
		writeError(w, err, "")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"cluster": cluster, "zone": req.Zone, "instanceType": req.InstanceType})
}

func validZone(z string) bool {
	if len(z) > 64 {
		return false
	}
	for _, c := range z {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
