package lambdaapi

import (
	"context"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/store"
)

// Usage is berth.v1.LambdaUsage over the server's usage records.
type Usage struct {
	berthv1.UnimplementedLambdaUsageServer
	s *Server
}

// Usage serves berth's usage view of the server's functions.
func (s *Server) Usage() *Usage { return &Usage{s: s} }

// GetFunctionUsage sums the usage records of a function (every function
// when none is named) in a window, priced at Lambda's us-east-1 prices.
func (u *Usage) GetFunctionUsage(ctx context.Context, req *berthv1.GetFunctionUsageRequest) (*berthv1.GetFunctionUsageResponse, error) {
	prefix := ""
	if req.GetFunctionName() != "" {
		ref, err := u.s.names.ParseFunctionName("FunctionName", req.GetFunctionName())
		if err != nil {
			return nil, err
		}
		prefix = u.s.names.FunctionARN(ref.Name) + ":"
	}
	var recs []*berthv1.LambdaUsageRecord
	err := u.s.usage.List("", "", func(r store.Stored[*berthv1.LambdaUsageRecord]) bool {
		v := r.Value
		if (prefix == "" || strings.HasPrefix(v.GetFunctionArn(), prefix)) &&
			(req.GetStartTime() == 0 || v.GetAt() >= req.GetStartTime()) && (req.GetEndTime() == 0 || v.GetAt() < req.GetEndTime()) {
			recs = append(recs, v)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return lambda.Usage(recs), nil
}
