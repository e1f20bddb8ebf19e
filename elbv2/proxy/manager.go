package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

// Options configure a Manager.
type Options struct {
	Logger *slog.Logger
	// Metrics receives the target groups' metrics; nil: none kept.
	Metrics *Metrics
	// IdleTimeout is ALB's idle timeout: how long a target may take to
	// answer (504 after), and how long an idle client connection stays
	// open (60 s when 0).
	IdleTimeout time.Duration
	// ConnectTimeout bounds connecting to a target (10 s when 0, 504 after).
	ConnectTimeout time.Duration
	// Interval turns a target group's HealthCheckIntervalSeconds and
	// HealthCheckTimeoutSeconds into durations (seconds when nil; tests
	// shorten them).
	Interval func(seconds int32) time.Duration
}

// Manager runs the listeners and health checkers of a configuration.
type Manager struct {
	opts      Options
	log       *slog.Logger
	transport *http.Transport
	proxy     *httputil.ReverseProxy

	mu        sync.Mutex
	listeners map[string]*listener
	groups    map[string]*group
	// groupsView is a copy of groups that requests read without the lock,
	// replaced whole by Apply.
	groupsView atomic.Pointer[map[string]*group]
	closed     bool
	wg         sync.WaitGroup
}

// New returns a Manager with nothing bound.
func New(o Options) *Manager {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 60 * time.Second
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.Interval == nil {
		o.Interval = func(s int32) time.Duration { return time.Duration(s) * time.Second }
	}
	m := &Manager{opts: o, log: o.Logger, listeners: map[string]*listener{}, groups: map[string]*group{}}
	m.transport = &http.Transport{
		DialContext:           (&net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       o.IdleTimeout,
		ResponseHeaderTimeout: o.IdleTimeout,
		DisableCompression:    true,
	}
	m.proxy = &httputil.ReverseProxy{
		Rewrite:        rewrite,
		Transport:      m.transport,
		ModifyResponse: m.observeResponse,
		ErrorHandler:   m.proxyError,
		BufferPool:     newBufferPool(),
	}
	return m
}

// listener is a bound listener and its rules.
type listener struct {
	arn  string
	addr string
	port atomic.Int32 // X-Forwarded-Port; Apply may change it while requests read it
	// portText is port as the header writes it, made once per change
	// rather than once per request.
	portText atomic.Pointer[string]
	srv      *http.Server
	ln       net.Listener
	rules    atomic.Pointer[[]*berthv1.ELBRule]
	n        atomic.Uint64 // requests so far, for the weighted choice
}

// Bind opens addr for the listener now, so that a port that is taken fails
// the listener's creation. Binding a bound listener to the same address
// does nothing.
func (m *Manager) Bind(listenerArn, addr string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("the load balancers' proxy is stopped")
	}
	if l, ok := m.listeners[listenerArn]; ok && l.addr == addr {
		return nil
	}
	return m.bindLocked(listenerArn, addr, 0)
}

func (m *Manager) bindLocked(listenerArn, addr string, port int32) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%s is already in use by another program or listener", addr)
		}
		return err
	}
	if port == 0 {
		if _, p, err := net.SplitHostPort(addr); err == nil {
			n, _ := strconv.Atoi(p)
			port = int32(n)
		}
	}
	l := &listener{arn: listenerArn, addr: addr, ln: ln}
	l.setPort(port)
	empty := []*berthv1.ELBRule{}
	l.rules.Store(&empty)
	l.srv = &http.Server{
		Handler:           m.handler(l),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       m.opts.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
	}
	m.listeners[listenerArn] = l
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Warn("load balancer listener stopped", "listener", listenerArn, "addr", addr, "err", err)
		}
	}()
	m.log.Info("load balancer listener open", "listener", listenerArn, "addr", ln.Addr().String())
	return nil
}

// Addr is the address a listener is bound to ("" when it is not).
func (m *Manager) Addr(listenerArn string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.listeners[listenerArn]; ok {
		return l.ln.Addr().String()
	}
	return ""
}

// Apply carries out cfg: listeners not in it are closed (their in-flight
// requests finish), those not bound yet are bound, target groups follow
// with their targets and health checkers.
func (m *Manager) Apply(cfg elbv2.Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	want := map[string]bool{}
	for _, lc := range cfg.Listeners {
		want[lc.Arn] = true
		l, ok := m.listeners[lc.Arn]
		if ok && l.addr != lc.Addr {
			m.closeListenerLocked(l)
			ok = false
		}
		if !ok {
			if err := m.bindLocked(lc.Arn, lc.Addr, lc.Port); err != nil {
				m.log.Error("load balancer listener cannot open", "listener", lc.Arn, "addr", lc.Addr, "err", err)
				continue
			}
			l = m.listeners[lc.Arn]
		}
		l.setPort(lc.Port)
		rules := elbv2.SortRules(lc.Rules)
		l.rules.Store(&rules)
	}
	for a, l := range m.listeners {
		if !want[a] {
			m.closeListenerLocked(l)
		}
	}
	wantGroups := map[string]bool{}
	for _, gc := range cfg.Groups {
		wantGroups[gc.Arn] = true
		g, ok := m.groups[gc.Arn]
		if !ok {
			g = newGroup(m, gc.Arn)
			m.groups[gc.Arn] = g
		}
		g.apply(gc)
	}
	for a, g := range m.groups {
		if !wantGroups[a] {
			g.stop()
			m.opts.Metrics.forget(a)
			delete(m.groups, a)
		}
	}
	view := maps.Clone(m.groups)
	m.groupsView.Store(&view)
}

func (l *listener) setPort(port int32) {
	l.port.Store(port)
	text := strconv.Itoa(int(port))
	l.portText.Store(&text)
}

func (m *Manager) closeListenerLocked(l *listener) {
	delete(m.listeners, l.arn)
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.IdleTimeout)
	m.wg.Add(1)
	go func() { // in-flight requests finish; Close waits for this
		defer m.wg.Done()
		defer cancel()
		if err := l.srv.Shutdown(ctx); err != nil {
			l.srv.Close()
		}
	}()
	m.log.Info("load balancer listener closed", "listener", l.arn, "addr", l.addr)
}

// Health is the checker's view of a target.
func (m *Manager) Health(targetGroupArn, key string) (elbv2.Health, bool) {
	m.mu.Lock()
	g, ok := m.groups[targetGroupArn]
	m.mu.Unlock()
	if !ok {
		return elbv2.Health{}, false
	}
	return g.health(key)
}

func (m *Manager) group(arn string) *group {
	if view := m.groupsView.Load(); view != nil {
		return (*view)[arn]
	}
	return nil
}

// Close closes every listener (in-flight requests finish, or are cut after
// ctx's end) and stops the checkers.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	ls := make([]*listener, 0, len(m.listeners))
	for _, l := range m.listeners {
		ls = append(ls, l)
	}
	m.listeners = map[string]*listener{}
	for a, g := range m.groups {
		g.stop()
		delete(m.groups, a)
	}
	m.mu.Unlock()
	var err error
	for _, l := range ls {
		if e := l.srv.Shutdown(ctx); e != nil {
			l.srv.Close()
			err = e
		}
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	m.transport.CloseIdleConnections()
	return err
}

// sameHealthCheck says whether two target groups check alike.
func sameHealthCheck(a, b *berthv1.ELBTargetGroup) bool {
	if a == nil || b == nil {
		return a == b
	}
	pick := func(t *berthv1.ELBTargetGroup) *berthv1.ELBTargetGroup {
		return &berthv1.ELBTargetGroup{HealthCheckPort: t.GetHealthCheckPort(), HealthCheckPath: t.GetHealthCheckPath(),
			HealthCheckEnabled: t.HealthCheckEnabled, HealthCheckIntervalSeconds: t.GetHealthCheckIntervalSeconds(),
			HealthCheckTimeoutSeconds: t.GetHealthCheckTimeoutSeconds(), HealthyThresholdCount: t.GetHealthyThresholdCount(),
			UnhealthyThresholdCount: t.GetUnhealthyThresholdCount(), Matcher: t.GetMatcher()}
	}
	return proto.Equal(pick(a), pick(b))
}
