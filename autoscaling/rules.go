package autoscaling

import (
	"fmt"
	"math"
	"strings"

	"github.com/berth/berth/apierr"
)

// Names Application Auto Scaling uses, as its API spells them.
const (
	NamespaceECS            = "ecs"
	DimensionDesiredCount   = "ecs:service:DesiredCount"
	PolicyTargetTracking    = "TargetTrackingScaling"
	PolicyStepScaling       = "StepScaling"
	MetricCPU               = "ECSServiceAverageCPUUtilization"
	MetricMemory            = "ECSServiceAverageMemoryUtilization"
	MetricALBRequestCount   = "ALBRequestCountPerTarget"
	ChangeInCapacity        = "ChangeInCapacity"
	PercentChangeInCapacity = "PercentChangeInCapacity"
	ExactCapacity           = "ExactCapacity"
)

// Its exception names.
const (
	ValidationException           = "ValidationException"
	ObjectNotFoundException       = "ObjectNotFoundException"
	ConcurrentUpdateException     = "ConcurrentUpdateException"
	InternalServiceException      = "InternalServiceException"
	LimitExceededException        = "LimitExceededException"
	InvalidNextTokenException     = "InvalidNextTokenException"
	FailedResourceAccessException = "FailedResourceAccessException"
)

// Limits of the API's members (botocore's shapes and the documented rules).
const (
	MinTargetValue = 8.515920e-109
	MaxTargetValue = 1.174271e+108
	MaxCooldown    = 1_000_000_000 // seconds
	MaxNameLength  = 256
	MaxResults     = 50
	// MaxCapacityECS is the largest desired count berth lets a target reach.
	MaxCapacityECS = 10_000
)

// Activity status codes.
const (
	StatusSuccessful = "Successful"
	StatusFailed     = "Failed"
)

func invalid(field, format string, args ...any) error {
	e := apierr.Field(field, format, args...)
	e.Exception = ValidationException
	return e
}

// CheckDimension checks ServiceNamespace and ScalableDimension: berth scales
// ECS services' desired count only.
func CheckDimension(namespace, dimension string) error {
	if namespace == "" {
		return invalid("ServiceNamespace", "is required")
	}
	if namespace != NamespaceECS {
		return invalid("ServiceNamespace", "%q is not served by berth (ecs only)", namespace)
	}
	if dimension == "" {
		return invalid("ScalableDimension", "is required")
	}
	if dimension != DimensionDesiredCount {
		return invalid("ScalableDimension", "%q is not a scalable dimension of namespace ecs (want %s)", dimension, DimensionDesiredCount)
	}
	return nil
}

// ParseResourceID splits an ECS service's resource id,
// service/<cluster>/<service>.
func ParseResourceID(id string) (cluster, service string, err error) {
	if id == "" {
		return "", "", invalid("ResourceId", "is required")
	}
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] != "service" || parts[1] == "" || parts[2] == "" {
		return "", "", invalid("ResourceId", "%q is not an ECS service's resource id (want service/<cluster>/<service>)", id)
	}
	return parts[1], parts[2], nil
}

// CheckCapacities checks a registration's bounds: both non-negative, min
// at most max, and both given for a new target.
func CheckCapacities(min, max *int32, existing bool) error {
	if !existing && (min == nil || max == nil) {
		return invalid("MinCapacity", "MinCapacity and MaxCapacity are required for registering a new scalable target")
	}
	if min != nil && *min < 0 {
		return invalid("MinCapacity", "must be at least 0, got %d", *min)
	}
	if max != nil && *max < 0 {
		return invalid("MaxCapacity", "must be at least 0, got %d", *max)
	}
	if max != nil && *max > MaxCapacityECS {
		return invalid("MaxCapacity", "must be at most %d, got %d", MaxCapacityECS, *max)
	}
	if min != nil && max != nil && *min > *max {
		return invalid("MinCapacity", "Minimum capacity cannot be greater than maximum capacity (%d > %d)", *min, *max)
	}
	return nil
}

// CheckPolicyName checks a policy's name: 1-256 characters without a colon
// or control characters (botocore's PolicyName pattern).
func CheckPolicyName(name string) error {
	if name == "" {
		return invalid("PolicyName", "is required")
	}
	if len(name) > MaxNameLength {
		return invalid("PolicyName", "must be at most %d characters, got %d", MaxNameLength, len(name))
	}
	for _, r := range name {
		if r == ':' || r < 0x20 || r == 0x7f {
			return invalid("PolicyName", "must not contain %q", r)
		}
	}
	return nil
}

// TargetTracking is a target tracking policy's configuration, checked.
type TargetTracking struct {
	Metric           string
	ResourceLabel    string
	Target           float64
	ScaleOutCooldown int32 // seconds
	ScaleInCooldown  int32
	DisableScaleIn   bool
}

// DefaultCooldown is ECS's default scale-out and scale-in cooldown, seconds.
const DefaultCooldown = 300

// CheckTargetTracking checks a TargetTrackingScalingPolicyConfiguration.
// hasTargetGroup says whether a ResourceLabel names a target group berth
// knows (nil: not checked).
func CheckTargetTracking(path string, target *float64, metric, label string, hasCustom bool, outCD, inCD *int32) error {
	if target == nil {
		return invalid(path+".TargetValue", "is required")
	}
	if math.IsNaN(*target) || *target < MinTargetValue || *target > MaxTargetValue {
		return invalid(path+".TargetValue", "must be between %g and %g, got %g", MinTargetValue, MaxTargetValue, *target)
	}
	if hasCustom {
		return invalid(path+".CustomizedMetricSpecification", "is not served by berth (no CloudWatch): use PredefinedMetricSpecification")
	}
	switch metric {
	case "":
		return invalid(path+".PredefinedMetricSpecification.PredefinedMetricType", "is required")
	case MetricCPU, MetricMemory:
		if label != "" {
			return invalid(path+".PredefinedMetricSpecification.ResourceLabel", "is only for %s", MetricALBRequestCount)
		}
		if *target > 100 {
			return invalid(path+".TargetValue", "%s is a percentage: the target must be at most 100, got %g", metric, *target)
		}
	case MetricALBRequestCount:
		if err := CheckResourceLabel(path+".PredefinedMetricSpecification.ResourceLabel", label); err != nil {
			return err
		}
	default:
		return invalid(path+".PredefinedMetricSpecification.PredefinedMetricType", "%q is not a predefined metric of ECS services (want %s, %s or %s)", metric, MetricCPU, MetricMemory, MetricALBRequestCount)
	}
	for _, c := range []struct {
		name string
		v    *int32
	}{{"ScaleOutCooldown", outCD}, {"ScaleInCooldown", inCD}} {
		if c.v != nil && (*c.v < 0 || *c.v > MaxCooldown) {
			return invalid(path+"."+c.name, "must be between 0 and %d seconds, got %d", MaxCooldown, *c.v)
		}
	}
	return nil
}

// CheckResourceLabel checks ALBRequestCountPerTarget's ResourceLabel:
// app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>.
func CheckResourceLabel(field, label string) error {
	if label == "" {
		return invalid(field, "is required for %s", MetricALBRequestCount)
	}
	p := strings.Split(label, "/")
	if len(p) != 6 || p[0] != "app" || p[3] != "targetgroup" || p[1] == "" || p[2] == "" || p[4] == "" || p[5] == "" {
		return invalid(field, "%q is not app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>", label)
	}
	return nil
}

// TargetGroupSuffix is the part of a ResourceLabel that ends a target
// group's ARN (targetgroup/<name>/<id>).
func TargetGroupSuffix(label string) string {
	if i := strings.Index(label, "/targetgroup/"); i >= 0 {
		return label[i+1:]
	}
	return ""
}

// Step is one checked step adjustment: bounds relative to the alarm's
// threshold (nil: unbounded).
type Step struct {
	Lower, Upper *float64
	Adjustment   int32
}

// StepScaling is a step scaling policy's configuration, checked.
type StepScaling struct {
	AdjustmentType string
	Steps          []Step
	MinMagnitude   int32
	Cooldown       int32
}

// CheckStepScaling checks a StepScalingPolicyConfiguration as Application
// Auto Scaling does: an adjustment type, at least one step, at most one
// step without a lower bound and one without an upper bound, no overlaps
// or gaps, MinAdjustmentMagnitude only with PercentChangeInCapacity.
func CheckStepScaling(path string, s StepScaling) error {
	switch s.AdjustmentType {
	case "":
		return invalid(path+".AdjustmentType", "is required")
	case ChangeInCapacity, PercentChangeInCapacity, ExactCapacity:
	default:
		return invalid(path+".AdjustmentType", "%q is not one of %s, %s, %s", s.AdjustmentType, ChangeInCapacity, PercentChangeInCapacity, ExactCapacity)
	}
	if len(s.Steps) == 0 {
		return invalid(path+".StepAdjustments", "must have at least one step adjustment")
	}
	if s.MinMagnitude != 0 && s.AdjustmentType != PercentChangeInCapacity {
		return invalid(path+".MinAdjustmentMagnitude", "is only for %s", PercentChangeInCapacity)
	}
	if s.MinMagnitude < 0 {
		return invalid(path+".MinAdjustmentMagnitude", "must be at least 0, got %d", s.MinMagnitude)
	}
	if s.Cooldown < 0 || s.Cooldown > MaxCooldown {
		return invalid(path+".Cooldown", "must be between 0 and %d seconds, got %d", MaxCooldown, s.Cooldown)
	}
	for i, st := range s.Steps {
		f := fmt.Sprintf("%s.StepAdjustments[%d]", path, i)
		if st.Lower == nil && st.Upper == nil {
			return invalid(f, "needs MetricIntervalLowerBound or MetricIntervalUpperBound")
		}
		if st.Lower != nil && st.Upper != nil && *st.Lower >= *st.Upper {
			return invalid(f, "MetricIntervalLowerBound %g must be below MetricIntervalUpperBound %g", *st.Lower, *st.Upper)
		}
		for j, o := range s.Steps[:i] {
			if overlap(st, o) {
				return invalid(f, "overlaps StepAdjustments[%d]", j)
			}
		}
	}
	return nil
}

func lower(s Step) float64 {
	if s.Lower == nil {
		return math.Inf(-1)
	}
	return *s.Lower
}

func upper(s Step) float64 {
	if s.Upper == nil {
		return math.Inf(1)
	}
	return *s.Upper
}

func overlap(a, b Step) bool { return lower(a) < upper(b) && lower(b) < upper(a) }
