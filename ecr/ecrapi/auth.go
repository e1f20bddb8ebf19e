package ecrapi

import (
	"context"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/ecr/token"
)

// GetAuthorizationToken implements ECR's GetAuthorizationToken: a password
// that pulls and pushes for token.TTL (12 hours), as base64("AWS:" +
// password), with the registry's URL as proxyEndpoint.
func (s *Server) GetAuthorizationToken(ctx context.Context, req *berthv1.GetAuthorizationTokenRequest) (*berthv1.GetAuthorizationTokenResponse, error) {
	ids := req.GetRegistryIds()
	if len(ids) > maxRegistryIDs {
		return nil, ecrerr.Param("registryIds", "at most %d ids, got %d", maxRegistryIDs, len(ids))
	}
	for i, id := range ids {
		if err := s.checkRegistryID(id); err != nil {
			return nil, ecrerr.Param(fmt.Sprintf("registryIds[%d]", i), "%s", err.Error())
		}
	}
	expires := s.cfg.Now().Add(token.TTL)
	password := token.Mint(s.cfg.Key, token.Claims{Expires: expires.Unix(), Scope: token.Push})
	data := &berthv1.AuthorizationData{
		AuthorizationToken: token.AuthorizationToken(password),
		ExpiresAt:          float64(expires.Unix()),
		ProxyEndpoint:      s.cfg.ProxyEndpoint,
	}
	out := &berthv1.GetAuthorizationTokenResponse{AuthorizationData: []*berthv1.AuthorizationData{data}}
	for range max(len(ids)-1, 0) {
		out.AuthorizationData = append(out.AuthorizationData, data)
	}
	return out, nil
}
