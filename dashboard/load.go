package dashboard

import (
	"context"
	"net/http"
	"time"

	"github.com/berth/berth/dashboard/loadgen"
)

// The scaling panel's classroom load generator: a demo control, behind the
// admin token as the others. The control plane runs the generator
// (package loadgen, bounded in rate, time and runs) and finds where to send
// (Config.Load); the dashboard checks the request and shows the runs in
// the scaling panel.

// LoadControl starts and stops the load generator of a scalable target,
// named by its resource id (service/CLUSTER/SERVICE). Its errors are
// apierr's (NotFound, FailedPrecondition, ResourceExhausted, ...).
type LoadControl interface {
	StartLoad(ctx context.Context, resourceID string, rate int, d time.Duration) (LoadRun, error)
	StopLoad(ctx context.Context, resourceID string) (LoadRun, error)
}

type loadRequest struct {
	ResourceID string `json:"resourceId"`
	// Rate is requests a second (loadgen.MaxRate when 0), Seconds the
	// run's length (loadgen.MaxDuration when 0).
	Rate    int `json:"rate"`
	Seconds int `json:"seconds"`
}

// startLoad starts a scalable target's load generator.
func (d *Dashboard) startLoad(w http.ResponseWriter, r *http.Request) {
	var req loadRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("resourceId", req.ResourceID)
	}
	if err == nil && req.Rate == 0 {
		req.Rate = loadgen.MaxRate
	}
	if err == nil && req.Seconds == 0 {
		req.Seconds = int(loadgen.MaxDuration / time.Second)
	}
	if err == nil && (req.Rate < 1 || req.Rate > loadgen.MaxRate) {
		err = badField("rate", "must be between 1 and %d requests a second, got %d", loadgen.MaxRate, req.Rate)
	}
	if most := int(loadgen.MaxDuration / time.Second); err == nil && (req.Seconds < 1 || req.Seconds > most) {
		err = badField("seconds", "must be between 1 and %d, got %d", most, req.Seconds)
	}
	if err == nil && d.cfg.Load == nil {
		err = &fieldError{code: http.StatusNotImplemented, field: "resourceId", msg: "this control plane has no load generator"}
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	run, err := d.cfg.Load.StartLoad(r.Context(), req.ResourceID, req.Rate, time.Duration(req.Seconds)*time.Second)
	if err != nil {
		writeError(w, err, "resourceId")
		return
	}
	d.viewCache.expire() // the panel shows the run at its next look
	writeJSON(w, http.StatusAccepted, map[string]any{"resourceId": req.ResourceID, "load": run})
}

type stopLoadRequest struct {
	ResourceID string `json:"resourceId"`
}

// stopLoad stops a scalable target's load generator.
func (d *Dashboard) stopLoad(w http.ResponseWriter, r *http.Request) {
	var req stopLoadRequest
	err := decode(w, r, &req)
	if err == nil {
		err = required("resourceId", req.ResourceID)
	}
	if err == nil && d.cfg.Load == nil {
		err = &fieldError{code: http.StatusNotImplemented, field: "resourceId", msg: "this control plane has no load generator"}
	}
	if err != nil {
		writeError(w, err, "")
		return
	}
	run, err := d.cfg.Load.StopLoad(r.Context(), req.ResourceID)
	if err != nil {
		writeError(w, err, "resourceId")
		return
	}
	d.viewCache.expire()
	writeJSON(w, http.StatusOK, map[string]any{"resourceId": req.ResourceID, "load": run})
}

// LoadRunOf is a generator's run as the scaling panel shows it, at now.
func LoadRunOf(r loadgen.Run, now time.Time) *LoadRun {
	return &LoadRun{URL: r.URL, Rate: r.Rate, Seconds: r.Duration.Seconds(), State: r.State,
		StartedAt: secs(r.StartedAt), EndsAt: secs(r.EndsAt), EndedAt: secs(r.EndedAt), Remaining: r.Remaining(now).Seconds(),
		Sent: r.Sent, Failed: r.Failed, LastError: r.LastError}
}

func secs(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMilli()) / 1000
}
