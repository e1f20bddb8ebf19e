package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/opencontainers/go-digest"
)

// DefaultGrace is how old an unreferenced blob must be before the collector
// removes it: a push uploads its layers before its manifest, and a layer of
// a push still under way is referenced by nothing yet.
const DefaultGrace = time.Hour

// CollectPeriod is how often the collector runs without being asked.
const CollectPeriod = time.Hour

// Collected is what one collection removed.
type Collected struct {
	Blobs int
	Bytes int64
}

// Collect removes the blobs no manifest of any repository references and
// that were written before olderThan, and the upload sessions begun before
// it. Writes to the registry wait while it runs.
func (r *Registry) Collect(ctx context.Context, olderThan time.Time) (Collected, error) {
	r.writes.Lock()
	defer r.writes.Unlock()
	if _, err := r.driver.Stat(ctx, "/docker/registry/v2/repositories"); err != nil {
		return Collected{}, nil // nothing was ever pushed
	}
	marked := map[digest.Digest]bool{}
	err := r.ns.(distribution.RepositoryEnumerator).Enumerate(ctx, func(name string) error {
		return r.mark(ctx, name, marked)
	})
	if err != nil && !isPathNotFound(err) {
		return Collected{}, fmt.Errorf("marking: %w", err)
	}
	var out Collected
	vacuum := storage.NewVacuum(ctx, r.driver)
	err = r.ns.Blobs().Enumerate(ctx, func(d digest.Digest) error {
		if marked[d] {
			return nil
		}
		fi, err := r.driver.Stat(ctx, blobData(d))
		if err != nil || !fi.ModTime().Before(olderThan) {
			return nil
		}
		if err := vacuum.RemoveBlob(d.String()); err != nil {
			return err
		}
		out.Blobs++
		out.Bytes += fi.Size()
		return nil
	})
	if err != nil && !isPathNotFound(err) {
		return out, fmt.Errorf("sweeping: %w", err)
	}
	_, errs := storage.PurgeUploads(ctx, r.driver, olderThan, true)
	return out, errors.Join(errs...)
}

// mark adds every blob the manifests of repository name reference.
func (r *Registry) mark(ctx context.Context, name string, marked map[digest.Digest]bool) error {
	repo, err := r.repo(ctx, name)
	if err != nil {
		return err
	}
	ms, err := repo.Manifests(ctx)
	if err != nil {
		return err
	}
	err = ms.(distribution.ManifestEnumerator).Enumerate(ctx, func(d digest.Digest) error {
		marked[d] = true
		m, err := ms.Get(ctx, d)
		if err != nil {
			return err
		}
		for _, ref := range m.References() {
			marked[ref.Digest] = true
		}
		return nil
	})
	if isPathNotFound(err) {
		return nil
	}
	return err
}

// blobData is where distribution's filesystem layout keeps a blob's bytes.
func blobData(d digest.Digest) string {
	return path.Join("/docker/registry/v2/blobs", d.Algorithm().String(), d.Encoded()[:2], d.Encoded(), "data")
}

// Collector runs Collect when asked (after images were deleted) and every
// CollectPeriod.
type Collector struct {
	r        *Registry
	log      *slog.Logger
	requests chan struct{} // at most one request waits
	// Grace is DefaultGrace unless set before Run.
	Grace time.Duration
	// Done, if set before Run, receives each collection's result.
	Done chan<- Collected
}

// NewCollector returns a Collector of r.
func NewCollector(r *Registry, log *slog.Logger) *Collector {
	return &Collector{r: r, log: log, requests: make(chan struct{}, 1), Grace: DefaultGrace}
}

// Request asks for a collection soon; requests made while one waits are
// one request.
func (c *Collector) Request() {
	select {
	case c.requests <- struct{}{}:
	default:
	}
}

// Run collects until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	tick := time.NewTicker(CollectPeriod)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-c.requests:
		}
		got, err := c.r.Collect(ctx, c.r.cfg.Now().Add(-c.Grace))
		if err != nil {
			c.log.Warn("registry garbage collection", "err", err)
		} else if got.Blobs > 0 {
			c.log.Info("registry garbage collection", "blobs", got.Blobs, "bytes", got.Bytes)
		}
		if c.Done != nil {
			select {
			case c.Done <- got:
			case <-ctx.Done():
				return nil
			}
		}
	}
}
