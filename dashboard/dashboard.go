// Package dashboard is berth's live placement dashboard: a page served by the
// control plane's HTTP server at "/" that draws every container instance as a
// bin with its CPU and memory, the tasks packed inside it coloured by service,
// the services with their deployments and events, and why each task was
// placed where it is. Teachers use it to show, live, how binpack, spread and
// berth's multi-resource binpack fill the same instances differently.
//
// The page is static HTML, CSS and plain JavaScript embedded in the binary (no
// build step, no CDN, no external fonts: it works offline). It reads:
//
//	GET  /                                  the page
//	GET  /dashboard/static/...              its CSS and JavaScript
//	GET  /dashboard/api/state?cluster=C     a JSON snapshot of the cluster
//	GET  /dashboard/api/events?cluster=C    server-sent events: "snapshot" first,
//	                                        then "delta" (changed and removed objects,
//	                                        at most ten a second)
//	GET  /dashboard/api/task?cluster=C&task=ID   one task's containers, host ports
//	                                        and placement explanation
//	GET  /dashboard/api/registry?cluster=C  the Registry view: ECR's repositories,
//	                                        their images (tags, digest, size, pushed at)
//	                                        and the cluster's tasks that run them
//	GET  /dashboard/api/views               the services' panels (views.go): Lambda's
//	                                        functions, S3's buckets, EventBridge's rules
//	                                        and schedules, the load balancers, service auto
//	                                        scaling (also in the snapshot, and a "views"
//	                                        event when they change)
//
// The page needs no token (a classroom projector opens it); its data needs
// what Config.CanView accepts (the control plane's share link, viewer or
// admin token: the page passes on its own URL's "view" or "access"
// parameter, or the admin token it was given). At most MaxStreams event
// streams are open; a client that does not take an event within
// writeTimeout is dropped, so that none buffers without bound. The demo
// controls change the cluster and need the admin token
// ("Authorization: Bearer <token>"); they call the ECS API's handlers in
// process, so they validate and behave exactly as the API does:
//
//	POST /dashboard/api/login                 checks the token
//	POST /dashboard/api/services/scale        {"cluster","service","desiredCount"}
//	POST /dashboard/api/services/strategy     {"cluster","service","strategy","redeploy"}
//	POST /dashboard/api/tasks/stop            {"cluster","task"}
//	POST /dashboard/api/instances/state       {"cluster","instance","status": "DRAINING"|"ACTIVE"}
//	POST /dashboard/api/instances/add         {"cluster","zone","instanceType"}
//	POST /dashboard/api/scaling/load          {"resourceId","rate","seconds"}: the load
//	                                          generator (bounded: loadgen's limits)
//	POST /dashboard/api/scaling/load/stop     {"resourceId"}
//
// Errors are JSON: {"error": "...", "field": "desiredCount"}.
//
// Live updates come from the store's watch. Each event stream collects the
// keys of changed objects and, at most every 100 ms, re-reads them from the
// store's in-memory indexes, so that what it sends is always the latest state
// (never an older copy replayed after a newer one) and a burst of 2,000 task
// changes becomes a handful of messages.
//
// Fargate pool hosts (instances with the attribute berth.pool = fargate) are
// drawn in a lane of their own ("lane": "fargate" in the snapshot).
package dashboard

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"

	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/store"
)

//go:embed static
var staticFiles embed.FS

// Config is what the dashboard needs.
type Config struct {
	Store *store.Store
	// API is the ECS API whose handlers the controls call (and whose
	// Berth() explains placements).
	API *ecsapi.Server
	// Images is the ECR API the Registry view reads; nil shows no
	// repositories.
	Images Images
	// AdminToken guards the demo controls.
	AdminToken string
	// IsAdmin says whether a bearer token other than AdminToken may use the
	// demo controls (the control plane's scoped tokens of scope admin);
	// nil: AdminToken only.
	IsAdmin func(token string) bool
	// AddInstance starts a hollow container instance in the cluster; nil
	// disables the "add instance" control. ctx is the request's: the
	// instance must outlive it.
	AddInstance func(ctx context.Context, cluster, zone, instanceType string) error
	Logger      *slog.Logger
	// CanView says whether a request may read the dashboard's data (the
	// control plane's viewer token, admin token or share link); nil lets
	// every request read. The page and its static files are always served.
	CanView func(*http.Request) bool
	// MaxStreams bounds the open event streams (DefaultMaxStreams when 0):
	// one more is answered 503.
	MaxStreams int

	// The services' panels (views.go); a nil source hides its panel.
	Functions     FunctionSource
	Buckets       BucketSource
	Rules         RuleSource
	Schedules     ScheduleSource
	LoadBalancers LoadBalancerSource
	// Scaling is service auto scaling's scalable targets.
	Scaling ScalingSource
	// Load starts and stops the classroom load generator of a scalable
	// target (a demo control); nil disables it.
	Load LoadControl
}

// DefaultMaxStreams is how many event streams are open at most by default.
const DefaultMaxStreams = 256

// Dashboard serves the page, its data and its controls.
type Dashboard struct {
	cfg    Config
	log    *slog.Logger
	static http.Handler

	// stop ends every event stream (Close).
	stop    context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex // guards closed, open and streams.Add against Close
	closed  bool
	open    int // event streams open
	streams sync.WaitGroup

	viewCache viewCache // the services' panels, read at most once per viewsTTL
}

// New returns a dashboard over cfg.
func New(cfg Config) *Dashboard {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	d := &Dashboard{cfg: cfg, log: cfg.Logger, static: http.StripPrefix("/dashboard/static/", http.FileServerFS(sub))}
	d.stop, d.cancel = context.WithCancel(context.Background())
	return d
}

// Register adds the dashboard's routes to mux. "GET /" is the page; the
// ECS JSON API keeps "POST /".
func (d *Dashboard) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", d.page)
	mux.Handle("GET /dashboard/static/", d.static)
	mux.HandleFunc("GET /dashboard/api/state", d.viewer(d.state))
	mux.HandleFunc("GET /dashboard/api/events", d.viewer(d.events))
	mux.HandleFunc("GET /dashboard/api/task", d.viewer(d.task))
	mux.HandleFunc("GET /dashboard/api/registry", d.viewer(d.registry))
	mux.HandleFunc("GET /dashboard/api/views", d.viewer(d.viewsHandler))
	mux.HandleFunc("POST /dashboard/api/login", d.admin(d.login))
	mux.HandleFunc("POST /dashboard/api/services/scale", d.admin(d.scale))
	mux.HandleFunc("POST /dashboard/api/services/strategy", d.admin(d.strategy))
	mux.HandleFunc("POST /dashboard/api/tasks/stop", d.admin(d.stopTask))
	mux.HandleFunc("POST /dashboard/api/instances/state", d.admin(d.instanceState))
	mux.HandleFunc("POST /dashboard/api/instances/add", d.admin(d.addInstance))
	mux.HandleFunc("POST /dashboard/api/scaling/load", d.admin(d.startLoad))
	mux.HandleFunc("POST /dashboard/api/scaling/load/stop", d.admin(d.stopLoad))
}

// Close ends the open event streams (their handlers return), so that the
// HTTP server's Shutdown does not wait on them. It is safe to call more
// than once; register it with http.Server.RegisterOnShutdown.
func (d *Dashboard) Close() {
	d.mu.Lock()
	d.closed = true
	d.cancel()
	d.mu.Unlock()
	d.streams.Wait()
}

// openStream counts an event stream in, unless the dashboard is closed.
func (d *Dashboard) openStream() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.open >= d.cfg.MaxStreams {
		return false
	}
	d.open++
	d.streams.Add(1)
	return true
}

// closeStream counts an event stream out.
func (d *Dashboard) closeStream() {
	d.mu.Lock()
	d.open--
	d.mu.Unlock()
	d.streams.Done()
}

// viewer lets through requests that may read the data.
func (d *Dashboard) viewer(next http.HandlerFunc) http.HandlerFunc {
	if d.cfg.CanView == nil {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !d.cfg.CanView(r) {
			writeJSON(w, http.StatusUnauthorized, apiError{
				Error: "the dashboard's data needs a share link (berth dashboard-url), the viewer token (viewer.token in the control plane's data dir) or the admin token",
				Field: "authorization"})
			return
		}
		next(w, r)
	}
}

func (d *Dashboard) page(w http.ResponseWriter, r *http.Request) {
	b, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}
