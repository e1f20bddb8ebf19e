package lambdaapi

import (
	"context"
	"sort"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda"
)

// CreateAlias names a version (and, with RoutingConfig, a second one with
// its weight).
func (s *Server) CreateAlias(ctx context.Context, req *berthv1.LambdaCreateAliasRequest) (*berthv1.LambdaAliasConfiguration, error) {
	if err := lambda.CheckAliasName("Name", req.GetName()); err != nil {
		return nil, err
	}
	if err := lambda.CheckDescription(req.GetDescription()); err != nil {
		return nil, err
	}
	var answer *berthv1.LambdaAliasConfiguration
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		if _, ok := f.GetAliases()[req.GetName()]; ok {
			return nil, lambda.Conflict("Alias already exists: %s", s.names.QualifiedARN(f.GetName(), req.GetName()))
		}
		if err := lambda.CheckAlias(s.names, f, req.GetFunctionVersion(), req.GetRoutingConfig()); err != nil {
			return nil, err
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		if next.Aliases == nil {
			next.Aliases = map[string]*berthv1.LambdaAliasConfiguration{}
		}
		answer = &berthv1.LambdaAliasConfiguration{
			AliasArn: s.names.QualifiedARN(f.GetName(), req.GetName()), Name: req.GetName(),
			FunctionVersion: req.GetFunctionVersion(), Description: req.GetDescription(),
			RoutingConfig: req.GetRoutingConfig(), RevisionId: newID(),
		}
		next.Aliases[req.GetName()] = answer
		return next, nil
	})
	return answer, err
}

func (s *Server) alias(function, name string) (*berthv1.LambdaFunctionRecord, *berthv1.LambdaAliasConfiguration, error) {
	st, _, err := s.function("FunctionName", function, "")
	if err != nil {
		return nil, nil, err
	}
	a, ok := st.Value.GetAliases()[name]
	if !ok {
		return nil, nil, lambda.AliasNotFound(s.names, st.Value.GetName(), name)
	}
	return st.Value, a, nil
}

// GetAlias answers an alias.
func (s *Server) GetAlias(ctx context.Context, req *berthv1.LambdaGetAliasRequest) (*berthv1.LambdaAliasConfiguration, error) {
	_, a, err := s.alias(req.GetFunctionName(), req.GetName())
	return a, err
}

// UpdateAlias changes an alias's version, description or routing.
func (s *Server) UpdateAlias(ctx context.Context, req *berthv1.LambdaUpdateAliasRequest) (*berthv1.LambdaAliasConfiguration, error) {
	if req.Description != nil {
		if err := lambda.CheckDescription(req.GetDescription()); err != nil {
			return nil, err
		}
	}
	var answer *berthv1.LambdaAliasConfiguration
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		a, ok := f.GetAliases()[req.GetName()]
		if !ok {
			return nil, lambda.AliasNotFound(s.names, f.GetName(), req.GetName())
		}
		if req.GetRevisionId() != "" && req.GetRevisionId() != a.GetRevisionId() {
			return nil, lambda.Precondition("GetFunction or the GetAlias")
		}
		a = proto.Clone(a).(*berthv1.LambdaAliasConfiguration)
		if req.GetFunctionVersion() != "" {
			a.FunctionVersion = req.GetFunctionVersion()
		}
		if req.Description != nil {
			a.Description = req.GetDescription()
		}
		if req.GetRoutingConfig() != nil {
			a.RoutingConfig = req.GetRoutingConfig()
		}
		if len(a.GetRoutingConfig().GetAdditionalVersionWeights()) == 0 {
			a.RoutingConfig = nil
		}
		if err := lambda.CheckAlias(s.names, f, a.GetFunctionVersion(), a.GetRoutingConfig()); err != nil {
			return nil, err
		}
		a.RevisionId = newID()
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.Aliases[req.GetName()] = a
		answer = a
		return next, nil
	})
	return answer, err
}

// DeleteAlias removes an alias; a missing one is no error, as Lambda's.
func (s *Server) DeleteAlias(ctx context.Context, req *berthv1.LambdaDeleteAliasRequest) (*berthv1.LambdaDeleteAliasResponse, error) {
	if err := lambda.CheckAliasName("Name", req.GetName()); err != nil {
		return nil, err
	}
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		delete(next.Aliases, req.GetName())
		return next, nil
	})
	return &berthv1.LambdaDeleteAliasResponse{}, err
}

// ListAliases answers a function's aliases by name, those of one version
// with FunctionVersion.
func (s *Server) ListAliases(ctx context.Context, req *berthv1.LambdaListAliasesRequest) (*berthv1.LambdaListAliasesResponse, error) {
	st, _, err := s.function("FunctionName", req.GetFunctionName(), "")
	if err != nil {
		return nil, err
	}
	var items []*berthv1.LambdaAliasConfiguration
	for _, a := range st.Value.GetAliases() {
		if req.GetFunctionVersion() == "" || a.GetFunctionVersion() == req.GetFunctionVersion() {
			items = append(items, a)
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
	got, next, err := page(items, (*berthv1.LambdaAliasConfiguration).GetName, req.GetMarker(), req.MaxItems)
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaListAliasesResponse{Aliases: got, NextMarker: next}, nil
}
