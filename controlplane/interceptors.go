package controlplane

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/berth/berth/awsapi"
	"github.com/berth/berth/controlplane/bearer"
)

// Method prefixes: ECS API and berth API callers present the admin token,
// as do ECR API callers; agents the join token; health and reflection need none.
const (
	ecsMethodPrefix   = "/berth.v1.ECS/"
	berthMethodPrefix = "/berth.v1.Berth/"
	ecrMethodPrefix   = "/berth.v1.ECR/"
	agentMethodPrefix = "/berth.v1.AgentSessions/"
	// The other AWS services on gRPC, and berth's key rotation: admin token.
	ssmMethodPrefix     = "/berth.v1.SSM/"
	secretsMethodPrefix = "/berth.v1.SecretsManager/"
	keysMethodPrefix    = "/berth.v1.EncryptionKeys/"
	elbMethodPrefix     = "/berth.v1.ElasticLoadBalancingV2/"
	lambdaMethodPrefix  = "/berth.v1.Lambda/"
	usageMethodPrefix   = "/berth.v1.LambdaUsage/"
	eventsMethodPrefix  = "/berth.v1.EventBridge/"
	schedMethodPrefix   = "/berth.v1.Scheduler/"
)

// unaryChain is every unary interceptor, outermost first: metrics and logging
// see the final code, auth runs before handlers, errors are mapped once. gRPC
// callers and the AWS front door's callers go through the same chain.
func (c *ControlPlane) unaryChain() grpc.UnaryServerInterceptor {
	return chainUnary(c.observe, recoverPanics, c.authenticate, c.throttleCall, c.mapErrors)
}

// chainUnary makes one interceptor of several, the first outermost, as
// grpc.ChainUnaryInterceptor does for a server.
func chainUnary(chain ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		next := handler
		for i := len(chain) - 1; i >= 0; i-- {
			interceptor, inner := chain[i], next
			next = func(ctx context.Context, req any) (any, error) { return interceptor(ctx, req, info, inner) }
		}
		return next(ctx, req)
	}
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

// streamChain is every stream interceptor, outermost first.
func (c *ControlPlane) streamChain() grpc.ServerOption {
	return grpc.ChainStreamInterceptor(c.authenticateStream, c.mapStreamErrors)
}

// authenticate demands the admin token on every ECS and berth method, unless
// the call came through the AWS front door, which checked its SigV4
// signature (a gRPC client cannot set that in its context).
func (c *ControlPlane) authenticate(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if caller, signed := awsapi.CallerFrom(ctx); signed {
		if err := c.authorizeCaller(caller, info.FullMethod, req); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
	if err := c.checkToken(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// authenticateStream admits agents (a certificate of the cluster's CA whose
// identity is not revoked, which the session's context then carries, or the
// older bearer join token) and demands the admin token on berth's streams.
func (c *ControlPlane) authenticateStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, agentMethodPrefix) {
		ctx, err := c.trust.admitAgent(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		if id, ok := peerIdentity(ctx); ok {
			ss = &registeringStream{ServerStream: ss, ctx: ctx, t: c.trust, id: id, done: info.FullMethod != agentMethodPrefix+"Session"}
		}
		return handler(srv, ss)
	}
	if err := c.checkToken(ss.Context(), info.FullMethod, nil); err != nil {
		return err
	}
	return handler(srv, ss)
}

// checkToken checks the token a method needs: the admin token, or a scoped
// token whose scope allows the call (req: the request, nil for streams).
func (c *ControlPlane) checkToken(ctx context.Context, method string, req any) error {
	switch {
	case strings.HasPrefix(method, ecsMethodPrefix), strings.HasPrefix(method, berthMethodPrefix),
		strings.HasPrefix(method, ssmMethodPrefix), strings.HasPrefix(method, secretsMethodPrefix),
		strings.HasPrefix(method, keysMethodPrefix), strings.HasPrefix(method, elbMethodPrefix),
		strings.HasPrefix(method, lambdaMethodPrefix),
		strings.HasPrefix(method, usageMethodPrefix),
		strings.HasPrefix(method, eventsMethodPrefix), strings.HasPrefix(method, schedMethodPrefix),
		strings.HasPrefix(method, joinTokensMethodPrefix),
		strings.HasPrefix(method, "/berth.v1.DashboardLinks/"),
		strings.HasPrefix(method, ecrMethodPrefix),
		strings.HasPrefix(method, accessTokensMethodPrefix):
		return c.authorizeBearer(ctx, method, req)
	case strings.HasPrefix(method, agentMethodPrefix):
		_, err := c.trust.admitAgent(ctx, method)
		return err
	}
	return nil
}

// mapStreamErrors maps a stream handler's domain error once.
func (c *ControlPlane) mapStreamErrors(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	err := handler(srv, ss)
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return c.errorTables.status(info.FullMethod, err).Err()
}

// checkBearer compares the call's bearer token with want in constant time.
func checkBearer(ctx context.Context, want string) error {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return status.Error(codes.Unauthenticated, "missing authorization: send the metadata 'authorization: Bearer <token>' (the admin token for the ECS API, the join token for agents)")
	}
	if !bearer.Matches(vals[0], want) {
		return status.Error(codes.Unauthenticated, "invalid token")
	}
	return nil
}

// mapErrors turns domain errors into gRPC statuses, the one place that does.
func (c *ControlPlane) mapErrors(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	if err == nil {
		return resp, nil
	}
	if _, ok := status.FromError(err); ok {
		return resp, err
	}
	return resp, &statusError{status: c.errorTables.status(info.FullMethod, err), err: err}
}

// statusError is a domain error with its gRPC status: gRPC sends the status,
// the AWS front door unwraps the domain error to name the wire's exception.
type statusError struct {
	status *status.Status
	err    error
}

func (e *statusError) Error() string              { return e.err.Error() }
func (e *statusError) Unwrap() error              { return e.err }
func (e *statusError) GRPCStatus() *status.Status { return e.status }
