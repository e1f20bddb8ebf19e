package controlplane_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/berth/berth/agent"
	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// TestReplayedSigV4Refused: a signed request replayed with an X-Amz-Date
// more than 15 minutes off the server's clock (old or ahead) is refused as
// AWS refuses it (InvalidSignatureException, "Signature expired"), and
// nothing it asked for is made.
func TestReplayedSigV4Refused(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	key := c.CP.AccessKey()
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	send := func(name string, signedAt time.Time) (int, string) {
		body := fmt.Sprintf(`{"clusterName": %q}`, name)
		req, _ := http.NewRequest("POST", "http://"+c.CP.HTTPAddr()+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.CreateCluster")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ecs", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		name string
		at   time.Time
	}{{"replayed-old", time.Now().Add(-20 * time.Minute)}, {"replayed-ahead", time.Now().Add(20 * time.Minute)}} {
		code, body := send(c.name, c.at)
		if code != http.StatusBadRequest || !strings.Contains(body, "InvalidSignatureException") || !strings.Contains(body, "Signature expired") {
			t.Errorf("%s: %d %s, want 400 InvalidSignatureException: Signature expired", c.name, code, body)
		}
	}
	res, err := c.ECS.DescribeClusters(c.Ctx, &berthv1.DescribeClustersRequest{Clusters: []string{"replayed-old", "replayed-ahead"}})
	if err != nil || len(res.GetClusters()) != 0 {
		t.Errorf("clusters after refused replays: %v %v", res.GetClusters(), err)
	}
	if code, body := send("signed-now", time.Now()); code != http.StatusOK {
		t.Fatalf("a fresh signature: %d %s", code, body)
	}
}

// listeners are the control plane's HTTP listeners, by name: the front
// door and dashboard, Lambda's function URLs, the image registry and a load
// balancer's listener.
func listeners(t *testing.T, c *cptest.Cluster) map[string]string {
	t.Helper()
	elb := berthv1.NewElasticLoadBalancingV2Client(c.Dial(t))
	lb, err := elb.CreateLoadBalancer(c.Ctx, &berthv1.ELBCreateLoadBalancerRequest{Name: "refusals"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	l, err := elb.CreateListener(c.Ctx, &berthv1.ELBCreateListenerRequest{LoadBalancerArn: lb.GetLoadBalancers()[0].GetLoadBalancerArn(), Protocol: "HTTP", Port: &port,
		DefaultActions: []*berthv1.ELBAction{{Type: "fixed-response", FixedResponseConfig: &berthv1.ELBFixedResponseActionConfig{StatusCode: "200", MessageBody: "ok"}}}})
	if err != nil {
		t.Fatal(err)
	}
	lbAddr := c.CP.ListenerAddr(l.GetListeners()[0].GetListenerArn())
	if lbAddr == "" {
		t.Fatal("the load balancer's listener is not bound")
	}
	return map[string]string{"http": c.CP.HTTPAddr(), "lambda-urls": c.CP.LambdaURLAddr(), "registry": c.CP.RegistryAddr(), "load-balancer": lbAddr}
}

// TestHeaderFloods: 128 KiB of headers get 431 on every listener, which
// then answers the next request.
func TestHeaderFloods(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	for name, addr := range listeners(t, c) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		for i := range 128 {
			req.Header.Set(fmt.Sprintf("X-Flood-%d", i), strings.Repeat("a", 1024))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: a header flood got %s, want 431", name, resp.Status)
		}
	}
	if got := httpStatus(t, "http://"+c.CP.HTTPAddr()+"/healthz", ""); got != http.StatusOK {
		t.Errorf("healthz after the floods: %d", got)
	}
}

// TestSlowlorisCut: a client that dribbles its headers a line at a time is
// cut off by every listener's ReadHeaderTimeout (10 s), however long it
// keeps dribbling.
func TestSlowlorisCut(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	var wg sync.WaitGroup
	for name, addr := range listeners(t, c) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: slow\r\n"); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			deadline := time.Now().Add(60 * time.Second)
			buf := make([]byte, 512)
			for time.Now().Before(deadline) {
				if _, err := io.WriteString(conn, "X-Slow: 1\r\n"); err != nil {
					return // cut
				}
				// The read deadline paces the dribble: one header line
				// every 250 ms until the server ends the connection.
				conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
				n, err := conn.Read(buf)
				var ne net.Error
				switch {
				case errors.As(err, &ne) && ne.Timeout():
					continue
				case err != nil:
					return // cut
				case n > 0 && !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 408"):
					t.Errorf("%s answered a request whose headers never ended: %q", name, buf[:n])
					return
				}
			}
			t.Errorf("%s: a slowloris client still connected after 60 s", name)
		}()
	}
	wg.Wait()
}

// TestManySSEClientsBounded: thousands of clients open the dashboard's
// event stream at once: 256 are served, every other one is refused (503),
// and ListClusters answers while the 256 hang. The count is 10,000 when
// the process may open the sockets (two descriptors each: client and
// server, both here), fewer under a lower RLIMIT_NOFILE (raised to its
// hard limit first) and under the race detector, whose limit is 8,128 live
// goroutines.
func TestManySSEClientsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of sockets")
	}
	clients := 10000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		old := lim
		// Above the hard limit where the process may (CAP_SYS_RESOURCE),
		// else up to it.
		lim.Cur, lim.Max = max(lim.Max, 2*uint64(clients)+4000), max(lim.Max, 2*uint64(clients)+4000)
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			lim = old
			lim.Cur = lim.Max
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
		t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		clients = min(clients, int(lim.Cur-2000)/2)
	}
	if raceEnabled {
		clients = min(clients, 3000)
	}
	t.Logf("%d concurrent event stream clients", clients)
	c := cptest.Start(t, controlplane.Config{DashboardPublic: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	addr := c.CP.HTTPAddr()
	req := "GET /dashboard/api/events?cluster=default HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n"

	// Dial every client and send its request, a few dialers at once, and
	// keep the connections: the served ones hang on their stream.
	conns := make([]net.Conn, clients)
	t.Cleanup(func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	})
	var next atomic.Int64
	var wg sync.WaitGroup
	var dialErr atomic.Value
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= clients {
					return
				}
				conn, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err == nil {
					_, err = io.WriteString(conn, req)
				}
				if err != nil {
					dialErr.Store(err)
					return
				}
				conns[i] = conn
			}
		}()
	}
	wg.Wait()
	if err, _ := dialErr.Load().(error); err != nil {
		t.Fatalf("dialling: %v", err)
	}

	// Every client gets its status line: 200 for at most 256, 503 for the
	// others.
	var served, refused, other atomic.Int64
	next.Store(0)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= clients {
					return
				}
				conns[i].SetReadDeadline(time.Now().Add(60 * time.Second))
				line, err := bufio.NewReader(conns[i]).ReadString('\n')
				switch {
				case err != nil:
					other.Add(1)
				case strings.HasPrefix(line, "HTTP/1.1 200"):
					served.Add(1)
				case strings.HasPrefix(line, "HTTP/1.1 503"):
					refused.Add(1)
					conns[i].Close()
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("event streams: %d served, %d refused (503), %d other", served.Load(), refused.Load(), other.Load())
	if served.Load() > 256 || served.Load() == 0 || other.Load() != 0 || served.Load()+refused.Load() != int64(clients) {
		t.Fatalf("event streams: %d served, %d refused, %d other; want at most 256 served and the rest refused", served.Load(), refused.Load(), other.Load())
	}
	// The control plane answers while the served streams hang.
	ctx, cancel := context.WithTimeout(c.Ctx, 30*time.Second)
	defer cancel()
	if _, err := c.ECS.ListClusters(ctx, &berthv1.ListClustersRequest{}); err != nil {
		t.Fatalf("ListClusters while %d streams hang: %v", served.Load(), err)
	}
	if got := httpStatus(t, "http://"+addr+"/healthz", ""); got != http.StatusOK {
		t.Fatalf("healthz while the streams hang: %d", got)
	}
}

// TestOversizedGRPCMessage: a request over the 4 MiB bound is
// ResourceExhausted, and nothing of it is stored.
func TestOversizedGRPCMessage(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	req := taskDef("oversized")
	req.ContainerDefinitions[0].Environment = []*berthv1.KeyValuePair{{Name: "BIG", Value: strings.Repeat("x", controlplane.MaxRequestBytes+1)}}
	_, err := c.ECS.RegisterTaskDefinition(c.Ctx, req)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a %d-byte request: %v, want ResourceExhausted", controlplane.MaxRequestBytes+1, err)
	}
	fams, err := c.ECS.ListTaskDefinitionFamilies(c.Ctx, &berthv1.ListTaskDefinitionFamiliesRequest{})
	if err != nil || len(fams.GetFamilies()) != 0 {
		t.Fatalf("families after the refused request: %v %v", fams.GetFamilies(), err)
	}
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, taskDef("small")); err != nil {
		t.Fatalf("the next request: %v", err)
	}
}

// TestSessionEndsAtCertificateExpiry: an agent's mutual TLS connection is
// closed when its certificate expires (the handshake checked it once); the
// agent, which renewed its certificate before then, reconnects with the new
// one and stays registered.
func TestSessionEndsAtCertificateExpiry(t *testing.T) {
	logs := &syncBuffer{}
	c := cptest.Start(t, controlplane.Config{AgentCertTTL: 3 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	c.StartAgent(t, agent.Config{})
	arns := c.WaitInstances(t, 1)
	cptest.Eventually(t, "the session reopened after its certificate expired", func() bool {
		return strings.Count(logs.String(), "agent session opened") >= 2
	})
	if got := c.WaitInstances(t, 1); got[0] != arns[0] {
		t.Fatalf("the agent came back as %s, was %s", got[0], arns[0])
	}
	if strings.Contains(logs.String(), "agent refused") {
		t.Errorf("the agent was refused on its way back:\n%s", logs.String())
	}
}
