package ecsapi

import (
	"context"
	"crypto/rand"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/servicehistory"
)

// The service deployment history: ListServiceDeployments,
// DescribeServiceDeployments and DescribeServiceRevisions read what
// servicehistory keeps in each service's record.

const (
	maxDescribeServiceDeployments = 20
	defaultListServiceDeployments = 20
	maxListServiceDeployments     = 100
)

// recordHistory brings a service record's history up to date with its
// deployments, before it is written.
func (s *Server) recordHistory(rec *berthv1.ServiceRecord) {
	servicehistory.Update(rec, servicehistory.Change{ARNs: s.arns, Now: epoch(s.now()), NewID: newServiceDeploymentID,
		Images: s.containerImages})
}

func newServiceDeploymentID() string {
	var b [servicehistory.IDLength]byte
	rand.Read(b[:])
	return servicehistory.FormatID(b)
}

// containerImages are a task definition's containers and images, for a
// service revision.
func (s *Server) containerImages(tdArn string) []*berthv1.ContainerImage {
	family, rev, err := arn.TaskDefinition(tdArn)
	if err != nil {
		return nil
	}
	td, err := s.store.TaskDefinition(family, rev)
	if err != nil {
		return nil
	}
	var out []*berthv1.ContainerImage
	for _, c := range td.TaskDefinition.GetContainerDefinitions() {
		out = append(out, &berthv1.ContainerImage{ContainerName: c.GetName(), Image: c.GetImage()})
	}
	return out
}

// ListServiceDeployments lists a service's service deployments, newest
// first, filtered by status and creation time, in pages.
func (s *Server) ListServiceDeployments(ctx context.Context, req *berthv1.ListServiceDeploymentsRequest) (*berthv1.ListServiceDeploymentsResponse, error) {
	cluster, err := s.clusterName("cluster", req.GetCluster())
	if err != nil {
		return nil, err
	}
	if req.GetService() == "" {
		return nil, ecserr.Param("service", "is required")
	}
	name, err := arn.ServiceName(cluster, req.GetService())
	if err != nil {
		return nil, ecserr.Param("service", "%v", err)
	}
	for i, st := range req.GetStatus() {
		if !includes(servicehistory.Statuses, st) {
			return nil, ecserr.Param(fmt.Sprintf("status[%d]", i), "%q is not a service deployment status", st)
		}
	}
	limit := defaultListServiceDeployments
	switch m := req.GetMaxResults(); {
	case m < 0 || m > maxListServiceDeployments:
		return nil, ecserr.Param("maxResults", "must be between 1 and %d, got %d", maxListServiceDeployments, m)
	case m > 0:
		limit = int(m)
	}
	_, after, err := page(0, req.GetNextToken(), 1)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Service(cluster, name)
	if err != nil {
		return nil, err
	}
	var list []*berthv1.ServiceDeployment
	for _, sd := range rec.ServiceDeployments {
		d := sd.Deployment
		ca := req.GetCreatedAt()
		if len(req.GetStatus()) > 0 && !includes(req.GetStatus(), d.Status) ||
			ca.GetBefore() != 0 && d.CreatedAt >= ca.GetBefore() || ca.GetAfter() != 0 && d.CreatedAt <= ca.GetAfter() {
			continue
		}
		list = append(list, d)
	}
	start := 0
	if after != "" {
		start = len(list) // a token of a deployment no longer listed: the end
		for i, d := range list {
			if d.ServiceDeploymentArn == after {
				start = i + 1
			}
		}
	}
	out := &berthv1.ListServiceDeploymentsResponse{}
	for i := start; i < len(list); i++ {
		if len(out.ServiceDeployments) == limit {
			out.NextToken = token(list[i-1].ServiceDeploymentArn)
			break
		}
		out.ServiceDeployments = append(out.ServiceDeployments, servicehistory.Brief(list[i]))
	}
	return out, nil
}

// DescribeServiceDeployments describes up to 20 service deployments by
// ARN; those not found are failures with reason MISSING.
func (s *Server) DescribeServiceDeployments(ctx context.Context, req *berthv1.DescribeServiceDeploymentsRequest) (*berthv1.DescribeServiceDeploymentsResponse, error) {
	out := &berthv1.DescribeServiceDeploymentsResponse{}
	err := s.eachServiceObject("serviceDeploymentArns", arn.TypeServiceDeployment, req.GetServiceDeploymentArns(), func(a string, rec *berthv1.ServiceRecord) {
		if d := servicehistory.Find(rec, a); d != nil {
			out.ServiceDeployments = append(out.ServiceDeployments, d)
			return
		}
		out.Failures = append(out.Failures, &berthv1.Failure{Arn: a, Reason: reasonMissing})
	}, func(a string) { out.Failures = append(out.Failures, &berthv1.Failure{Arn: a, Reason: reasonMissing}) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DescribeServiceRevisions describes up to 20 service revisions by ARN;
// those not found are failures with reason MISSING.
func (s *Server) DescribeServiceRevisions(ctx context.Context, req *berthv1.DescribeServiceRevisionsRequest) (*berthv1.DescribeServiceRevisionsResponse, error) {
	out := &berthv1.DescribeServiceRevisionsResponse{}
	err := s.eachServiceObject("serviceRevisionArns", arn.TypeServiceRevision, req.GetServiceRevisionArns(), func(a string, rec *berthv1.ServiceRecord) {
		if r := servicehistory.FindRevision(rec, a); r != nil {
			out.ServiceRevisions = append(out.ServiceRevisions, r)
			return
		}
		out.Failures = append(out.Failures, &berthv1.Failure{Arn: a, Reason: reasonMissing})
	}, func(a string) { out.Failures = append(out.Failures, &berthv1.Failure{Arn: a, Reason: reasonMissing}) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachServiceObject checks 1-20 ARNs of a type (service-deployment or
// service-revision) and calls found with each one's service record, or
// missing when its cluster or service does not exist.
func (s *Server) eachServiceObject(field, typ string, arns []string, found func(string, *berthv1.ServiceRecord), missing func(string)) error {
	if len(arns) == 0 || len(arns) > maxDescribeServiceDeployments {
		return ecserr.Param(field, "give between 1 and %d ARNs, got %d", maxDescribeServiceDeployments, len(arns))
	}
	type ref struct{ cluster, service string }
	refs := make([]ref, len(arns))
	for i, a := range arns {
		c, svc, _, err := arn.ServiceObject(typ, a)
		if err != nil {
			return ecserr.Param(fmt.Sprintf("%s[%d]", field, i), "%v", err)
		}
		refs[i] = ref{c, svc}
	}
	for i, a := range arns {
		rec, err := s.store.Service(refs[i].cluster, refs[i].service)
		if err != nil {
			missing(a)
			continue
		}
		found(a, rec)
	}
	return nil
}
