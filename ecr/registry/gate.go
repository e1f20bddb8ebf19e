package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/token"
)

// MaxManifest bounds a manifest's bytes, as ECR's imageManifest (4 MiB).
const MaxManifest = 4 << 20

// route is what a registry request is about, read from its path
// (/v2/<name>/manifests/<reference>, /v2/<name>/blobs/..., /v2/<name>/tags/list).
type route struct {
	name      string // the repository; "" for /v2/ and /v2/_catalog
	kind      string // "manifests", "blobs", "tags"
	reference string // a manifest's tag or digest
	upload    bool   // blobs/uploads/...
}

// parseRoute reads p; ok is false for a path outside /v2/.
func parseRoute(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return route{}, p == "/v2"
	}
	if rest == "" || rest == "_catalog" {
		return route{}, true
	}
	for _, kind := range []string{"manifests", "blobs", "tags"} {
		i := strings.LastIndex(rest, "/"+kind+"/")
		if i <= 0 {
			continue
		}
		rt := route{name: rest[:i], kind: kind}
		tail := rest[i+len(kind)+2:]
		switch kind {
		case "manifests":
			rt.reference = tail
		case "blobs":
			rt.upload = tail == "uploads/" || strings.HasPrefix(tail, "uploads/")
		}
		return rt, true
	}
	return route{}, false
}

// readOnly reports whether a request method only reads.
func readOnly(method string) bool { return method == http.MethodGet || method == http.MethodHead }

// gate is ECR's rules in front of distribution's handlers.
func (r *Registry) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		claims, err := r.authenticate(req)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="berth registry",service="ecr.amazonaws.com"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: "+err.Error())
			return
		}
		rt, ok := parseRoute(req.URL.Path)
		if !ok {
			writeError(w, http.StatusNotFound, "UNSUPPORTED", "no such registry API path: "+req.URL.Path)
			return
		}
		if !readOnly(req.Method) && claims.Scope != token.Push {
			writeError(w, http.StatusForbidden, "DENIED", "this credential may only pull")
			return
		}
		if rt.name == "" {
			next.ServeHTTP(w, req)
			return
		}
		rec, found, err := r.cfg.Repositories.ECRRepository(rt.name)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
			return
		}
		if !found {
			writeError(w, http.StatusNotFound, "NAME_UNKNOWN", fmt.Sprintf(
				"The repository with name '%s' does not exist in the registry with id '%s'", rt.name, r.cfg.RegistryID))
			return
		}
		if readOnly(req.Method) {
			next.ServeHTTP(w, req)
			return
		}
		r.writes.RLock()
		defer r.writes.RUnlock()
		switch {
		case rt.kind == "blobs" && rt.upload && r.cfg.MaxBlob > 0:
			if req.ContentLength > r.cfg.MaxBlob {
				writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID",
					fmt.Sprintf("blob upload of %d bytes is over the registry's limit of %d bytes", req.ContentLength, r.cfg.MaxBlob))
				return
			}
			req.Body = http.MaxBytesReader(w, req.Body, r.cfg.MaxBlob)
		case rt.kind == "manifests" && req.Method == http.MethodPut:
			r.putManifest(w, req, rt, rec.GetRepository(), next)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// authenticate checks the request's Basic credentials.
func (r *Registry) authenticate(req *http.Request) (token.Claims, error) {
	user, password, ok := req.BasicAuth()
	if !ok {
		return token.Claims{}, fmt.Errorf("send HTTP Basic credentials (user AWS, the password from GetAuthorizationToken)")
	}
	if user != token.User {
		return token.Claims{}, fmt.Errorf("user %q: the user name is AWS", user)
	}
	return token.Check(r.cfg.Key, password, r.cfg.Now())
}

// putManifest refuses to move a tag of an immutable repository, passes the
// manifest on, and announces a stored one.
func (r *Registry) putManifest(w http.ResponseWriter, req *http.Request, rt route, repo *berthv1.Repository, next http.Handler) {
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxManifest+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "MANIFEST_INVALID", "reading the manifest: "+err.Error())
		return
	}
	if len(body) > MaxManifest {
		writeError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", fmt.Sprintf("a manifest is at most %d bytes", MaxManifest))
		return
	}
	tag := ""
	if !strings.Contains(rt.reference, ":") {
		tag = rt.reference
	}
	if tag != "" && TagImmutable(repo, tag) {
		sum := sha256.Sum256(body)
		if cur, err := r.tagDigest(req.Context(), rt.name, tag); err == nil && cur != "sha256:"+hex.EncodeToString(sum[:]) {
			writeError(w, http.StatusBadRequest, "TAG_INVALID", fmt.Sprintf(
				"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", tag, rt.name))
			return
		}
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := &statusRecorder{ResponseWriter: w}
	next.ServeHTTP(rec, req)
	if rec.status == http.StatusCreated && r.cfg.OnPush != nil {
		r.cfg.OnPush(context.WithoutCancel(req.Context()), rt.name, tag, w.Header().Get("Docker-Content-Digest"))
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// writeError answers in the registry API's error shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type apiError struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{code, message}}})
}
