package ecsapi

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/taskdef"
	"github.com/berth/berth/store"
)

// RegisterTaskDefinition validates and normalizes the request and stores it
// as the family's next revision.
func (s *Server) RegisterTaskDefinition(ctx context.Context, req *berthv1.RegisterTaskDefinitionRequest) (*berthv1.RegisterTaskDefinitionResponse, error) {
	td, err := taskdef.Validate(req)
	if err != nil {
		return nil, err
	}
	if err := validateTags("tags", req.GetTags()); err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_RegisterTaskDefinition{
		RegisterTaskDefinition: &berthv1.RegisterTaskDefinitionCommand{TaskDefinition: td, Tags: req.GetTags()},
	}})
	if err != nil {
		return nil, err
	}
	rec := res.(*berthv1.TaskDefinitionRecord)
	return &berthv1.RegisterTaskDefinitionResponse{TaskDefinition: s.renderTaskDefinition(rec), Tags: rec.Tags}, nil
}

// DescribeTaskDefinition returns family (its latest ACTIVE revision),
// family:revision or an ARN.
func (s *Server) DescribeTaskDefinition(ctx context.Context, req *berthv1.DescribeTaskDefinitionRequest) (*berthv1.DescribeTaskDefinitionResponse, error) {
	family, rev, err := parseTaskDefinition(req.GetTaskDefinition())
	if err != nil {
		return nil, err
	}
	if err := validateInclude(req.GetInclude(), "TAGS"); err != nil {
		return nil, err
	}
	rec, err := s.store.TaskDefinition(family, rev)
	if err != nil {
		return nil, taskDefinitionSays(err, ecserr.TextTaskDefinitionUndescribable)
	}
	out := &berthv1.DescribeTaskDefinitionResponse{TaskDefinition: s.renderTaskDefinition(rec)}
	if includes(req.GetInclude(), "TAGS") {
		out.Tags = rec.Tags
	}
	return out, nil
}

// ListTaskDefinitions lists revision ARNs by family then revision.
func (s *Server) ListTaskDefinitions(ctx context.Context, req *berthv1.ListTaskDefinitionsRequest) (*berthv1.ListTaskDefinitionsResponse, error) {
	q := store.TaskDefinitionQuery{Family: req.GetFamilyPrefix(), Status: req.GetStatus()}
	if q.Family != "" && !validName(q.Family) {
		return nil, ecserr.Param("familyPrefix", "%q is not a family name", q.Family)
	}
	switch q.Status {
	case "":
		q.Status = store.StatusActive
	case store.StatusActive, store.StatusInactive, store.StatusDeleteInProgress:
	default:
		return nil, ecserr.Param("status", "must be ACTIVE, INACTIVE or DELETE_IN_PROGRESS, not %q", q.Status)
	}
	switch req.GetSort() {
	case "", "ASC":
	case "DESC":
		q.Descending = true
	default:
		return nil, ecserr.Param("sort", "must be ASC or DESC, not %q", req.GetSort())
	}
	var err error
	if q.Limit, q.After, err = page(req.GetMaxResults(), req.GetNextToken(), 100); err != nil {
		return nil, err
	}
	refs, next, err := s.store.TaskDefinitions(q)
	if err != nil {
		return nil, err
	}
	out := &berthv1.ListTaskDefinitionsResponse{NextToken: token(next)}
	for _, r := range refs {
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, s.arns.TaskDefinition(r.Family, r.Revision))
	}
	return out, nil
}

// ListTaskDefinitionFamilies lists family names.
func (s *Server) ListTaskDefinitionFamilies(ctx context.Context, req *berthv1.ListTaskDefinitionFamiliesRequest) (*berthv1.ListTaskDefinitionFamiliesResponse, error) {
	q := store.FamilyQuery{Prefix: req.GetFamilyPrefix(), Status: req.GetStatus()}
	switch q.Status {
	case "":
		q.Status = store.StatusActive
	case store.StatusActive, store.StatusInactive, "ALL":
	default:
		return nil, ecserr.Param("status", "must be ACTIVE, INACTIVE or ALL, not %q", q.Status)
	}
	var err error
	if q.Limit, q.After, err = page(req.GetMaxResults(), req.GetNextToken(), 100); err != nil {
		return nil, err
	}
	names, next, err := s.store.Families(q)
	if err != nil {
		return nil, err
	}
	return &berthv1.ListTaskDefinitionFamiliesResponse{Families: names, NextToken: token(next)}, nil
}

// DeregisterTaskDefinition marks family:revision INACTIVE.
func (s *Server) DeregisterTaskDefinition(ctx context.Context, req *berthv1.DeregisterTaskDefinitionRequest) (*berthv1.DeregisterTaskDefinitionResponse, error) {
	family, rev, err := parseTaskDefinition(req.GetTaskDefinition())
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, ecserr.Field("taskDefinition", "name a revision (family:revision or the full ARN), not only the family %q", family).
			Says(ecserr.TextRevisionMissing)
	}
	res, err := s.apply(ctx, &berthv1.Command{Change: &berthv1.Command_DeregisterTaskDefinition{
		DeregisterTaskDefinition: &berthv1.DeregisterTaskDefinitionCommand{Family: family, Revision: rev},
	}})
	if err != nil {
		return nil, taskDefinitionSays(err, ecserr.TextTaskDefinitionUndescribable)
	}
	return &berthv1.DeregisterTaskDefinitionResponse{TaskDefinition: s.renderTaskDefinition(res.(*berthv1.TaskDefinitionRecord))}, nil
}

// parseTaskDefinition reads the taskDefinition parameter.
func parseTaskDefinition(v string) (string, int32, error) {
	if v == "" {
		return "", 0, ecserr.Param("taskDefinition", "is required")
	}
	family, rev, err := arn.TaskDefinition(v)
	if err != nil {
		e := ecserr.Param("taskDefinition", "%v", err)
		if r, ok := badRevision(v); ok {
			return "", 0, e.Says(ecserr.TextInvalidRevision(r))
		}
		return "", 0, e
	}
	if !validName(family) {
		return "", 0, ecserr.Param("taskDefinition", "%q is not a family name: up to 255 letters, digits, hyphens and underscores", family)
	}
	return family, rev, nil
}

// renderTaskDefinition is the stored revision as ECS shows it.
func (s *Server) renderTaskDefinition(rec *berthv1.TaskDefinitionRecord) *berthv1.TaskDefinition {
	td := proto.Clone(rec.TaskDefinition).(*berthv1.TaskDefinition)
	td.TaskDefinitionArn = s.arns.TaskDefinition(td.Family, td.Revision)
	return td
}

// validateInclude checks that include lists only the allowed values.
func validateInclude(include []string, allowed ...string) error {
	for i, v := range include {
		if !includes(allowed, v) {
			return ecserr.Param("include", "[%d] %q is not one of %s", i, v, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func includes(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// badRevision is the revision of a family:revision (or ARN) that is not a
// positive whole number, as ECS's text names it.
func badRevision(v string) (string, bool) {
	if arn.IsARN(v) {
		_, v, _ = strings.Cut(v, "/")
	}
	_, rev, ok := strings.Cut(v, ":")
	if !ok {
		return "", false
	}
	if n, err := strconv.ParseInt(rev, 10, 32); err == nil && n > 0 {
		return "", false
	}
	return rev, true
}

// taskDefinitionSays gives a task definition the store does not have (a
// NotFound) ECS's text for the operation, a ClientException.
func taskDefinitionSays(err error, text string) error {
	if !ecserr.Is(err, ecserr.NotFound) {
		return err
	}
	e := ecserr.From(err).Says(text)
	e.Field, e.Exception = "taskDefinition", ecserr.ClientException
	return e
}
