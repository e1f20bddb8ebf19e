package docker

import (
	"context"
	"time"
)

// OOMEvent exposes oomEvent to the tests: the path Inspect takes when Docker's exit
// status lost the race with its OOM notification cannot be forced from outside.
func (r *Runtime) OOMEvent(ctx context.Context, id string, started, finished time.Time) bool {
	return r.oomEvent(ctx, id, started, finished)
}
