package taskendpoint

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent/runtime"
)

// DefaultNetnsPort is the port of the listener in each task's network
// namespace: the ECS agent's credentials port, which ECS reserves on every
// instance (the agent registers it as taken), so no task expects to bind it.
const DefaultNetnsPort = 51679

// DefaultFrontDoorPort is the port in each task's network namespace that
// forwards to berth's front door (AWS_ENDPOINT_URL) when the front door
// listens on the host's loopback, which a container in a namespace of its own
// cannot reach: the ECS agent's introspection port, which ECS reserves too.
const DefaultFrontDoorPort = 51678

// Environment variables the endpoint gives each container.
const (
	EnvMetadataV4         = "ECS_CONTAINER_METADATA_URI_V4"
	EnvMetadataV3         = "ECS_CONTAINER_METADATA_URI"
	EnvCredentialsFullURI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvAuthorizationToken = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
	// EnvEndpointURL is set only where the endpoint forwards to the front
	// door; the engine gives it way to a container's own.
	EnvEndpointURL = "AWS_ENDPOINT_URL"
)

// Config configures a Server.
type Config struct {
	// Runtime gives containers' stats (if it is a runtime.Statser).
	Runtime runtime.Runtime
	// Namespaces opens bridge and awsvpc tasks' listeners inside their
	// network namespaces (a runtime whose containers have them: Docker).
	// Without it every task uses the shared listener on the host's loopback.
	Namespaces bool
	// NetnsPort is the port in each namespace; 0 is DefaultNetnsPort.
	NetnsPort int
	// FrontDoorPort is the forwarder's port in each namespace; 0 is
	// DefaultFrontDoorPort.
	FrontDoorPort int
	// Addr is the shared listener's address; "" is 127.0.0.1:0.
	Addr string
	// Key derives the ids in the paths and the credentials tokens; an agent
	// keeps it in its data dir so that they outlive its restarts. Empty: a
	// random key of this server's own.
	Key []byte
	// AvailabilityZone is the instance's, for tasks that name none.
	AvailabilityZone string
	Logger           *slog.Logger
	// Now is the clock of ClockDrift's ReferenceTimestamp; nil is time.Now.
	Now func() time.Time
}

// Server is one agent's task endpoint. Its methods are safe for concurrent
// use.
type Server struct {
	cfg       Config
	transport *http.Transport // the front door forwarders'
	shared    *http.Server
	sharedURL string
	wg        sync.WaitGroup // the serving goroutines

	clockMu sync.Mutex
	clockAt time.Time   // when clock was read
	clock   *ClockDrift // the host clock's state, read at most once a second

	mu     sync.Mutex
	closed bool
	tasks  map[string]*record  // by task ARN
	ids    map[string]endpoint // by metadata id
	creds  map[string]*record  // by credentials id
}

// endpoint is what a metadata id names.
type endpoint struct {
	task      *record
	container string
}

// record is what the server knows of one task.
type record struct {
	arn     string
	a       *berthv1.TaskAssignment
	sc      *berthv1.TaskStateChange
	ids     map[string]string // container name -> metadata id
	started map[string]runtime.ContainerState

	credID, token string
	creds         *berthv1.RoleCredentials

	servers []*http.Server // the task's listeners in its namespaces
	stopped bool
}

// New returns a server. Its shared listener opens when a task first needs it
// (an agent of simulated instances that runs no tasks opens none) and serves
// until Close.
func New(cfg Config) (*Server, error) {
	if cfg.NetnsPort == 0 {
		cfg.NetnsPort = DefaultNetnsPort
	}
	if cfg.FrontDoorPort == 0 {
		cfg.FrontDoorPort = DefaultFrontDoorPort
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		if _, err := rand.Read(cfg.Key); err != nil {
			return nil, fmt.Errorf("task endpoint key: %w", err)
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg:       cfg,
		transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: time.Minute},
		tasks:     map[string]*record{},
		ids:       map[string]endpoint{},
		creds:     map[string]*record{},
	}, nil
}

// URL is the shared listener's base URL (http://127.0.0.1:PORT), opening it
// if it is not yet; "" if it cannot be opened.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sharedBase()
}

// sharedBase opens the shared listener on first use and returns its URL;
// s.mu is held.
func (s *Server) sharedBase() string {
	if s.shared == nil && !s.closed {
		l, err := net.Listen("tcp", s.cfg.Addr)
		if err != nil {
			s.cfg.Logger.Warn("the task endpoint cannot listen: tasks get no metadata or credentials endpoint", "addr", s.cfg.Addr, "err", err)
			return ""
		}
		s.sharedURL = "http://" + l.Addr().String()
		s.shared = s.serve(l, &handler{s: s})
	}
	return s.sharedURL
}

// serve serves l with h on a goroutine the server owns.
func (s *Server) serve(l net.Listener, h http.Handler) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Warn("task endpoint listener ended", "addr", l.Addr().String(), "err", err)
		}
	})
	return srv
}

// Close closes every listener and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var srvs []*http.Server
	for _, r := range s.tasks {
		srvs = append(srvs, r.servers...)
		r.servers = nil
	}
	if s.shared != nil {
		srvs = append(srvs, s.shared)
	}
	s.mu.Unlock()
	var err error
	for _, srv := range srvs {
		err = errors.Join(err, srv.Close())
	}
	s.wg.Wait()
	s.transport.CloseIdleConnections()
	return err
}

// inNamespace reports whether the task's containers reach the endpoint in
// their own network namespace.
func (s *Server) inNamespace(a *berthv1.TaskAssignment) bool {
	if !s.cfg.Namespaces || !netnsSupported {
		return false
	}
	m := networkMode(a)
	return m == "bridge" || m == "awsvpc"
}

// base is the URL a task's containers reach the endpoint at.
func (s *Server) base(a *berthv1.TaskAssignment) string {
	if s.inNamespace(a) {
		return "http://127.0.0.1:" + strconv.Itoa(s.cfg.NetnsPort)
	}
	return s.sharedBase()
}

// record returns the task's record, made on first sight, with a's
// assignment; s.mu is held.
func (s *Server) record(a *berthv1.TaskAssignment) *record {
	arn := a.GetTask().GetTaskArn()
	r := s.tasks[arn]
	if r == nil {
		r = &record{arn: arn, ids: map[string]string{}, started: map[string]runtime.ContainerState{}}
		s.tasks[arn] = r
	}
	r.a = a
	if c := a.GetTaskRoleCredentials(); c != nil && !r.stopped {
		if r.creds == nil || c.GetExpiration() >= r.creds.GetExpiration() {
			r.creds = c
		}
		if r.credID == "" {
			r.credID, r.token = s.derive("credentials", r.arn)[:32], s.derive("token", r.arn)
			s.creds[r.credID] = r
		}
	}
	return r
}

// Environment implements engine.TaskEndpoint: the metadata URIs of
// container, and the credentials variables when the task has a role.
func (s *Server) Environment(a *berthv1.TaskAssignment, container string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.record(a)
	id := r.ids[container]
	if id == "" {
		id = s.derive("metadata", r.arn, container)[:32]
		r.ids[container] = id
		s.ids[id] = endpoint{task: r, container: container}
	}
	base := s.base(a)
	if base == "" {
		return nil
	}
	env := map[string]string{
		EnvMetadataV4: base + "/v4/" + id,
		EnvMetadataV3: base + "/v3/" + id,
	}
	if r.credID != "" {
		env[EnvCredentialsFullURI] = base + "/v2/credentials/" + r.credID
		env[EnvAuthorizationToken] = r.token
	}
	if s.forwards(a) != nil {
		env[EnvEndpointURL] = "http://127.0.0.1:" + strconv.Itoa(s.cfg.FrontDoorPort)
	}
	return env
}

// forwards is the front door a task's namespace listener forwards to: its
// AWS_ENDPOINT_URL when that is on the host's loopback and the task's
// containers have a loopback of their own; else nil.
func (s *Server) forwards(a *berthv1.TaskAssignment) *url.URL {
	if !s.inNamespace(a) || a.GetAwsEndpointUrl() == "" {
		return nil
	}
	u, err := url.Parse(a.GetAwsEndpointUrl())
	if err != nil || u.Scheme != "http" {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		return nil
	}
	return u
}

// forwarder forwards every request to the front door as it came, Host
// header included, so that the SigV4 signature made for the forwarder's
// address still holds.
func (s *Server) forwarder(target *url.URL) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
			pr.Out.Host = pr.In.Host // the signed Host stays the forwarder's
		},
		Transport: s.transport,
		ErrorLog:  slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// ContainerStarted implements engine.TaskEndpoint: it keeps what the runtime
// says of the container and, for a task served in its namespace, opens the
// listener in the namespace the container made (a bridge container's own, an
// awsvpc task's pause container's) before the engine goes on.
func (s *Server) ContainerStarted(ctx context.Context, taskARN, container string, st runtime.ContainerState) error {
	s.mu.Lock()
	r := s.tasks[taskARN]
	if r == nil || r.stopped || s.closed {
		s.mu.Unlock()
		return nil
	}
	key := container
	if definition(r.a, container) == nil {
		key = pauseKey
	}
	r.started[key] = st
	mode := networkMode(r.a)
	open := s.inNamespace(r.a) && ((mode == "awsvpc" && key == pauseKey) || (mode == "bridge" && key != pauseKey))
	frontDoor := s.forwards(r.a)
	s.mu.Unlock()
	if !open {
		return nil
	}
	if st.Pid == 0 {
		return fmt.Errorf("task endpoint: container %s of %s has no process to find its network namespace by", container, taskARN)
	}
	handlers := map[int]http.Handler{s.cfg.NetnsPort: &handler{s: s, task: r}}
	if frontDoor != nil {
		handlers[s.cfg.FrontDoorPort] = s.forwarder(frontDoor)
	}
	for port, h := range handlers {
		l, err := ListenInNetns(st.Pid, "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return fmt.Errorf("task endpoint for container %s of %s: %w", container, taskARN, err)
		}
		s.mu.Lock()
		if r.stopped || s.closed || s.tasks[taskARN] != r {
			s.mu.Unlock()
			l.Close()
			return nil
		}
		r.servers = append(r.servers, s.serve(l, h))
		s.mu.Unlock()
	}
	return nil
}

// TaskChanged implements engine.TaskEndpoint. Once the task is STOPPED its
// listeners close and its credentials are forgotten.
func (s *Server) TaskChanged(a *berthv1.TaskAssignment, sc *berthv1.TaskStateChange) {
	s.mu.Lock()
	r := s.record(a)
	r.sc = sc
	var srvs []*http.Server
	if sc.GetLastStatus() == "STOPPED" && !r.stopped {
		r.stopped = true
		srvs = s.forgetCredentials(r)
	}
	s.mu.Unlock()
	for _, srv := range srvs {
		srv.Close()
	}
}

// forgetCredentials drops the task's credentials and listeners and returns
// the listeners' servers to close; s.mu is held.
func (s *Server) forgetCredentials(r *record) []*http.Server {
	delete(s.creds, r.credID)
	r.creds, r.credID, r.token = nil, "", ""
	srvs := r.servers
	r.servers = nil
	return srvs
}

// TaskGone implements engine.TaskEndpoint: the task is forgotten.
func (s *Server) TaskGone(taskARN string) {
	s.mu.Lock()
	r := s.tasks[taskARN]
	if r == nil {
		s.mu.Unlock()
		return
	}
	delete(s.tasks, taskARN)
	for _, id := range r.ids {
		delete(s.ids, id)
	}
	r.stopped = true
	srvs := s.forgetCredentials(r)
	s.mu.Unlock()
	for _, srv := range srvs {
		srv.Close()
	}
}

// Credentials replaces a running task's role credentials (a TaskCredentials
// message). It reports whether the task was known and running.
func (s *Server) Credentials(tc *berthv1.TaskCredentials) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tasks[tc.GetTaskArn()]
	if r == nil || r.stopped || tc.GetTaskRoleCredentials() == nil || r.credID == "" {
		return false
	}
	r.creds = tc.GetTaskRoleCredentials()
	return true
}

// derive is an id or token of a task's: HMAC-SHA256 under the server's key,
// in hex, the same for the same key across agent runs (a re-adopted
// container's variables keep working) and unguessable without the key.
func (s *Server) derive(parts ...string) string {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// handler answers the endpoint's paths for one listener: task is the task a
// namespace listener belongs to, nil for the shared one.
type handler struct {
	s    *Server
	task *record
}

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case len(parts) == 3 && parts[0] == "v2" && parts[1] == "credentials":
		h.credentials(w, req, parts[2])
	case len(parts) >= 2 && (parts[0] == "v4" || parts[0] == "v3"):
		version := 4
		if parts[0] == "v3" {
			version = 3
		}
		h.metadata(w, req, version, parts[1], strings.Join(parts[2:], "/"))
	default:
		writeJSON(w, http.StatusNotFound, "404 page not found")
	}
}

// metadata answers ${URI}, ${URI}/task, ${URI}/taskWithTags, ${URI}/stats and
// ${URI}/task/stats.
func (h *handler) metadata(w http.ResponseWriter, req *http.Request, version int, id, rest string) {
	prefix := fmt.Sprintf("V%d ", version)
	what := map[string]string{"": "container metadata handler", "task": "task metadata handler", "taskWithTags": "task metadata handler",
		"stats": "container stats handler", "task/stats": "task stats handler"}[rest]
	if what == "" {
		writeJSON(w, http.StatusNotFound, "404 page not found")
		return
	}
	h.s.mu.Lock()
	ep, ok := h.s.ids[id]
	if !ok || (h.task != nil && ep.task != h.task) {
		h.s.mu.Unlock()
		// As the ECS agent answers an id it does not know (another task's
		// included, for a task's own listener).
		writeJSON(w, http.StatusNotFound, fmt.Sprintf("%s%s: unable to get task arn from request: unknown id %s", prefix, what, id))
		return
	}
	r := ep.task
	v := view{a: r.a, sc: r.sc, started: make(map[string]runtime.ContainerState, len(r.started)), az: h.s.cfg.AvailabilityZone}
	for k, st := range r.started {
		v.started[k] = st
	}
	h.s.mu.Unlock()

	switch rest {
	case "":
		writeJSON(w, http.StatusOK, containerResponse(v, ep.container, version))
	case "task", "taskWithTags":
		var clock *ClockDrift
		if version >= 4 {
			clock = h.s.hostClock()
		}
		r := taskResponse(v, version, clock)
		if rest == "taskWithTags" {
			r = withTags(r, v.a.GetTask())
		}
		writeJSON(w, http.StatusOK, r)
	case "stats":
		c := containerResponse(v, ep.container, version)
		writeJSON(w, http.StatusOK, h.stats(req.Context(), ep.container, c.DockerID))
	case "task/stats":
		out := map[string]json.RawMessage{}
		for _, def := range v.a.GetTaskDefinition().GetContainerDefinitions() {
			c := containerResponse(v, def.GetName(), version)
			if c.DockerID != "" {
				out[c.DockerID] = h.stats(req.Context(), def.GetName(), c.DockerID)
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// stats is a container's stats in Docker's shape; null for a container the
// runtime no longer has, as the ECS agent writes one it has no stats of.
func (h *handler) stats(ctx context.Context, name, dockerID string) json.RawMessage {
	if dockerID == "" {
		return json.RawMessage("null")
	}
	var sample []byte
	if st, ok := h.s.cfg.Runtime.(runtime.Statser); ok {
		b, err := st.Stats(ctx, dockerID)
		if err != nil {
			return json.RawMessage("null")
		}
		sample = b
	}
	return statsResponse(sample, name, dockerID)
}

// hostClock is the host clock's error bound and state, read from the kernel
// at most once a second.
func (s *Server) hostClock() *ClockDrift {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	now := s.cfg.Now()
	if s.clock == nil || now.Sub(s.clockAt) >= time.Second || now.Before(s.clockAt) {
		s.clock, s.clockAt = hostClock(now), now
	}
	return s.clock
}

// credentialsResponse is the container credentials provider's answer.
type credentialsResponse struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn"`
}

// errorResponse is the body of a refused credentials request, which the AWS
// SDKs read into their error.
type errorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// credentials answers /v2/credentials/ID for the bearer of the task's token.
func (h *handler) credentials(w http.ResponseWriter, req *http.Request, id string) {
	h.s.mu.Lock()
	r := h.s.creds[id]
	if r == nil || (h.task != nil && r != h.task) || r.creds == nil {
		h.s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, errorResponse{Code: "InvalidIdInRequest", Message: "CredentialsV2Request: Credentials not found"})
		return
	}
	token, c := r.token, r.creds
	h.s.mu.Unlock()
	if subtle.ConstantTimeCompare([]byte(req.Header.Get("Authorization")), []byte(token)) != 1 {
		writeJSON(w, http.StatusForbidden, errorResponse{Code: "AccessDenied", Message: "the authorization token is missing or does not match"})
		return
	}
	writeJSON(w, http.StatusOK, credentialsResponse{
		AccessKeyID:     c.GetAccessKeyId(),
		SecretAccessKey: c.GetSecretAccessKey(),
		Token:           c.GetSessionToken(),
		Expiration:      time.Unix(0, int64(c.GetExpiration()*1e9)).UTC().Format(time.RFC3339),
		RoleArn:         c.GetRoleArn(),
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`"internal error"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
