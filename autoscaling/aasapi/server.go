// Package aasapi is Application Auto Scaling's operations for ECS services
// (gRPC berth.v1.ApplicationAutoScaling and the JSON 1.1 wire), its records
// in the store (scalable targets, scaling policies with their alarms'
// state, activities), and the loop that evaluates the policies once an
// evaluation period and writes a service's desiredCount through ECS's
// UpdateService.
package aasapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/autoscaling"
	"github.com/berth/berth/ecs/taskmetrics"
	"github.com/berth/berth/store"
)

// Collections of the store this package keeps its records in.
const (
	CollectionTargets    = "autoscaling-targets"
	CollectionPolicies   = "autoscaling-policies"
	CollectionActivities = "autoscaling-activities"
)

// MaxActivities is how many activities are kept a target (oldest dropped).
const MaxActivities = 100

// DefaultEvaluationPeriod is how often the loop evaluates the policies: the
// one-minute period of target tracking's alarms.
const DefaultEvaluationPeriod = time.Minute

// ServiceUpdater is ECS's UpdateService, in-process (ecs/ecsapi's Server).
type ServiceUpdater interface {
	UpdateService(ctx context.Context, req *berthv1.UpdateServiceRequest) (*berthv1.UpdateServiceResponse, error)
}

// RequestCounter reads a target group's request count and healthy targets
// (ALBRequestCountPerTarget); the target group is named by the end of its
// ARN (targetgroup/<name>/<id>). ok false: no such target group.
type RequestCounter func(targetGroup string) (requests float64, healthy int, ok bool)

// Config is what the server and its loop need.
type Config struct {
	Store   *store.Store
	ARNs    arn.Namer
	Logger  *slog.Logger
	Metrics *taskmetrics.Store
	ECS     ServiceUpdater
	// Requests reads target groups' request counts; nil: policies on
	// ALBRequestCountPerTarget have no data.
	Requests RequestCounter
	// EvaluationPeriod is how often policies are evaluated
	// (DefaultEvaluationPeriod when 0); tests and -dev shorten it.
	EvaluationPeriod time.Duration
	Now              func() time.Time
}

// Server is berth.v1.ApplicationAutoScaling.
type Server struct {
	berthv1.UnimplementedApplicationAutoScalingServer // every method is implemented below
	cfg                                               Config
	targets                                           store.Collection[*berthv1.AutoscalingTargetRecord]
	policies                                          store.Collection[*berthv1.AutoscalingPolicyRecord]
	activities                                        store.Collection[*berthv1.AutoscalingActivityRecord]
	requests                                          map[string]requestMark // target group -> its last count read, the loop's only
}

// New serves Application Auto Scaling over the store.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EvaluationPeriod <= 0 {
		cfg.EvaluationPeriod = DefaultEvaluationPeriod
	}
	if cfg.Metrics == nil {
		cfg.Metrics = taskmetrics.New(0, 0, 0)
	}
	return &Server{
		cfg:        cfg,
		targets:    store.Collection[*berthv1.AutoscalingTargetRecord]{Store: cfg.Store, Name: CollectionTargets, New: func() *berthv1.AutoscalingTargetRecord { return &berthv1.AutoscalingTargetRecord{} }},
		policies:   store.Collection[*berthv1.AutoscalingPolicyRecord]{Store: cfg.Store, Name: CollectionPolicies, New: func() *berthv1.AutoscalingPolicyRecord { return &berthv1.AutoscalingPolicyRecord{} }},
		activities: store.Collection[*berthv1.AutoscalingActivityRecord]{Store: cfg.Store, Name: CollectionActivities, New: func() *berthv1.AutoscalingActivityRecord { return &berthv1.AutoscalingActivityRecord{} }},
		requests:   map[string]requestMark{},
	}
}

// Records are the stored scalable targets, policies and activities, for
// views that read them (the dashboard's scaling panel).
func (s *Server) Records() (store.Collection[*berthv1.AutoscalingTargetRecord], store.Collection[*berthv1.AutoscalingPolicyRecord], store.Collection[*berthv1.AutoscalingActivityRecord]) {
	return s.targets, s.policies, s.activities
}

// requestMark is a target group's request count as the loop last read it.
type requestMark struct {
	count float64
	at    time.Time
}

func (s *Server) at() float64 { return float64(s.cfg.Now().UnixMilli()) / 1000 }

func notFound(format string, args ...any) error {
	e := apierr.New(apierr.NotFound, "", format, args...)
	e.Exception = autoscaling.ObjectNotFoundException
	return e
}

func validation(format string, args ...any) error {
	e := apierr.New(apierr.InvalidArgument, "", format, args...)
	e.Exception = autoscaling.ValidationException
	return e
}

func targetMissing(id string) error {
	return notFound("No scalable target registered for service namespace: ecs, resource ID: %s, scalable dimension: %s", id, autoscaling.DimensionDesiredCount)
}

func policyKey(resourceID, name string) string { return resourceID + ":" + name }

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// checkService says whether the resource id names an ACTIVE ECS service.
func (s *Server) checkService(id string) (cluster, name string, err error) {
	cluster, name, err = autoscaling.ParseResourceID(id)
	if err != nil {
		return "", "", err
	}
	rec, err := s.cfg.Store.Service(cluster, name)
	if err != nil || rec.GetService().GetStatus() != "ACTIVE" {
		return "", "", validation("ECS service doesn't exist: %s", id)
	}
	return cluster, name, nil
}

// RegisterScalableTarget registers an ECS service's desired count, or
// updates a registered one's bounds and suspended state.
func (s *Server) RegisterScalableTarget(ctx context.Context, req *berthv1.RegisterScalableTargetRequest) (*berthv1.RegisterScalableTargetResponse, error) {
	if err := autoscaling.CheckDimension(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	if _, _, err := s.checkService(req.GetResourceId()); err != nil {
		return nil, err
	}
	var out *berthv1.ScalableTarget
	_, err := s.targets.Update(ctx, s.at(), req.GetResourceId(), func(old *berthv1.AutoscalingTargetRecord, ok bool) (*berthv1.AutoscalingTargetRecord, error) {
		if err := autoscaling.CheckCapacities(req.MinCapacity, req.MaxCapacity, ok); err != nil {
			return nil, err
		}
		if !ok {
			old.Target = &berthv1.ScalableTarget{
				ServiceNamespace: autoscaling.NamespaceECS, ResourceId: req.GetResourceId(), ScalableDimension: autoscaling.DimensionDesiredCount,
				CreationTime:      s.at(),
				ScalableTargetArn: fmt.Sprintf("arn:aws:application-autoscaling:%s:%s:scalable-target/%s", s.cfg.ARNs.Region, s.cfg.ARNs.Account, strings.ReplaceAll(uuid(), "-", "")[:28]),
				RoleArn:           fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService", s.cfg.ARNs.Account),
				SuspendedState:    &berthv1.AutoscalingSuspendedState{DynamicScalingInSuspended: ptr(false), DynamicScalingOutSuspended: ptr(false), ScheduledScalingSuspended: ptr(false)},
			}
		}
		t := old.Target
		if req.MinCapacity != nil {
			t.MinCapacity = *req.MinCapacity
		}
		if req.MaxCapacity != nil {
			t.MaxCapacity = *req.MaxCapacity
		}
		if t.MinCapacity > t.MaxCapacity {
			e := apierr.Field("MinCapacity", "Minimum capacity cannot be greater than maximum capacity (%d > %d)", t.MinCapacity, t.MaxCapacity)
			e.Exception = autoscaling.ValidationException
			return nil, e
		}
		if req.GetRoleArn() != "" {
			t.RoleArn = req.GetRoleArn()
		}
		if ss := req.GetSuspendedState(); ss != nil {
			if ss.DynamicScalingInSuspended != nil {
				t.SuspendedState.DynamicScalingInSuspended = ss.DynamicScalingInSuspended
			}
			if ss.DynamicScalingOutSuspended != nil {
				t.SuspendedState.DynamicScalingOutSuspended = ss.DynamicScalingOutSuspended
			}
			if ss.ScheduledScalingSuspended != nil {
				t.SuspendedState.ScheduledScalingSuspended = ss.ScheduledScalingSuspended
			}
		}
		out = t
		return old, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.RegisterScalableTargetResponse{ScalableTargetArn: out.GetScalableTargetArn()}, nil
}

func pageSize(n int32) (int, error) {
	if n < 0 || n > autoscaling.MaxResults {
		e := apierr.Field("MaxResults", "must be between 1 and %d, got %d", autoscaling.MaxResults, n)
		e.Exception = autoscaling.ValidationException
		return 0, e
	}
	if n == 0 {
		return autoscaling.MaxResults, nil
	}
	return int(n), nil
}

// DescribeScalableTargets lists the registered targets, by resource id.
func (s *Server) DescribeScalableTargets(ctx context.Context, req *berthv1.DescribeScalableTargetsRequest) (*berthv1.DescribeScalableTargetsResponse, error) {
	if err := checkFilter(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	limit, err := pageSize(req.GetMaxResults())
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, id := range req.GetResourceIds() {
		want[id] = true
	}
	resp := &berthv1.DescribeScalableTargetsResponse{ScalableTargets: []*berthv1.ScalableTarget{}}
	err = s.targets.List("", req.GetNextToken(), func(r store.Stored[*berthv1.AutoscalingTargetRecord]) bool {
		if len(want) > 0 && !want[r.Key] {
			return true
		}
		if len(resp.ScalableTargets) == limit {
			resp.NextToken = resp.ScalableTargets[limit-1].GetResourceId()
			return false
		}
		resp.ScalableTargets = append(resp.ScalableTargets, r.Value.GetTarget())
		return true
	})
	return resp, err
}

// checkFilter checks a Describe's namespace (required) and dimension
// (optional).
func checkFilter(namespace, dimension string) error {
	if dimension == "" {
		dimension = autoscaling.DimensionDesiredCount
	}
	return autoscaling.CheckDimension(namespace, dimension)
}

// DeregisterScalableTarget removes a target with its policies.
func (s *Server) DeregisterScalableTarget(ctx context.Context, req *berthv1.DeregisterScalableTargetRequest) (*berthv1.DeregisterScalableTargetResponse, error) {
	if err := autoscaling.CheckDimension(req.GetServiceNamespace(), req.GetScalableDimension()); err != nil {
		return nil, err
	}
	id := req.GetResourceId()
	if _, _, err := autoscaling.ParseResourceID(id); err != nil {
		return nil, err
	}
	rec, ok, err := s.targets.Get(id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, targetMissing(id)
	}
	writes := []*berthv1.DocumentWrite{s.targets.DeleteWrite(id, rec.Generation)}
	if err := s.policies.List(id+":", "", func(p store.Stored[*berthv1.AutoscalingPolicyRecord]) bool {
		writes = append(writes, s.policies.DeleteWrite(p.Key, p.Generation))
		return true
	}); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.WriteDocuments(ctx, s.at(), writes...); err != nil {
		return nil, err
	}
	return &berthv1.DeregisterScalableTargetResponse{}, nil
}

func ptr[T any](v T) *T { return &v }
