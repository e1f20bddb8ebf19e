// Package ecsapi implements berth's ECS operations: berthv1.ECSServer.
//
// Handlers validate input (every rejection names the field and the rule),
// turn requests into store commands, and render stored objects in ECS's
// shapes (ARNs included). They return *ecserr.Error values; the transport
// (gRPC interceptors, the ECS JSON gateway) maps them to codes and ECS
// exceptions. Handlers hold no state of their own beyond the store.
package ecsapi

import (
	"context"
	"encoding/base64"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/capacity"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/placement"
	"github.com/berth/berth/store"
)

// DefaultCluster is the cluster a request that names none is about, as in ECS.
const DefaultCluster = "default"

// Server implements the ECS operations over a store.
type Server struct {
	berthv1.UnimplementedECSServer

	store  *store.Store
	arns   arn.Namer
	now    func() time.Time
	placer *placement.Placer

	// ProviderUsage, when set, reports each EC2 capacity provider's
	// instances running and needed in a cluster (the capacity manager's
	// Usage), which DescribeCapacityProviders shows as reservations.
	ProviderUsage func(cluster string) map[string]capacity.ProviderUse

	// TargetGroupType, when set, is the target type ("instance" or "ip")
	// of a target group berth's Elastic Load Balancing holds (ok false for
	// one it does not hold): CreateService and UpdateService refuse a
	// target group whose type the task definition's network mode cannot
	// serve, as ECS does.
	TargetGroupType func(targetGroupArn string) (targetType string, ok bool)
}

// New returns a Server over st that writes ARNs with arns. now is the clock
// (time.Now when nil).
func New(st *store.Store, arns arn.Namer, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{store: st, arns: arns, now: now}
	s.placer = placement.New(st, arns, now)
	return s
}

// Placer is the control plane's one Placer, on the server's clock, for the
// loops that place tasks too.
func (s *Server) Placer() *placement.Placer { return s.placer }

// apply stamps cmd with the current time and applies it.
func (s *Server) apply(ctx context.Context, cmd *berthv1.Command) (proto.Message, error) {
	cmd.At = epoch(s.now())
	return s.store.Apply(ctx, cmd)
}

// EnsureDefaultCluster creates the default cluster if it does not exist, so
// that requests naming no cluster work from the first start, as in ECS.
func (s *Server) EnsureDefaultCluster(ctx context.Context) error {
	_, err := s.CreateCluster(ctx, &berthv1.CreateClusterRequest{ClusterName: DefaultCluster})
	return err
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// page reads maxResults (0 means max) and nextToken.
func page(maxResults int32, nextToken string, max int32) (limit int, after string, err error) {
	if maxResults < 0 || maxResults > max {
		return 0, "", ecserr.Param("maxResults", "must be between 1 and %d", max)
	}
	if maxResults == 0 {
		maxResults = max
	}
	if nextToken == "" {
		return int(maxResults), "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(nextToken)
	if err != nil || len(key) == 0 {
		return 0, "", ecserr.Param("nextToken", "is not a token returned by a previous call")
	}
	return int(maxResults), string(key), nil
}

// token is the nextToken that continues after key ("" when there is no more).
func token(key string) string {
	if key == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}
