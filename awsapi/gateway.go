// Package gateway speaks ECS's own JSON wire protocol over HTTP, so that the
// aws CLI and the AWS SDKs work against berth: POST / with
// X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation> and an
// application/x-amz-json-1.1 body, signed with SigV4.
//
// Each operation is served by the same handler gRPC calls (berthv1's service
// descriptor routes it); the gateway only checks the signature, decodes the
// body into the operation's request message, and writes the response, or the
// error as ECS shapes it ({"__type": "ClientException", "message": ...}).
// There is no second implementation of any operation here.
package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/awsapi/awsjson"
	"github.com/berth/berth/ecs/ecserr"
)

// TargetPrefix is what precedes the operation name in X-Amz-Target.
const TargetPrefix = "AmazonEC2ContainerServiceV20141113."

// ContentType is ECS's request and response content type.
const ContentType = "application/x-amz-json-1.1"

// Gateway is the ECS JSON endpoint.
type Gateway struct {
	ecs      berthv1.ECSServer
	keys     Keys
	methods  map[string]grpc.MethodDesc
	now      func() time.Time
	log      *slog.Logger
	observed func(op string, exception string, took time.Duration)
}

// Options tune a Gateway; the zero value is fine.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, if set, is told of each call: the operation, the ECS
	// exception ("" on success) and how long it took.
	Observe func(op, exception string, took time.Duration)
}

// New returns a Gateway that serves ecs to callers holding one of keys.
func New(ecs berthv1.ECSServer, keys Keys, opts Options) *Gateway {
	g := &Gateway{ecs: ecs, keys: keys, methods: map[string]grpc.MethodDesc{}, now: opts.Now, log: opts.Logger, observed: opts.Observe}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	for _, m := range berthv1.ECS_ServiceDesc.Methods {
		g.methods[m.MethodName] = m
	}
	return g
}

// ServeHTTP answers one ECS call.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	resp, err := g.call(r, op)
	exception := ""
	if err != nil {
		exception = g.writeError(w, err)
	} else {
		w.Header().Set("Content-Type", ContentType)
		w.Write(resp)
	}
	if g.observed != nil {
		if _, known := g.methods[op]; !known {
			op = "unknown" // never a label value chosen by the caller
		}
		g.observed(op, exception, g.now().Sub(start))
	}
}

// call checks, decodes and runs one request and returns the response body.
func (g *Gateway) call(r *http.Request, op string) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, wireError(http.StatusMethodNotAllowed, "UnknownOperationException", "ECS calls are POST /")
	}
	method, ok := g.methods[op]
	if !ok || !strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix) {
		return nil, wireError(http.StatusBadRequest, "UnknownOperationException",
			"X-Amz-Target %q names no ECS operation (want "+TargetPrefix+"<Operation>)", r.Header.Get("X-Amz-Target"))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, ContentType) {
		return nil, wireError(http.StatusBadRequest, "SerializationException", "Content-Type must be %s, not %q", ContentType, ct)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, wireError(http.StatusRequestEntityTooLarge, "SerializationException", "request body larger than %d bytes", tooBig.Limit)
		}
		return nil, wireError(http.StatusBadRequest, "SerializationException", "reading the body: %v", err)
	}
	if err := g.keys.Verify(r, body, g.now()); err != nil {
		return nil, err
	}
	dec := func(m any) error {
		if len(body) == 0 {
			body = []byte("{}")
		}
		return awsjson.Unmarshal(body, m.(proto.Message))
	}
	out, err := method.Handler(g.ecs, r.Context(), dec, nil)
	if err != nil {
		return nil, err
	}
	return awsjson.Marshal(out.(proto.Message))
}

// wireErr is an error of the wire protocol itself, with its HTTP status.
type wireErr struct {
	status    int
	exception string
	message   string
}

func (e *wireErr) Error() string { return e.message }

func wireError(status int, exception, format string, args ...any) error {
	return &wireErr{status: status, exception: exception, message: fmt.Sprintf(format, args...)}
}

// writeError writes err as ECS does and returns the exception name.
func (g *Gateway) writeError(w http.ResponseWriter, err error) string {
	status, exception, message := http.StatusBadRequest, "", err.Error()
	var we *wireErr
	switch {
	case errors.As(err, &we):
		status, exception = we.status, we.exception
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status, exception = http.StatusServiceUnavailable, ecserr.ServerException
	default:
		e := ecserr.From(err)
		exception, message = ecserr.Exception(e), e.Message
		if e.Class == ecserr.Internal {
			status = http.StatusInternalServerError
			g.log.Error("ECS call failed", "err", err)
		}
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Amzn-Errortype", exception)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": exception, "message": message})
	w.Write(b)
	return exception
}
