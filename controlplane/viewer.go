package controlplane

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane/bearer"
)

// ViewerTokenFile holds the read-only token of the dashboard's data and
// /metrics.
const ViewerTokenFile = "viewer.token"

// Share links' validity: by default and at most.
const (
	defaultShareValidity = 7 * 24 * time.Hour
	maxShareValidity     = 90 * 24 * time.Hour
)

// viewers decides who may read the dashboard's data and /metrics: the
// viewer token, the admin token, or a share link signed with the viewer
// token's key, as "Authorization: Bearer <token>" or, for the page's
// EventSource that sets no headers, the query parameters "access" (a token)
// or "view" (a share link's signature).
type viewers struct {
	berthv1.UnimplementedDashboardLinksServer
	token, admin string
	now          func() time.Time
	// base is the dashboard's URL ("http://127.0.0.1:7480/").
	base string
	// scoped, if set, admits scoped tokens (scope viewer or admin).
	scoped func(token string) bool
}

// tokenCanView says whether tok is the viewer token, the admin token or a
// scoped token that may read.
func (v *viewers) tokenCanView(tok string) bool {
	return bearer.Matches("Bearer "+tok, v.token) || bearer.Matches("Bearer "+tok, v.admin) || v.scoped != nil && v.scoped(tok)
}

// shareSignature signs a share link's expiry (unix seconds) with the
// viewer token: "<expiry>.<hex HMAC-SHA256>".
func (v *viewers) shareSignature(expires int64) string {
	m := hmac.New(sha256.New, []byte("berth dashboard share link\x00"+v.token))
	fmt.Fprintf(m, "%d", expires)
	return strconv.FormatInt(expires, 10) + "." + hex.EncodeToString(m.Sum(nil))
}

// validShare checks a share link's signature and expiry.
func (v *viewers) validShare(sig string) bool {
	exp, _, ok := strings.Cut(sig, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || v.now().Unix() >= n {
		return false
	}
	return hmac.Equal([]byte(v.shareSignature(n)), []byte(sig))
}

// canView says whether r may read.
func (v *viewers) canView(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		t, ok := strings.CutPrefix(h, "Bearer ")
		return ok && v.tokenCanView(t)
	}
	q := r.URL.Query()
	if t := q.Get("access"); t != "" {
		return v.tokenCanView(t)
	}
	if s := q.Get("view"); s != "" {
		return v.validShare(s)
	}
	return false
}

// guard lets through requests that canView, unless public.
func (v *viewers) guard(public bool, next http.Handler) http.Handler {
	if public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !v.canView(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintln(w, `{"error": "this needs the viewer token (viewer.token in the data dir) or the admin token as 'Authorization: Bearer <token>', or a share link (berth dashboard-url)", "field": "authorization"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ShareDashboard signs a link to the dashboard.
func (v *viewers) ShareDashboard(_ context.Context, req *berthv1.ShareDashboardRequest) (*berthv1.ShareDashboardResponse, error) {
	valid := time.Duration(req.GetValidSeconds()) * time.Second
	switch {
	case req.GetValidSeconds() == 0:
		valid = defaultShareValidity
	case req.GetValidSeconds() < 0 || valid > maxShareValidity:
		return nil, status.Errorf(codes.InvalidArgument, "validSeconds: must be 1-%d", int64(maxShareValidity/time.Second))
	}
	link, exp := v.share(valid)
	return &berthv1.ShareDashboardResponse{Url: link, ExpiresAt: float64(exp.Unix())}, nil
}

// share is a signed link valid for d.
func (v *viewers) share(d time.Duration) (string, time.Time) {
	exp := v.now().Add(d).Truncate(time.Second)
	return v.base + "?view=" + url.QueryEscape(v.shareSignature(exp.Unix())), exp
}
