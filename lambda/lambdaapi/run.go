package lambdaapi

import (
	"context"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda"
)

// resync is how often Run's loops look at the store without being woken.
const resync = time.Second

// Run runs the activator, the event worker and the usage writer until ctx ends, and returns
// once every goroutine it started returned.
func (s *Server) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.loop(ctx, s.kickActivator, s.activateAll) }()
	go func() { defer wg.Done(); s.runEvents(ctx) }()
	go func() { defer wg.Done(); s.writeUsage(ctx) }()
	wg.Wait()
	return nil
}

// loop calls pass at once, when woken and every resync, until ctx ends.
func (s *Server) loop(ctx context.Context, kick <-chan struct{}, pass func(context.Context)) {
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
	}
}

// needsWork reports whether a version is Pending or being updated.
func needsWork(c *berthv1.LambdaFunctionConfiguration) bool {
	return c.GetState() == lambda.StatePending || c.GetLastUpdateStatus() == lambda.UpdateInProgress
}

// activateAll readies every function waiting for it.
func (s *Server) activateAll(ctx context.Context) {
	all, err := s.all()
	if err != nil {
		s.cfg.Logger.Error("lambda: list functions", "err", err)
		return
	}
	for _, f := range all {
		if ctx.Err() != nil {
			return
		}
		if err := s.activate(ctx, f.GetName()); err != nil {
			s.cfg.Logger.Warn("lambda: activate", "function", f.GetName(), "err", err)
		}
	}
}

// activate readies a function's versions that wait (Pending, or an update
// InProgress): Prepare, then Active / Successful, or Failed with Prepare's
// error.
func (s *Server) activate(ctx context.Context, name string) error {
	st, ok, err := s.functions.Get(name)
	if err != nil || !ok {
		return err
	}
	f := st.Value
	versions := append([]*berthv1.LambdaVersionRecord{f.GetLatest()}, f.GetVersions()...)
	outcome := map[string]string{} // RevisionId -> failure ("" ready)
	for _, v := range versions {
		c := v.GetConfig()
		if !needsWork(c) {
			continue
		}
		failure := ""
		if s.cfg.Prepare != nil {
			if err := s.cfg.Prepare(ctx, s.runnable(f, v), v.GetZipPath()); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failure = err.Error()
			}
		}
		outcome[c.GetVersion()+"\x00"+c.GetRevisionId()] = failure
	}
	if len(outcome) == 0 {
		return nil
	}
	_, err = s.functions.Update(ctx, s.at(), name, func(old *berthv1.LambdaFunctionRecord, ok bool) (*berthv1.LambdaFunctionRecord, error) {
		if !ok {
			return nil, lambda.FunctionNotFound(s.names.FunctionARN(name))
		}
		next := proto.Clone(old).(*berthv1.LambdaFunctionRecord)
		for _, v := range append([]*berthv1.LambdaVersionRecord{next.GetLatest()}, next.GetVersions()...) {
			c := v.GetConfig()
			if failure, ok := outcome[c.GetVersion()+"\x00"+c.GetRevisionId()]; ok && needsWork(c) {
				v.Config = lambda.Ready(c, failure, "InternalError")
			}
		}
		return next, nil
	})
	return err
}
