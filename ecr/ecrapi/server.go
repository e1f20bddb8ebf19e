// Package ecrapi implements berth's ECR operations: berthv1.ECRServer, on
// gRPC and on the AWS front door (ECR's JSON 1.1, wire.go).
//
// Handlers validate input (every rejection names the member and the rule,
// with ECR's exception names), keep repositories in the store and read and
// change images through the registry (ecr/registry), whose storage is the
// source of truth for images. They hold no state of their own.
package ecrapi

import (
	"context"
	"encoding/base64"
	"log/slog"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/ecr/ecrerr"
	"github.com/berth/berth/ecr/registry"
	"github.com/berth/berth/store"
)

// Config is what the ECR operations need.
type Config struct {
	Store    *store.Store
	Registry *registry.Registry
	ARNs     arn.Namer
	// Key signs the registry's passwords (ecr/token).
	Key []byte
	// ProxyEndpoint is the registry's URL as GetAuthorizationToken gives it
	// ("http://127.0.0.1:7481").
	ProxyEndpoint string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Collect, if set, asks for a garbage collection of the registry's
	// blobs after images were deleted.
	Collect func()
	// Logger logs what the lifecycle policies do (slog.Default when nil).
	Logger *slog.Logger
}

// Server implements the ECR operations.
type Server struct {
	berthv1.UnimplementedECRServer
	cfg Config
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Collect == nil {
		cfg.Collect = func() {}
	}
	return &Server{cfg: cfg}
}

func (s *Server) apply(ctx context.Context, cmd *berthv1.Command) (proto.Message, error) {
	cmd.At = epoch(s.cfg.Now())
	return s.cfg.Store.Apply(ctx, cmd)
}

func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// page reads maxResults (0: def) and nextToken (the last key of the previous page).
func page(maxResults int32, nextToken string, def int32) (limit int, after string, err error) {
	if maxResults < 0 || maxResults > 1000 {
		return 0, "", ecrerr.Param("maxResults", "must be between 1 and 1000")
	}
	if maxResults == 0 {
		maxResults = def
	}
	if nextToken == "" {
		return int(maxResults), "", nil
	}
	key, err := base64.RawURLEncoding.DecodeString(nextToken)
	if err != nil || len(key) == 0 {
		return 0, "", ecrerr.Param("nextToken", "is not a token returned by a previous call")
	}
	return int(maxResults), string(key), nil
}

// nextToken continues after key.
func nextToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }
