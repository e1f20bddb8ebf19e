package controlplane

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/berth/berth/controlplane/ecserr"
)

// ecsMethodPrefix is the prefix of every ECS API method; health and
// reflection are outside it and need no token.
const ecsMethodPrefix = "/berth.v1.ECS/"

// unaryChain is every unary interceptor, outermost first: metrics and logging
// see the final code, auth runs before handlers, errors are mapped once.
func (c *ControlPlane) unaryChain() grpc.ServerOption {
	return grpc.ChainUnaryInterceptor(c.observe, recoverPanics, c.authenticate, mapErrors)
}

// observe records each call's code and duration and logs failures.
func (c *ControlPlane) observe(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	code := status.Code(err)
	c.metrics.observeCall(info.FullMethod, code, time.Since(start))
	switch code {
	case codes.OK:
	case codes.Internal, codes.Unknown:
		c.log.Error("call failed", "method", info.FullMethod, "code", code, "err", err)
	default:
		c.log.Debug("call rejected", "method", info.FullMethod, "code", code, "err", err)
	}
	return resp, err
}

// recoverPanics turns a handler panic into Internal instead of a crash.
func recoverPanics(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			slog.Error("handler panic", "method", info.FullMethod, "panic", r, "stack", string(debug.Stack()))
			err = status.Error(codes.Internal, "internal error")
		}
	}()
	return handler(ctx, req)
}

// authenticate demands the admin token on every ECS method.
func (c *ControlPlane) authenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, ecsMethodPrefix) {
		if err := checkBearer(ctx, c.adminToken); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

// checkBearer compares the call's bearer token with want in constant time.
func checkBearer(ctx context.Context, want string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing authorization: send the metadata 'authorization: Bearer <admin token>'")
	}
	got, ok := strings.CutPrefix(vals[0], "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return status.Error(codes.Unauthenticated, "invalid token")
	}
	return nil
}

// mapErrors turns domain errors into gRPC statuses, the one place that does.
func mapErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err == nil {
		return resp, nil
	}
	if _, ok := status.FromError(err); ok {
		return resp, err
	}
	return resp, GRPCStatus(err).Err()
}

// GRPCStatus is the gRPC status of a domain error.
func GRPCStatus(err error) *status.Status {
	switch {
	case err == context.Canceled:
		return status.New(codes.Canceled, err.Error())
	case err == context.DeadlineExceeded:
		return status.New(codes.DeadlineExceeded, err.Error())
	}
	e := ecserr.From(err)
	return status.New(grpcCodes[e.Class], e.Message)
}

var grpcCodes = map[ecserr.Class]codes.Code{
	ecserr.Internal:           codes.Internal,
	ecserr.InvalidArgument:    codes.InvalidArgument,
	ecserr.NotFound:           codes.NotFound,
	ecserr.FailedPrecondition: codes.FailedPrecondition,
	ecserr.AlreadyExists:      codes.AlreadyExists,
	ecserr.Unauthenticated:    codes.Unauthenticated,
	ecserr.PermissionDenied:   codes.PermissionDenied,
	ecserr.ResourceExhausted:  codes.ResourceExhausted,
	ecserr.Unimplemented:      codes.Unimplemented,
}
