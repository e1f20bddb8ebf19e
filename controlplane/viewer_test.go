package controlplane_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func httpStatus(t *testing.T, rawURL, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestDashboardDataNeedsAToken: the page is public; its data and /metrics
// need the viewer token, the admin token or a share link.
func TestDashboardDataNeedsAToken(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	base := "http://" + c.CP.HTTPAddr()
	if got := httpStatus(t, base+"/", ""); got != http.StatusOK {
		t.Errorf("the page: %d", got)
	}
	data := []string{"/dashboard/api/state?cluster=default", "/dashboard/api/registry?cluster=default",
		"/dashboard/api/task?cluster=default&task=nope", "/dashboard/api/events?cluster=default", "/metrics"}
	for _, p := range data {
		if got := httpStatus(t, base+p, ""); got != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", p, got)
		}
		if got := httpStatus(t, base+p, "wrong"); got != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", p, got)
		}
	}
	for _, p := range []string{"/dashboard/api/state?cluster=default", "/metrics"} {
		for _, tok := range []string{c.CP.ViewerToken(), c.CP.AdminToken()} {
			if got := httpStatus(t, base+p, tok); got != http.StatusOK {
				t.Errorf("%s with a token: %d", p, got)
			}
		}
		if got := httpStatus(t, base+p+sep(p)+"access="+c.CP.ViewerToken(), ""); got != http.StatusOK {
			t.Errorf("%s with ?access=: %d", p, got)
		}
	}
	// A share link from berth dashboard-url (admin only).
	links := berthv1.NewDashboardLinksClient(c.Dial(t))
	if _, err := links.ShareDashboard(context.Background(), &berthv1.ShareDashboardRequest{}); err == nil {
		t.Error("a share link without the admin token")
	}
	res, err := links.ShareDashboard(c.Ctx, &berthv1.ShareDashboardRequest{ValidSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(res.GetUrl())
	if err != nil || u.Host != c.CP.HTTPAddr() || u.Query().Get("view") == "" {
		t.Fatalf("share link %q", res.GetUrl())
	}
	view := u.Query().Get("view")
	if got := httpStatus(t, base+"/dashboard/api/state?cluster=default&view="+url.QueryEscape(view), ""); got != http.StatusOK {
		t.Errorf("state with the share link: %d", got)
	}
	forged := strings.Replace(view, ".", "9.", 1) // a later expiry under the same signature
	if got := httpStatus(t, base+"/dashboard/api/state?cluster=default&view="+url.QueryEscape(forged), ""); got != http.StatusUnauthorized {
		t.Errorf("state with a forged link: %d", got)
	}
	expired := c.CP.ShareLink(-time.Hour)
	eu, _ := url.Parse(expired)
	if got := httpStatus(t, base+"/dashboard/api/state?cluster=default&view="+url.QueryEscape(eu.Query().Get("view")), ""); got != http.StatusUnauthorized {
		t.Errorf("state with an expired link: %d", got)
	}
}

func sep(p string) string {
	if strings.Contains(p, "?") {
		return "&"
	}
	return "?"
}

// TestEventStreamsBounded: past MaxEventStreams, a stream is refused (503)
// and the control plane keeps answering.
func TestEventStreamsBounded(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{DashboardPublic: true, MaxEventStreams: 2})
	base := "http://" + c.CP.HTTPAddr() + "/dashboard/api/events?cluster=default"
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	for range 2 {
		resp, err := http.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %s", resp.Status)
		}
		if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "event: snapshot") {
			t.Fatalf("first line %q %v", line, err)
		}
	}
	if got := httpStatus(t, base, ""); got != http.StatusServiceUnavailable {
		t.Errorf("a third stream: %d, want 503", got)
	}
	if got := httpStatus(t, "http://"+c.CP.HTTPAddr()+"/dashboard/api/state?cluster=default", ""); got != http.StatusOK {
		t.Errorf("state while the streams are full: %d", got)
	}
	open[0].Body.Close()
	open = open[1:]
	cptest.Eventually(t, "a stream slot freed", func() bool {
		resp, err := http.Get(base)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestDashboardControlsTakeAdminTokens: the demo controls take an access
// token of scope admin as they take the admin token; a viewer's or a
// revoked admin token is refused and changes nothing.
func TestDashboardControlsTakeAdminTokens(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	if _, err := c.ECS.RegisterTaskDefinition(c.Ctx, taskDef("web")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ECS.CreateService(c.Ctx, &berthv1.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: proto.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	tokens := berthv1.NewAccessTokensClient(c.Dial(t))
	mk := func(scope string) string {
		t.Helper()
		resp, err := tokens.CreateAccessToken(c.Ctx, &berthv1.CreateAccessTokenRequest{Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetToken()
	}
	admin, viewer, revoked := mk("admin"), mk("viewer"), mk("admin")
	if _, err := tokens.RevokeAccessToken(c.Ctx, &berthv1.RevokeAccessTokenRequest{Id: revoked}); err != nil {
		t.Fatal(err)
	}
	post := func(path, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+c.CP.HTTPAddr()+"/dashboard/api/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	desired := func() int32 {
		t.Helper()
		res, err := c.ECS.DescribeServices(c.Ctx, &berthv1.DescribeServicesRequest{Services: []string{"web"}})
		if err != nil || len(res.GetServices()) != 1 {
			t.Fatalf("describe: %v", err)
		}
		return res.GetServices()[0].GetDesiredCount()
	}
	for name, tok := range map[string]string{"viewer": viewer, "revoked admin": revoked} {
		if got := post("login", tok, `{}`); got != http.StatusUnauthorized {
			t.Errorf("login with a %s token: %d, want 401", name, got)
		}
		if got := post("services/scale", tok, `{"service":"web","desiredCount":4}`); got != http.StatusUnauthorized {
			t.Errorf("scale with a %s token: %d, want 401", name, got)
		}
	}
	if n := desired(); n != 0 {
		t.Fatalf("refused scale calls changed desiredCount to %d", n)
	}
	if got := post("login", admin, `{}`); got != http.StatusOK {
		t.Errorf("login with an admin access token: %d", got)
	}
	if got := post("services/scale", admin, `{"service":"web","desiredCount":2}`); got != http.StatusOK {
		t.Errorf("scale with an admin access token: %d", got)
	}
	if n := desired(); n != 2 {
		t.Errorf("desiredCount %d after an admin access token's scale, want 2", n)
	}
}
