package controlplane

import (
	"net/http"
	"path/filepath"

	"github.com/berth/berth/s3/s3api"
)

// S3Dir is where S3's objects live under the data dir.
const S3Dir = "s3"

// startS3 opens S3's objects under the data dir. Its notifications reach
// functions through cfg.S3Events, Lambda's API when nil.
func (c *ControlPlane) startS3(cfg Config) error {
	var err error
	c.s3, err = s3api.New(s3api.Config{Dir: filepath.Join(cfg.DataDir, S3Dir), Store: c.store, Events: c.eventSource(cfg.S3Events),
		ARNs: cfg.ARNs, Logger: cfg.Logger})
	return err
}

// S3 is S3's server.
func (c *ControlPlane) S3() *s3api.Server { return c.s3 }

// s3Split sends S3's requests (signed for s3, or to a virtual-hosted
// bucket) straight to the front door, past the dashboard's paths (a bucket
// may be named "dashboard" or "metrics") and past the bound on request
// bodies (objects are streamed to disk: up to 5 GiB in one PUT); every
// other request goes to rest.
func s3Split(front, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s3api.Addressed(r) {
			front.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
}
