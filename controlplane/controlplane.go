package controlplane

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/atrest"
	"github.com/berth/berth/autoscaling/aasapi"
	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/controlplane/bearer"
	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/dashboard/loadgen"
	"github.com/berth/berth/ecr/ecrapi"
	"github.com/berth/berth/ecr/registry"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/dispatcher"
	"github.com/berth/berth/ecs/ecsapi"
	"github.com/berth/berth/ecs/fargate"
	"github.com/berth/berth/ecs/servicecontroller"
	"github.com/berth/berth/ecs/taskmetrics"
	"github.com/berth/berth/elbv2/elbv2api"
	"github.com/berth/berth/elbv2/proxy"
	"github.com/berth/berth/events/eventsapi"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/lambda/lambdaapi"
	"github.com/berth/berth/rolecreds"
	"github.com/berth/berth/s3/s3api"
	"github.com/berth/berth/schedules/schedulerapi"
	"github.com/berth/berth/secretref"
	"github.com/berth/berth/secretsmanager/smapi"
	"github.com/berth/berth/ssm/ssmapi"
	"github.com/berth/berth/store"
	"github.com/berth/berth/throttle"
)

// Default addresses.
const (
	DefaultGRPCAddr = "127.0.0.1:7400"
	DefaultHTTPAddr = "127.0.0.1:7480"
)

// MaxRequestBytes bounds one gRPC request.
const MaxRequestBytes = 4 << 20

// MaxHTTPRequestBytes bounds one HTTP body: Lambda's CreateFunction carries
// a zip of up to 50 MB in base64 in JSON, and Invoke a payload over Lambda's
// 6 MB must reach its RequestTooLargeException.
const MaxHTTPRequestBytes = 70 << 20

// StateFile is the bbolt file's name in the data dir.
const StateFile = "state.db"

// Config is what a control plane needs to start.
type Config struct {
	DataDir  string
	GRPCAddr string // DefaultGRPCAddr when empty; ":0" picks a free port
	HTTPAddr string // DefaultHTTPAddr when empty
	ARNs     arn.Namer
	Logger   *slog.Logger
	// HeartbeatPeriod, AgentTTL and AgentRestartGrace tune agent sessions
	// (dispatcher defaults when 0).
	HeartbeatPeriod   time.Duration
	AgentTTL          time.Duration
	AgentRestartGrace time.Duration
	// ServiceResync and HealthGrace tune the service scheduler
	// (servicecontroller defaults when 0).
	ServiceResync time.Duration
	HealthGrace   time.Duration
	// Pprof serves Go's profiles at /debug/pprof/ on the HTTP address, to
	// callers with the admin token.
	Pprof bool
	// AddInstance starts a hollow container instance for the dashboard's
	// "add instance" control (ctx is the request's: the instance must
	// outlive it); nil disables that control.
	AddInstance func(ctx context.Context, cluster, zone, instanceType string) error
	// LambdaInvoker runs Lambda functions (the runner of execution
	// environments); nil answers invokes with a ServiceException.
	// LambdaPrepare, if set, readies a function version's code before it is
	// Active. LambdaConcurrency is the account's concurrency limit (1,000
	// when 0). LambdaURLAddr is the function URL server's address (a free
	// port on loopback when empty; the binary's flag defaults to
	// lambdaapi.DefaultURLAddr).
	LambdaInvoker     invoke.Invoker
	LambdaPrepare     func(ctx context.Context, fn invoke.Function, zipPath string) error
	LambdaConcurrency int32
	LambdaURLAddr     string
	// Fargate configures the Fargate pool manager (ecs/fargate):
	// provisioner, host size, cooldown. Start fills in its store, placer
	// and join address; the control plane closes the provisioner at
	// Shutdown if it is an io.Closer. No provisioner: a static pool.
	Fargate fargate.Config
	// RegistryAddr is the image registry's address (ECR's;
	// registry.DefaultAddr when empty, port 0 picks a free port).
	RegistryAddr string
	// RegistryTLSCert and RegistryTLSKey are the files of the certificate
	// and key the registry serves HTTPS with; needed for an address beyond
	// loopback.
	RegistryTLSCert, RegistryTLSKey string
	// RegistryMaxBlob bounds one blob upload request to the registry, in
	// bytes (0: no bound).
	RegistryMaxBlob int64
	// RegistryGrace is how old a blob no image references must be before the
	// registry's garbage collector removes it (registry.DefaultGrace when 0).
	RegistryGrace time.Duration
	// S3Events invokes functions for S3's bucket notifications (Lambda's
	// invoke.EventSource); nil: a notification naming a function is refused.
	S3Events invoke.EventSource
	// Capacity configures the EC2 capacity providers' manager
	// (ecs/capacity): instance size, scale-in delay. Start fills
	// in its store, placer and join address; without a provisioner of its
	// own it uses the Fargate pool's.
	Capacity capacity.Config
	// Throttle limits ECS calls to ECS's documented rates (package
	// throttle): over them, ThrottlingException. cmd/controlplane turns it
	// on unless --no-throttle; tests and benchmarks of raw speed leave it off.
	Throttle bool
	// Lambda configures the runner of Lambda functions.
	Lambda LambdaRunnerConfig
	// TaskCredentialsLifetime is how long a task role's credentials last
	// (rolecreds.DefaultLifetime when 0); they are renewed with a third of
	// it left.
	TaskCredentialsLifetime time.Duration
	// AWSEndpointURL is where tasks' AWS SDKs reach the front door
	// (AWS_ENDPOINT_URL); the HTTP address when empty.
	AWSEndpointURL string
	// LBBind is the host the load balancers' listeners bind
	// ("127.0.0.1" when empty).
	LBBind string
	// LBProxy tunes the listeners' proxy (timeouts, the health check
	// clock); Start fills in its logger and metrics.
	LBProxy proxy.Options
	// EventsLambda invokes functions for EventBridge's targets and schedules
	// (Lambda's API when nil).
	EventsLambda invoke.EventSource
	// EventsClock is the clock of EventBridge's and Scheduler's schedules
	// and retries (time.Now when nil); EventsTick how often they look at it
	// (1 s when 0). Tests move the clock.
	EventsClock func() time.Time
	EventsTick  time.Duration
	// AgentCertTTL is how long an agent's certificate is valid
	// (DefaultAgentCertTTL when 0); agents renew it before it expires.
	AgentCertTTL time.Duration
	// TLSCert and TLSKey are the files of the certificate the gRPC and HTTP
	// listeners serve beyond loopback; TLSAuto serves one berth's CA issues
	// instead. A listener beyond loopback without either is refused unless
	// InsecureBind. (Agents always reach gRPC over mutual TLS with the CA's
	// certificate.)
	TLSCert, TLSKey string
	TLSAuto         bool
	InsecureBind    bool
	// DashboardPublic serves the dashboard's data (snapshot, events, task
	// details, registry) without a token, and MetricsPublic /metrics;
	// otherwise they need the viewer token, the admin token or a share link.
	// The page itself is always public.
	DashboardPublic, MetricsPublic bool
	// MaxEventStreams bounds the dashboard's open event streams
	// (dashboard.DefaultMaxStreams when 0).
	MaxEventStreams int
	// AutoscalingPeriod is how often Application Auto Scaling evaluates
	// its policies (aasapi.DefaultEvaluationPeriod, a minute, when 0).
	AutoscalingPeriod time.Duration
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	log        *slog.Logger
	store      *store.Store
	metrics    *metrics
	grpc       *grpc.Server
	health     *health.Server
	http       *http.Server
	grpcLis    net.Listener
	httpLis    net.Listener
	urlLis     net.Listener // Lambda's function URLs
	urls       *http.Server
	adminToken string
	trust      *trust
	viewers    *viewers
	tls        bool // the listeners beyond loopback serve TLS
	accessKey  awsapi.Key
	keys       awsapi.Keys
	served     chan error
	pprof      bool
	limiter    *throttle.Limiter // nil: no throttling
	// errorTables name the AWS services' exceptions in gRPC statuses.
	errorTables errorTables

	dispatcher  *dispatcher.Dispatcher
	stopLoops   context.CancelFunc
	loops       sync.WaitGroup // the dispatcher's and the service controller's Run
	pool        *fargate.Manager
	capacity    *capacity.Manager
	poolClosers []io.Closer // the provisioners that must be closed

	// SSM Parameter Store and Secrets Manager, with the key that seals
	// their values in the state file.
	arns     arn.Namer
	atRest   *atrest.Keyring
	ssm      *ssmapi.Server
	secrets  *smapi.Server
	registry *registry.Registry
	ecr      *ecrapi.Server
	gc       *registry.Collector
	runner   atomic.Pointer[lambdaRunner] // Lambda's runner, once gRPC serves

	// Task role credentials, and the front door's address for tasks.
	grants      *rolecreds.Grants
	endpointURL string
	s3          *s3api.Server

	// Elastic Load Balancing v2 and its listeners' proxy.
	elb     *elbv2api.Server
	lbProxy *proxy.Manager
	lambda  *lambdaapi.Server
	front   *awsapi.FrontDoor // set before the function URL server serves

	// Application Auto Scaling and the task usage it scales on.
	autoscaling *aasapi.Server
	loadgen     *loadgen.Generator // the dashboard's load generator (dashscaling.go)
	taskMetrics *taskmetrics.Store

	// EventBridge: the default bus, its dispatcher and ECS's events.
	events    *eventsapi.Server
	scheduler *schedulerapi.Server
	// recursion stops the loops of functions invoked for events they made.
	recursion *atomic.Int64
	views     *dashViews    // the dashboard's tallies of the services (dashviews.go)
	tokens    *accessTokens // scoped tokens: admin, viewer, deployer
}

// Start opens the data dir's state, makes the tokens at first start and
// serves gRPC and HTTP until Shutdown.
func Start(ctx context.Context, cfg Config) (*ControlPlane, error) {
	cfg = withDefaults(cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	c := &ControlPlane{log: cfg.Logger, served: make(chan error, 2), pprof: cfg.Pprof}
	if cfg.Throttle {
		c.limiter = throttle.New(throttle.ECS)
	}
	var err error
	if c.adminToken, err = loadOrCreateToken(cfg.DataDir, AdminTokenFile); err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	viewerToken, err := loadOrCreateToken(cfg.DataDir, ViewerTokenFile)
	if err != nil {
		return nil, fmt.Errorf("viewer token: %w", err)
	}
	c.viewers = &viewers{token: viewerToken, admin: c.adminToken, now: time.Now}
	if err := checkBind(cfg); err != nil {
		return nil, err
	}
	c.tls = cfg.TLSCert != "" || cfg.TLSAuto
	if c.keys, c.accessKey, err = awsapi.LoadOrCreateKeys(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("access keys: %w", err)
	}
	c.metrics = newMetrics(func() uint64 { return c.store.Revision() })
	c.store, err = store.Open(filepath.Join(cfg.DataDir, StateFile), store.Options{OnCommit: c.metrics.observeCommit})
	if err != nil {
		return nil, err
	}
	if c.trust, err = newTrust(cfg, c.store, listenHosts(cfg.GRPCAddr, cfg.HTTPAddr)); err != nil {
		c.store.Close()
		return nil, err
	}
	c.startAccessTokens(cfg)
	if err := c.startSecrets(ctx, cfg); err != nil {
		c.store.Close()
		return nil, err
	}
	if err := c.startRoleCreds(cfg); err != nil {
		c.store.Close()
		return nil, err
	}
	if err := c.startS3(cfg); err != nil {
		c.store.Close()
		return nil, fmt.Errorf("s3: %w", err)
	}
	api := ecsapi.New(c.store, cfg.ARNs, nil)
	if err := api.EnsureDefaultCluster(ctx); err != nil {
		c.store.Close()
		return nil, fmt.Errorf("default cluster: %w", err)
	}
	if err := c.listen(cfg); err != nil {
		c.store.Close()
		return nil, err
	}
	if err := c.startECR(ctx, cfg); err != nil {
		c.grpcLis.Close()
		c.httpLis.Close()
		c.urlLis.Close()
		c.store.Close()
		return nil, err
	}
	c.startEvents(cfg, api)
	c.dispatcher = dispatcher.New(dispatcher.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger,
		HeartbeatPeriod: cfg.HeartbeatPeriod, TTL: cfg.AgentTTL, RestartGrace: cfg.AgentRestartGrace,
		ImagePulls: c.imagePulls, Inside: c.inside,
		Metrics: c.taskMetricsSink(),
	})
	c.endpointURL = endpointURL(cfg, c.HTTPAddr())
	c.metrics.observeAgents(c.dispatcher.Heartbeats, c.dispatcher.Sessions)
	c.startELB(cfg)
	api.TargetGroupType = c.elb.TargetGroupType
	c.startAutoscaling(cfg, api)
	services := servicecontroller.New(servicecontroller.Config{
		Store: c.store, ARNs: cfg.ARNs, Logger: cfg.Logger, Resync: cfg.ServiceResync, HealthGrace: cfg.HealthGrace,
		Placer: api.Placer(), LoadBalancers: serviceTargets{c.elb},
	})
	c.startPool(cfg, api.Placer())
	api.ProviderUsage = c.capacity.Usage
	runCtx, cancel := context.WithCancel(context.Background())
	c.stopLoops = cancel
	purge := func(ctx context.Context) error { return c.secrets.Run(ctx, cfg.Logger) }
	invoker, prepare := c.lambdaRunnerHooks(cfg)
	invoker = c.dashViews().countInvocations(invoker)
	c.lambda = lambdaapi.New(lambdaapi.Config{
		Store: c.store, Region: cfg.ARNs.Region, Account: cfg.ARNs.Account, DataDir: cfg.DataDir,
		Invoker: invoker, Prepare: prepare, AccountConcurrency: cfg.LambdaConcurrency,
		URLAddr: c.urlLis.Addr().String(), Logger: cfg.Logger, CodeObject: c.lambdaCode,
		URLAuthenticate: func(r *http.Request, body []byte) error {
			if msg := c.tokens.wireRefusal(r); msg != "" {
				return errors.New(msg)
			}
			return c.front.Verify(r, "lambda", body)
		},
	})
	for _, run := range []func(context.Context) error{c.dispatcher.Run, services.Run, c.pool.Run, c.capacity.Run, purge, c.gc.Run, c.ecr.RunLifecycle, c.credsLoop, c.lambda.Run, c.events.Run, c.taskEvents(cfg), c.scheduler.Run} {
		c.loops.Add(1)
		go func() { defer c.loops.Done(); run(runCtx) }()
	}
	c.runAutoscaling(runCtx)
	wires := []awsapi.Service{ecsapi.Wire(api), ecrapi.Wire(c.ecr), ssmapi.Wire(c.ssm), smapi.Wire(c.secrets), s3api.Wire(c.s3), elbv2api.Wire(c.elb), lambdaapi.Wire(c.lambda), eventsapi.Wire(c.events), schedulerapi.Wire(c.scheduler)}
	wires = append(wires, aasapi.Wire(c.autoscaling))
	c.errorTables = newErrorTables(wires...)
	c.serveGRPC(api, cfg)
	if err := c.startLambdaRunner(cfg, api); err != nil {
		c.Shutdown(ctx)
		return nil, err
	}
	front := awsapi.New(c.keys, awsapi.Options{Interceptor: c.unaryChain(), Logger: cfg.Logger, Observe: c.metrics.observeWire,
		Sessions: scopedSessions{c.tokens, sessionKeys{c.grants}}})
	c.front = front
	for _, svc := range wires {
		if err := front.Register(svc); err != nil {
			c.Shutdown(ctx)
			return nil, err
		}
	}
	scheme := "http"
	if c.tls && beyondLoopback(c.HTTPAddr()) {
		scheme = "https"
	}
	c.viewers.base = scheme + "://" + c.HTTPAddr() + "/"
	var canView func(*http.Request) bool
	if !cfg.DashboardPublic {
		canView = c.viewers.canView
	}
	c.serveHTTP(c.tokens.guardWire(front), cfg.MetricsPublic,
		dashboard.New(c.withViews(dashboard.Config{Store: c.store, API: api, Images: c.ecr, AdminToken: c.adminToken, IsAdmin: c.tokens.isAdmin, AddInstance: cfg.AddInstance, Logger: cfg.Logger,
			CanView: canView, MaxStreams: cfg.MaxEventStreams})))
	c.urls = &http.Server{Handler: c.lambda.URLHandler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: MaxHeaderBytes}
	go func() {
		if err := c.urls.Serve(c.urlLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("lambda function URLs", "err", err)
		}
	}()
	c.log.Info("control plane serving", "grpc", c.GRPCAddr(), "http", c.HTTPAddr(), "registry", c.RegistryAddr(), "lambda_urls", c.LambdaURLAddr(), "data_dir", cfg.DataDir)
	return c, nil
}

// startELB makes Elastic Load Balancing v2 and opens the stored listeners
// (one that cannot open is logged, and the others serve).
func (c *ControlPlane) startELB(cfg Config) {
	o := cfg.LBProxy
	o.Logger = cfg.Logger
	o.Metrics = proxy.NewMetrics(c.metrics.registry)
	c.lbProxy = proxy.New(o)
	c.elb = elbv2api.New(c.store, cfg.ARNs, elbv2api.Options{Bind: cfg.LBBind, Runtime: c.lbProxy})
	if err := c.elb.Start(); err != nil {
		c.log.Error("load balancers' listeners not opened", "err", err)
	}
}

// LoadBalancers is Elastic Load Balancing v2's API, for the services that
// register targets.
func (c *ControlPlane) LoadBalancers() *elbv2api.Server { return c.elb }

// ListenerAddr is the address a load balancer listener is bound to ("" when
// it is not).
func (c *ControlPlane) ListenerAddr(listenerArn string) string { return c.lbProxy.Addr(listenerArn) }

// startSecrets opens the data dir's key for encryption at rest, makes the
// SSM and Secrets Manager services over the store, and finishes a key
// rotation an earlier control plane left half done.
func (c *ControlPlane) startSecrets(ctx context.Context, cfg Config) error {
	var err error
	c.arns = cfg.ARNs
	if c.atRest, err = atrest.Open(cfg.DataDir); err != nil {
		return err
	}
	c.ssm = ssmapi.New(c.store, c.atRest, cfg.ARNs)
	c.secrets = smapi.New(c.store, c.atRest, cfg.ARNs)
	if n, err := atrest.Finish(ctx, c.atRest, c.ssm, c.secrets); err != nil {
		return fmt.Errorf("finish the encryption key's rotation: %w", err)
	} else if n > 0 {
		c.log.Info("finished the encryption key's rotation", "reencrypted", n)
	}
	return nil
}

// Secrets resolves the secrets task definitions name (SSM parameters and
// Secrets Manager secrets), for the agent's secrets.
func (c *ControlPlane) Secrets() secretref.Resolver {
	return secretref.Resolver{ARNs: c.arns, SSM: c.ssm, SecretsManager: c.secrets}
}

func withDefaults(cfg Config) Config {
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.ARNs == (arn.Namer{}) {
		cfg.ARNs = arn.Default
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (c *ControlPlane) listen(cfg Config) error {
	var err error
	if c.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return fmt.Errorf("grpc address: %w", err)
	}
	if c.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		c.grpcLis.Close()
		return fmt.Errorf("http address: %w", err)
	}
	urlAddr := cfg.LambdaURLAddr
	if urlAddr == "" {
		urlAddr = "127.0.0.1:0" // a free port: tests and tools run side by side
	}
	if c.urlLis, err = net.Listen("tcp", urlAddr); err != nil {
		c.grpcLis.Close()
		c.httpLis.Close()
		return fmt.Errorf("lambda function URL address: %w", err)
	}
	return nil
}

func (c *ControlPlane) serveGRPC(api *ecsapi.Server, cfg Config) {
	// TLS always (agents' mutual TLS); plain text too on loopback, or when
	// asked to with InsecureBind.
	creds := newSniffingCreds(c.trust.tlsConfig(), !beyondLoopback(cfg.GRPCAddr) || cfg.InsecureBind)
	c.grpc = grpc.NewServer(grpc.Creds(creds), grpc.MaxRecvMsgSize(MaxRequestBytes), grpc.UnaryInterceptor(c.unaryChain()), c.streamChain(),
		// Thousands of agents hold a connection each, mostly idle: a
		// smaller read buffer each (write buffers are shared by default).
		grpc.ReadBufferSize(8<<10),
		// And no HPACK table of the headers clients send (about 1 KiB a
		// connection, for the one stream an agent opens): clients send
		// headers literally.
		grpc.HeaderTableSize(0),
		// Fixed flow-control windows: with gRPC's default (windows sized by
		// bandwidth-delay estimation) every heartbeat on an idle connection
		// made the server send a window update and a BDP ping and read the
		// ping's ack: three frames for one, thousands a second. What clients
		// send is small (requests up to MaxRequestBytes, state reports, logs).
		grpc.StaticStreamWindowSize(64<<10), grpc.StaticConnWindowSize(1<<20))
	berthv1.RegisterECSServer(c.grpc, api)
	berth := api.Berth()
	berth.Logs = c.dispatcher
	berth.Exec = c.dispatcher
	berthv1.RegisterBerthServer(c.grpc, berth)
	berthv1.RegisterAgentSessionsServer(c.grpc, c.dispatcher)
	berthv1.RegisterSSMServer(c.grpc, c.ssm)
	berthv1.RegisterSecretsManagerServer(c.grpc, c.secrets)
	berthv1.RegisterEncryptionKeysServer(c.grpc, atrest.NewServer(c.atRest, c.ssm, c.secrets))
	berthv1.RegisterECRServer(c.grpc, c.ecr)
	berthv1.RegisterElasticLoadBalancingV2Server(c.grpc, c.elb)
	berthv1.RegisterLambdaServer(c.grpc, c.lambda)
	berthv1.RegisterLambdaUsageServer(c.grpc, c.lambda.Usage())
	berthv1.RegisterEventBridgeServer(c.grpc, c.events)
	berthv1.RegisterSchedulerServer(c.grpc, c.scheduler)
	berthv1.RegisterApplicationAutoScalingServer(c.grpc, c.autoscaling)
	berthv1.RegisterAgentTrustServer(c.grpc, c.trust)
	berthv1.RegisterJoinTokensServer(c.grpc, c.trust)
	berthv1.RegisterDashboardLinksServer(c.grpc, c.viewers)
	berthv1.RegisterAccessTokensServer(c.grpc, c.tokens)
	c.health = health.NewServer()
	healthpb.RegisterHealthServer(c.grpc, c.health)
	reflection.Register(c.grpc)
	go func() {
		err := c.grpc.Serve(c.grpcLis)
		if errors.Is(err, grpc.ErrServerStopped) {
			err = nil // stopped before Serve began: a quick shutdown
		}
		c.served <- err
	}()
}

func (c *ControlPlane) serveHTTP(aws http.Handler, metricsPublic bool, dash *dashboard.Dashboard) {
	mux := http.NewServeMux()
	dash.Register(mux) // GET / and /dashboard/
	// Every other path is the AWS front door's: POST / (the JSON and query
	// protocols), /service/... (RPC v2 CBOR) and the REST services' paths.
	mux.Handle("/", aws)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", c.viewers.guard(metricsPublic, promhttp.HandlerFor(c.metrics.registry, promhttp.HandlerOpts{})))
	if c.pprof {
		mux.Handle("/debug/pprof/", c.requireAdmin(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/profile", c.requireAdmin(http.HandlerFunc(pprof.Profile)))
	}
	c.http = &http.Server{
		Handler:           s3Split(aws, http.MaxBytesHandler(mux, MaxHTTPRequestBytes)),
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	c.http.RegisterOnShutdown(dash.Close) // end the dashboard's event streams
	go func() {
		var err error
		if c.tls && beyondLoopback(c.httpLis.Addr().String()) {
			c.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.trust.tlsConfig().GetCertificate}
			err = c.http.ServeTLS(c.httpLis, "", "")
		} else {
			err = c.http.Serve(c.httpLis)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		c.served <- err
	}()
}

// requireAdmin lets through HTTP requests that carry the admin token
// ("Authorization: Bearer <token>").
func (c *ControlPlane) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !bearer.Matches(r.Header.Get("Authorization"), c.adminToken) {
			http.Error(w, "send the admin token: Authorization: Bearer <token>", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// GRPCAddr is the address gRPC listens on.
func (c *ControlPlane) GRPCAddr() string { return c.grpcLis.Addr().String() }

// HTTPAddr is the address HTTP listens on.
func (c *ControlPlane) HTTPAddr() string { return c.httpLis.Addr().String() }

// AdminToken is the token ECS API callers present.
func (c *ControlPlane) AdminToken() string { return c.adminToken }

// JoinToken is the token agents present.
func (c *ControlPlane) JoinToken() string { return c.trust.token() }

// CACert is the cluster CA's certificate in PEM (also in the data dir's
// ca.crt): what clients of the TLS listeners trust.
func (c *ControlPlane) CACert() []byte { return c.trust.ca.CertPEM() }

// ViewerToken is the read-only token of the dashboard's data and /metrics.
func (c *ControlPlane) ViewerToken() string { return c.viewers.token }

// ShareLink is a signed link to the dashboard, valid for d.
func (c *ControlPlane) ShareLink(d time.Duration) string {
	link, _ := c.viewers.share(d)
	return link
}

// AccessKey is the access key of the berth profile in the data dir's
// aws-credentials file, for the ECS JSON API.
func (c *ControlPlane) AccessKey() awsapi.Key { return c.accessKey }

// Shutdown stops taking calls, lets in-flight calls finish (until ctx ends,
// then cuts them off), ends the agent sessions (agents reconnect to the next
// control plane) and closes the store.
func (c *ControlPlane) Shutdown(ctx context.Context) error {
	c.closeLambdaRunner()
	c.health.Shutdown()
	stopped := make(chan struct{})
	go func() { c.grpc.GracefulStop(); close(stopped) }()
	c.dispatcher.CutAll()
	select {
	case <-stopped:
	case <-ctx.Done():
		c.grpc.Stop()
		<-stopped
	}
	c.stopLoops()
	c.loops.Wait()
	c.closePool()
	var lerr error
	if c.lbProxy != nil {
		lerr = c.lbProxy.Close(ctx)
	}
	herr := c.http.Shutdown(ctx)
	if herr != nil {
		c.http.Close()
	}
	if c.urls != nil {
		if err := c.urls.Shutdown(ctx); err != nil {
			c.urls.Close()
		}
	} else {
		c.urlLis.Close()
	}
	serveErrs := errors.Join(<-c.served, <-c.served)
	rerr := c.registry.Close(ctx)
	return errors.Join(herr, serveErrs, rerr, lerr, c.store.Close())
}

// Lambda is the Lambda API, which is also the invoke.EventSource that S3
// and EventBridge invoke functions through.
func (c *ControlPlane) Lambda() *lambdaapi.Server { return c.lambda }

// LambdaURLAddr is the address Lambda's function URLs are served on.
func (c *ControlPlane) LambdaURLAddr() string { return c.urlLis.Addr().String() }
