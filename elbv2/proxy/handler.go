package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/elbv2"
)

// exchange is one forwarded request's state, in its context.
type exchange struct {
	g     *group
	t     *target
	port  string // X-Forwarded-Port
	start time.Time
}

type exchangeKey struct{}

// exchangeContext is the request's context with its exchange: one
// allocation for both, where context.WithValue and the exchange took two.
type exchangeContext struct {
	context.Context
	x exchange
}

func (c *exchangeContext) Value(key any) any {
	if _, ok := key.(exchangeKey); ok {
		return &c.x
	}
	return c.Context.Value(key)
}

// handler serves a listener: route, pick, forward.
func (m *Manager) handler(l *listener) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		rule := elbv2.RouteSorted(*l.rules.Load(), elbv2.Request{Host: host, Path: r.URL.Path})
		if rule == nil || len(rule.GetActions()) == 0 {
			elbError(w, http.StatusServiceUnavailable)
			return
		}
		a := rule.GetActions()[0]
		switch a.GetType() {
		case elbv2.ActionFixedResponse:
			fixedResponse(w, a.GetFixedResponseConfig())
			return
		case elbv2.ActionForward:
		default:
			elbError(w, http.StatusServiceUnavailable)
			return
		}
		tgs := a.GetForwardConfig().GetTargetGroups()
		var buf [5]elbv2.Weighted // ALB forwards to at most 5 target groups: no allocation per request
		weighted := buf[:0]
		for _, t := range tgs {
			weighted = append(weighted, elbv2.Weighted{Key: t.GetTargetGroupArn(), Weight: int(t.GetWeight())})
		}
		i := elbv2.PickWeighted(weighted, l.n.Add(1)-1)
		if i < 0 {
			elbError(w, http.StatusServiceUnavailable)
			return
		}
		g := m.group(weighted[i].Key)
		if g == nil {
			elbError(w, http.StatusServiceUnavailable)
			return
		}
		g.requests.Inc()
		t := g.pick()
		if t == nil {
			elbError(w, http.StatusServiceUnavailable) // no registered target to take it
			return
		}
		t.outstanding.Add(1)
		defer t.outstanding.Add(-1)
		ctx := &exchangeContext{Context: r.Context(), x: exchange{g: g, t: t, port: *l.portText.Load(), start: time.Now()}}
		m.proxy.ServeHTTP(w, r.WithContext(ctx))
	})
}

// rewrite points the outbound request at the exchange's target and sets
// the X-Forwarded headers as ALB does (For appended to what came in).
func rewrite(pr *httputil.ProxyRequest) {
	x := pr.In.Context().Value(exchangeKey{}).(*exchange)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = x.t.addr
	pr.Out.Host = pr.In.Host
	client, _, err := net.SplitHostPort(pr.In.RemoteAddr)
	if err != nil {
		client = pr.In.RemoteAddr
	}
	if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 {
		client = strings.Join(prior, ", ") + ", " + client
	}
	// The keys are canonical already: assigned, not Set (which would
	// canonicalize them again on every request).
	h := pr.Out.Header
	values := [...]string{client, x.port} // one allocation for both
	h["X-Forwarded-For"] = values[0:1:1]
	h["X-Forwarded-Proto"] = forwardedProto
	h["X-Forwarded-Port"] = values[1:2:2]
}

// forwardedProto is X-Forwarded-Proto's one value (headers only read it).
var forwardedProto = []string{"http"}

// observeResponse records the target's answer: its response time and 5XX.
func (m *Manager) observeResponse(resp *http.Response) error {
	x, ok := resp.Request.Context().Value(exchangeKey{}).(*exchange)
	if ok {
		x.g.observe(resp.StatusCode, time.Since(x.start))
	}
	return nil
}

// proxyError answers a failed exchange as ALB does: 504 when the target did
// not connect or answer in time, 502 when it refused, reset or broke the
// exchange; nothing when the client went away.
func (m *Manager) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client closed the connection (ALB logs 460)
	}
	code := http.StatusBadGateway
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusGatewayTimeout
	}
	if x, ok := r.Context().Value(exchangeKey{}).(*exchange); ok {
		m.opts.Metrics.elbError(x.g.arn, code)
		m.log.Debug("target failed", "target_group", x.g.arn, "target", x.t.addr, "status", code, "err", err)
	}
	elbError(w, code)
}

// elbError writes ALB's own error page.
func elbError(w http.ResponseWriter, code int) {
	text := fmt.Sprintf("%d %s", code, http.StatusText(code))
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "awselb/2.0")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n</body>\r\n</html>\r\n", text, text)
}

// fixedResponse carries out a fixed-response action.
func fixedResponse(w http.ResponseWriter, c *berthv1.ELBFixedResponseActionConfig) {
	code, _ := strconv.Atoi(c.GetStatusCode())
	ct := c.GetContentType()
	if ct == "" {
		ct = "text/plain"
	}
	w.Header().Set("Content-Type", ct+"; charset=utf-8")
	w.Header().Set("Server", "awselb/2.0")
	w.WriteHeader(code)
	w.Write([]byte(c.GetMessageBody()))
}

// bufferPool lends the proxy its copy buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
