package awsapi

import (
	"net/http"
	"net/url"
	"strings"
)

// restRoute is a Route compiled for matching.
type restRoute struct {
	svc      *Service
	op       string
	route    Route
	segments []string // literal segments, or {Label} / {Label+}
	query    map[string]string
}

func compileRoute(svc *Service, op string, r Route) *restRoute {
	path, rawQuery, _ := strings.Cut(r.Path, "?")
	rr := &restRoute{svc: svc, op: op, route: r, segments: strings.Split(strings.TrimPrefix(path, "/"), "/"), query: map[string]string{}}
	// Literal query parameters that pick the operation ("?versioning",
	// "?list-type=2") must be present.
	for _, kv := range strings.Split(rawQuery, "&") {
		if kv != "" {
			k, v, _ := strings.Cut(kv, "=")
			rr.query[k] = v
		}
	}
	return rr
}

// matchREST finds the REST route of r and its labels.
func (f *FrontDoor) matchREST(r *http.Request) (*restRoute, map[string]string) {
	// A trailing slash names the same resource: botocore writes some of
	// its URIs so (Lambda's /2015-03-31/functions/), the Go SDK without.
	path := strings.Split(strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/"), "/")
	var best *restRoute
	var bestLabels map[string]string
	for _, rr := range f.rest {
		if rr.route.Method != r.Method {
			continue
		}
		labels, ok := rr.match(path, r.URL.Query())
		// The most specific route wins: more literal segments.
		if ok && (best == nil || rr.literals() > best.literals()) {
			best, bestLabels = rr, labels
		}
	}
	return best, bestLabels
}

func (rr *restRoute) literals() int {
	n := len(rr.query)
	for _, s := range rr.segments {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// match reports whether path (escaped segments) and query fit the route,
// with the labels' values unescaped.
func (rr *restRoute) match(path []string, query url.Values) (map[string]string, bool) {
	labels := map[string]string{}
	for i, seg := range rr.segments {
		if name, greedy := strings.CutSuffix(strings.Trim(seg, "{}"), "+"); strings.HasPrefix(seg, "{") && greedy {
			if i >= len(path) {
				return nil, false
			}
			v, err := url.PathUnescape(strings.Join(path[i:], "/"))
			if err != nil || v == "" {
				return nil, false
			}
			labels[name] = v
			return labels, rr.queryFits(query)
		}
		if i >= len(path) {
			return nil, false
		}
		if strings.HasPrefix(seg, "{") {
			v, err := url.PathUnescape(path[i])
			if err != nil || v == "" {
				return nil, false
			}
			labels[strings.Trim(seg, "{}")] = v
			continue
		}
		if seg != path[i] {
			return nil, false
		}
	}
	return labels, len(path) == len(rr.segments) && rr.queryFits(query)
}

func (rr *restRoute) queryFits(q url.Values) bool {
	for k, v := range rr.query {
		if !q.Has(k) || (v != "" && q.Get(k) != v) {
			return false
		}
	}
	return true
}
