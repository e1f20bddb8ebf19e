package lambdaapi

import (
	"context"
	"encoding/json"
	"slices"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
)

// PutFunctionConcurrency reserves concurrency for a function, within the
// account's limit less the unreserved minimum.
func (s *Server) PutFunctionConcurrency(ctx context.Context, req *berthv1.LambdaPutFunctionConcurrencyRequest) (*berthv1.LambdaConcurrency, error) {
	ref, err := s.names.ParseFunctionName("FunctionName", req.GetFunctionName())
	if err != nil {
		return nil, err
	}
	all, err := s.all()
	if err != nil {
		return nil, err
	}
	if err := lambda.CheckReserve(s.cfg.AccountConcurrency, all, ref.Name, req.ReservedConcurrentExecutions); err != nil {
		return nil, err
	}
	_, err = s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		v := req.GetReservedConcurrentExecutions()
		next.ReservedConcurrency = &v
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaConcurrency{ReservedConcurrentExecutions: req.ReservedConcurrentExecutions}, nil
}

// GetFunctionConcurrency answers the reserved concurrency, none when unset.
func (s *Server) GetFunctionConcurrency(ctx context.Context, req *berthv1.LambdaGetFunctionConcurrencyRequest) (*berthv1.LambdaGetFunctionConcurrencyResponse, error) {
	st, _, err := s.function("FunctionName", req.GetFunctionName(), "")
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaGetFunctionConcurrencyResponse{ReservedConcurrentExecutions: st.Value.ReservedConcurrency}, nil
}

// DeleteFunctionConcurrency gives a function's reservation back to the pool.
func (s *Server) DeleteFunctionConcurrency(ctx context.Context, req *berthv1.LambdaDeleteFunctionConcurrencyRequest) (*berthv1.LambdaDeleteFunctionConcurrencyResponse, error) {
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.ReservedConcurrency = nil
		return next, nil
	})
	return &berthv1.LambdaDeleteFunctionConcurrencyResponse{}, err
}

// GetAccountSettings answers the account's limits and use.
func (s *Server) GetAccountSettings(ctx context.Context, req *berthv1.LambdaGetAccountSettingsRequest) (*berthv1.LambdaGetAccountSettingsResponse, error) {
	all, err := s.all()
	if err != nil {
		return nil, err
	}
	var size float64
	for _, f := range all {
		size += f.GetLatest().GetConfig().GetCodeSize()
		for _, v := range f.GetVersions() {
			size += v.GetConfig().GetCodeSize()
		}
	}
	return &berthv1.LambdaGetAccountSettingsResponse{
		AccountLimit: &berthv1.LambdaAccountLimit{
			TotalCodeSize: 80530636800, CodeSizeUnzipped: lambda.MaxUnzippedBytes, CodeSizeZipped: lambda.MaxZipBytes,
			ConcurrentExecutions: s.cfg.AccountConcurrency, UnreservedConcurrentExecutions: lambda.Unreserved(s.cfg.AccountConcurrency, all),
		},
		AccountUsage: &berthv1.LambdaAccountUsage{TotalCodeSize: size, FunctionCount: float64(len(all))},
	}, nil
}

// resource is the ARN a policy statement of a function and qualifier is
// about.
func (s *Server) resource(f *berthv1.LambdaFunctionRecord, q string) string {
	return s.names.QualifiedARN(f.GetName(), q)
}

// checkQualifierExists: a qualifier must name a version or an alias.
func (s *Server) checkQualifierExists(f *berthv1.LambdaFunctionRecord, q string) error {
	if q == "" {
		return nil
	}
	_, err := lambda.ResolveQualifier(s.names, f, q, 1)
	return err
}

// AddPermission adds a statement to the function's (or a version's or an
// alias's) resource-based policy.
func (s *Server) AddPermission(ctx context.Context, req *berthv1.LambdaAddPermissionRequest) (*berthv1.LambdaAddPermissionResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	if err := s.checkQualifierExists(st.Value, q); err != nil {
		return nil, err
	}
	stmt, err := lambda.NewStatement(lambda.Permission{
		StatementID: req.GetStatementId(), Action: req.GetAction(), Principal: req.GetPrincipal(),
		SourceArn: req.GetSourceArn(), SourceAccount: req.GetSourceAccount(), EventSourceToken: req.GetEventSourceToken(),
		PrincipalOrgID: req.GetPrincipalOrgId(), FunctionURLAuthType: req.GetFunctionUrlAuthType(),
		Resource: s.resource(st.Value, q),
	})
	if err != nil {
		return nil, err
	}
	doc, _ := json.Marshal(stmt)
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		if req.GetRevisionId() != "" && req.GetRevisionId() != f.GetPolicyRevision() {
			return nil, lambda.Precondition("GetPolicy")
		}
		stmts, err := lambda.ParseStatements(f.GetPolicy())
		if err != nil {
			return nil, err
		}
		for _, old := range stmts {
			if old.Sid == stmt.Sid && old.Resource == stmt.Resource {
				return nil, lambda.Conflict("The statement id (%s) provided already exists. Please choose a new statement id, or remove the existing statement.", stmt.Sid)
			}
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.Policy = append(next.Policy, string(doc))
		next.PolicyRevision = newID()
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaAddPermissionResponse{Statement: string(doc)}, nil
}

// RemovePermission removes a statement by its id.
func (s *Server) RemovePermission(ctx context.Context, req *berthv1.LambdaRemovePermissionRequest) (*berthv1.LambdaRemovePermissionResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	resource := s.resource(st.Value, q)
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		if req.GetRevisionId() != "" && req.GetRevisionId() != f.GetPolicyRevision() {
			return nil, lambda.Precondition("GetPolicy")
		}
		stmts, err := lambda.ParseStatements(f.GetPolicy())
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(stmts, func(x lambda.Statement) bool { return x.Sid == req.GetStatementId() && x.Resource == resource })
		if i < 0 {
			return nil, lambda.NotFound("Statement %s is not found in resource policy.", req.GetStatementId())
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.Policy = slices.Delete(next.Policy, i, i+1)
		next.PolicyRevision = newID()
		return next, nil
	})
	return &berthv1.LambdaRemovePermissionResponse{}, err
}

// GetPolicy answers the resource-based policy of the function, version or
// alias, as Lambda writes it.
func (s *Server) GetPolicy(ctx context.Context, req *berthv1.LambdaGetPolicyRequest) (*berthv1.LambdaGetPolicyResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	stmts, err := lambda.ParseStatements(st.Value.GetPolicy())
	if err != nil {
		return nil, err
	}
	doc, ok := lambda.Document(stmts, s.resource(st.Value, q))
	if !ok {
		return nil, lambda.NotFound("The resource you requested does not exist.")
	}
	return &berthv1.LambdaGetPolicyResponse{Policy: doc, RevisionId: st.Value.GetPolicyRevision()}, nil
}

// eventConfigKey is the key of a qualifier's event invoke config.
func eventConfigKey(q string) string { return orDefault(q, lambda.Latest) }

// PutFunctionEventInvokeConfig sets (replaces) how Event invocations of a
// version or alias are retried and where failures go.
func (s *Server) PutFunctionEventInvokeConfig(ctx context.Context, req *berthv1.LambdaPutFunctionEventInvokeConfigRequest) (*berthv1.LambdaFunctionEventInvokeConfig, error) {
	if err := lambda.CheckEventInvokeConfig(req.MaximumRetryAttempts, req.MaximumEventAgeInSeconds, req.GetDestinationConfig(), s.names); err != nil {
		return nil, err
	}
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	if err := s.checkQualifierExists(st.Value, q); err != nil {
		return nil, err
	}
	cfg := &berthv1.LambdaFunctionEventInvokeConfig{
		LastModified: s.at(), FunctionArn: s.names.QualifiedARN(st.Value.GetName(), eventConfigKey(q)),
		MaximumRetryAttempts: req.MaximumRetryAttempts, MaximumEventAgeInSeconds: req.MaximumEventAgeInSeconds,
		DestinationConfig: req.GetDestinationConfig(),
	}
	if cfg.DestinationConfig == nil {
		cfg.DestinationConfig = &berthv1.LambdaDestinationConfig{}
	}
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		if next.EventInvokeConfigs == nil {
			next.EventInvokeConfigs = map[string]*berthv1.LambdaFunctionEventInvokeConfig{}
		}
		next.EventInvokeConfigs[eventConfigKey(q)] = cfg
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// GetFunctionEventInvokeConfig answers a version's or alias's config.
func (s *Server) GetFunctionEventInvokeConfig(ctx context.Context, req *berthv1.LambdaGetFunctionEventInvokeConfigRequest) (*berthv1.LambdaFunctionEventInvokeConfig, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	cfg, ok := st.Value.GetEventInvokeConfigs()[eventConfigKey(q)]
	if !ok {
		return nil, lambda.NotFound("The function %s doesn't have an EventInvokeConfig", s.names.QualifiedARN(st.Value.GetName(), eventConfigKey(q)))
	}
	return cfg, nil
}

// DeleteFunctionEventInvokeConfig removes it.
func (s *Server) DeleteFunctionEventInvokeConfig(ctx context.Context, req *berthv1.LambdaDeleteFunctionEventInvokeConfigRequest) (*berthv1.LambdaDeleteFunctionEventInvokeConfigResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		if _, ok := f.GetEventInvokeConfigs()[eventConfigKey(q)]; !ok {
			return nil, lambda.NotFound("The function %s doesn't have an EventInvokeConfig", s.names.QualifiedARN(f.GetName(), eventConfigKey(q)))
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		delete(next.EventInvokeConfigs, eventConfigKey(q))
		return next, nil
	})
	return &berthv1.LambdaDeleteFunctionEventInvokeConfigResponse{}, err
}

// tagged is the function a tagging operation's Resource names: a
// function's unqualified ARN.
func (s *Server) tagged(resource string) (string, error) {
	ref, err := s.names.ParseFunctionName("Resource", resource)
	if err != nil {
		return "", err
	}
	if ref.Qualifier != "" {
		return "", lambda.InvalidParameter("Resource", "Tags are not supported on function versions or aliases: %s", resource)
	}
	if _, ok, err := s.functions.Get(ref.Name); err != nil || !ok {
		if err == nil {
			err = lambda.FunctionNotFound(s.names.FunctionARN(ref.Name))
		}
		return "", err
	}
	return ref.Name, nil
}

// TagResource adds tags (an existing key takes the new value).
func (s *Server) TagResource(ctx context.Context, req *berthv1.LambdaTagResourceRequest) (*berthv1.LambdaTagResourceResponse, error) {
	name, err := s.tagged(req.GetResource())
	if err != nil {
		return nil, err
	}
	if len(req.GetTags()) == 0 {
		return nil, lambda.Invalid("Tags", "{}", "Member must not be empty")
	}
	_, err = s.update(ctx, "Resource", name, func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		if next.Tags == nil {
			next.Tags = map[string]string{}
		}
		for k, v := range req.GetTags() {
			next.Tags[k] = v
		}
		return next, checkTags(next.Tags)
	})
	return &berthv1.LambdaTagResourceResponse{}, err
}

// UntagResource removes tags by key.
func (s *Server) UntagResource(ctx context.Context, req *berthv1.LambdaUntagResourceRequest) (*berthv1.LambdaUntagResourceResponse, error) {
	name, err := s.tagged(req.GetResource())
	if err != nil {
		return nil, err
	}
	if len(req.GetTagKeys()) == 0 {
		return nil, lambda.Invalid("TagKeys", "[]", "Member must not be empty")
	}
	_, err = s.update(ctx, "Resource", name, func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		for _, k := range req.GetTagKeys() {
			delete(next.Tags, k)
		}
		return next, nil
	})
	return &berthv1.LambdaUntagResourceResponse{}, err
}

// ListTags answers a function's tags.
func (s *Server) ListTags(ctx context.Context, req *berthv1.LambdaListTagsRequest) (*berthv1.LambdaListTagsResponse, error) {
	name, err := s.tagged(req.GetResource())
	if err != nil {
		return nil, err
	}
	st, _, err := s.function("Resource", name, "")
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaListTagsResponse{Tags: st.Value.GetTags()}, nil
}

var _ = apierr.Internal
