package awsapi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/berth/berth/apierr"
)

// Content types and headers of the protocols.
const (
	cborContentType      = "application/cbor"
	smithyProtocolHeader = "Smithy-Protocol"
	smithyProtocolCBOR   = "rpc-v2-cbor"
	formContentType      = "application/x-www-form-urlencoded"
)

func jsonContentType(p Protocol) string {
	if p == JSON10 {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

// FrontDoor serves every registered AWS service on one HTTP handler.
type FrontDoor struct {
	keys      Keys
	services  map[string]*Service // by Name
	byTarget  map[string]*Service // JSON target prefix or CBOR service name
	bySigning map[string]*Service
	rest      []*restRoute
	chain     grpc.UnaryServerInterceptor
	now       func() time.Time
	log       *slog.Logger
	observe   func(service, op, exception string, took time.Duration)
	sessions  SessionKeys
}

// Options tune a FrontDoor; the zero value is fine.
type Options struct {
	// Interceptor runs around every operation, as it does for gRPC callers
	// (the control plane's chain: recovery, metrics, logging, auth, error
	// mapping). nil calls handlers directly.
	Interceptor grpc.UnaryServerInterceptor
	Now         func() time.Time
	Logger      *slog.Logger
	// Observe, if set, is told of each request: the service and operation
	// ("unknown" when none was found: never a label the caller chose), the
	// exception sent ("" on success) and how long it took.
	Observe func(service, op, exception string, took time.Duration)
	// Sessions, if set, checks temporary credentials (access keys that
	// come with a session token), such as a task role's.
	Sessions SessionKeys
}

// New returns a FrontDoor for callers holding one of keys.
func New(keys Keys, opts Options) *FrontDoor {
	f := &FrontDoor{keys: keys, services: map[string]*Service{}, byTarget: map[string]*Service{}, bySigning: map[string]*Service{},
		chain: opts.Interceptor, now: opts.Now, log: opts.Logger, observe: opts.Observe, sessions: opts.Sessions}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	return f
}

// Register adds a service. It is not safe to call once ServeHTTP runs.
func (f *FrontDoor) Register(s Service) error {
	if err := s.validate(); err != nil {
		return err
	}
	if _, dup := f.bySigning[s.SigningName]; dup {
		return fmt.Errorf("awsapi: signing name %s registered twice", s.SigningName)
	}
	svc := &s
	f.services[s.Name] = svc
	f.bySigning[s.SigningName] = svc
	if s.TargetPrefix != "" {
		f.byTarget[s.TargetPrefix] = svc
	}
	for op, r := range s.Routes {
		f.rest = append(f.rest, compileRoute(svc, op, r))
	}
	return nil
}

// Caller is who made a request that came through the front door.
type Caller struct {
	AccessKeyID string
	Service     string
	// Session is the role the caller acts as, with temporary credentials;
	// zero for berth's own keys (the account's root).
	Session Session
}

type callerKey struct{}

// CallerFrom returns the caller of a request that came through the front
// door with a checked signature. Only the front door can set it: a gRPC
// client cannot.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

type traceKey struct{}

// TraceHeader returns the X-Amzn-Trace-Id of a request that came through
// the front door ("" without one). The AWS SDKs send a function's
// invocation trace in it on every call the function makes; a service keeps
// it with the events it makes of the call, for Lambda's recursive loop
// detection (package events/lineage).
func TraceHeader(ctx context.Context) string {
	h, _ := ctx.Value(traceKey{}).(string)
	return h
}

// maxTraceHeader bounds the trace header a service keeps with its events
// (X-Ray's own headers are well under 256 bytes); a longer one is not kept.
const maxTraceHeader = 2048

func withTrace(ctx context.Context, r *http.Request) context.Context {
	if h := r.Header.Get("X-Amzn-Trace-Id"); h != "" && len(h) <= maxTraceHeader {
		return context.WithValue(ctx, traceKey{}, h)
	}
	return ctx
}

// call is one request as the front door understood it.
type call struct {
	proto  Protocol
	svc    *Service
	op     string
	method grpc.MethodDesc
	route  *restRoute
	labels map[string]string
	cred   credential
	signed bool
	body   []byte
	form   url.Values // the query protocol's parameters
	caller Caller     // once the signature is checked
}

// ServeHTTP answers one AWS call.
func (f *FrontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := f.now()
	requestID := newRequestID()
	w.Header().Set("X-Amzn-Requestid", requestID)
	c, err := f.serve(w, r, requestID)
	svcName, op, exception := "unknown", "unknown", ""
	if c.svc != nil {
		svcName = c.svc.Name
		if c.op != "" {
			op = c.op
		}
	}
	if err != nil {
		exception = f.writeError(w, c, err, requestID)
	}
	took := f.now().Sub(start)
	if f.observe != nil {
		f.observe(svcName, op, exception, took)
	}
	f.audit(r.Context(), requestID, svcName, op, c.caller, exception, took)
}

// audit writes the request's audit log line: the operation, who called
// (access key, and the role and subject of temporary credentials) and the
// exception, never a parameter or a value. Calls under a role are logged
// at Info, the account's own at Debug.
func (f *FrontDoor) audit(ctx context.Context, requestID, svc, op string, caller Caller, exception string, took time.Duration) {
	level := slog.LevelDebug
	if caller.Session.RoleARN != "" {
		level = slog.LevelInfo
	}
	if !f.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("request_id", requestID), slog.String("service", svc), slog.String("operation", op),
		slog.String("access_key_id", caller.AccessKeyID)}
	if caller.Session.RoleARN != "" {
		attrs = append(attrs, slog.String("role", caller.Session.RoleARN), slog.String("subject", caller.Session.Subject))
	}
	if exception != "" {
		attrs = append(attrs, slog.String("exception", exception))
	}
	attrs = append(attrs, slog.Duration("took", took))
	f.log.LogAttrs(ctx, level, "aws call", attrs...)
}

// serve resolves, checks, decodes and runs one request and writes its
// response; an error is left for the caller to write.
func (f *FrontDoor) serve(w http.ResponseWriter, r *http.Request, requestID string) (*call, error) {
	c, err := f.resolve(r)
	if err != nil {
		return c, err
	}
	if c.svc.Handler != nil {
		s, err := f.verifyStreaming(r, c)
		if err != nil {
			return c, err
		}
		c.caller = Caller{s.AccessKeyID, c.svc.Name, s.Session}
		c.svc.Handler(w, r.WithContext(withTrace(context.WithValue(r.Context(), callerKey{}, c.caller), r)), s)
		return c, nil
	}
	if c.body, err = readBody(r); err != nil {
		return c, err
	}
	if !c.signed {
		return c, faultf(missingAuth, http.StatusBadRequest, "the request is not signed: sign it with SigV4 (the aws CLI and SDKs do)")
	}
	payloadHash := bodyHash(c.body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return c, faultf(badSignature, http.StatusBadRequest, "X-Amz-Content-Sha256 is not the body's SHA-256")
	}
	s, ferr := f.keys.verify(r, c.cred, payloadHash, f.now(), f.sessions)
	if ferr != nil {
		return c, ferr
	}
	c.caller = Caller{s.AccessKeyID, c.svc.Name, s.Session}
	if c.proto == Query {
		if c.form, err = parseForm(r, c.body); err != nil {
			return c, err
		}
		if c.op = c.form.Get("Action"); c.op == "" {
			return c, faultf(unknownOperation, http.StatusBadRequest, "the request has no Action")
		}
		if err := f.findMethod(c); err != nil {
			return c, err
		}
	}
	ctx := withTrace(context.WithValue(r.Context(), callerKey{}, c.caller), r)
	var in proto.Message
	out, err := c.method.Handler(c.svc.Impl, ctx, func(m any) error {
		in = m.(proto.Message)
		return f.decode(r, c, in)
	}, f.chain)
	if err != nil {
		return c, err
	}
	return c, f.encode(w, c, in, out.(proto.Message), requestID)
}

// resolve finds the protocol, the service and the operation of r, and its
// signature, before anything of the body is read.
func (f *FrontDoor) resolve(r *http.Request) (*call, error) {
	c := &call{}
	cred, signed, credErr := credentialOf(r)
	c.cred, c.signed = cred, signed
	target := r.Header.Get("X-Amz-Target")
	switch {
	case strings.EqualFold(r.Header.Get(smithyProtocolHeader), smithyProtocolCBOR) || strings.HasPrefix(r.URL.Path, "/service/"):
		c.proto = RPCv2CBOR
		svcName, op, ok := cborOperation(r.URL.Path)
		if c.svc = f.byTarget[svcName]; !ok || c.svc == nil {
			return c, faultf(unknownOperation, http.StatusNotFound, "%s names no service and operation of berth (want /service/SERVICE/operation/OPERATION)", r.URL.Path)
		}
		c.op = op
	case target != "" || strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-"):
		c.proto = JSON11
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.0") {
			c.proto = JSON10
		}
		i := strings.LastIndexByte(target, '.')
		if i > 0 {
			c.svc, c.op = f.byTarget[target[:i]], target[i+1:]
		}
		if c.svc == nil {
			if s := f.bySigning[cred.service]; s != nil && s.TargetPrefix != "" {
				c.svc = s // for the error's shape
			}
			c.op = ""
			return c, faultf(unknownOperation, http.StatusBadRequest, "X-Amz-Target %q names no operation of a service berth serves (want PREFIX.Operation)", target)
		}
		if !c.svc.speaks(c.proto) {
			c.proto = c.svc.Protocols[0]
		}
	case isQuery(r):
		c.proto = Query
		c.svc = f.bySigning[cred.service]
		if c.svc == nil && signed && credErr == nil {
			return c, faultf(unknownOperation, http.StatusBadRequest, "the credential scope names service %q, which berth does not serve", cred.service)
		}
		if c.svc == nil {
			return c, faultf(missingAuth, http.StatusBadRequest, "the request is not signed: berth finds a query protocol service by the signature's credential scope")
		}
	default:
		c.proto = RESTJSON
		if s := f.bySigning[cred.service]; signed && s != nil && s.Handler != nil {
			// S3's keys are any path: a library's handler takes every
			// request signed for its service before REST routes match.
			c.svc, c.proto = s, s.Protocols[0]
		} else if rr, labels := f.matchREST(r); rr != nil {
			c.svc, c.op, c.route, c.labels = rr.svc, rr.op, rr, labels
		} else if s := f.bySigning[cred.service]; s != nil && s.Handler != nil {
			c.svc, c.proto = s, s.Protocols[0]
		} else if s != nil {
			c.svc, c.proto = s, s.Protocols[0]
			return c, faultf(unknownOperation, http.StatusNotFound, "%s %s is no operation of %s", r.Method, r.URL.Path, s.Name)
		} else {
			return c, faultf(unknownOperation, http.StatusNotFound, "%s %s is no operation of any service berth serves", r.Method, r.URL.Path)
		}
	}
	if !c.svc.speaks(c.proto) {
		p := c.proto
		c.proto = c.svc.Protocols[0]
		return c, faultf(serialization, http.StatusBadRequest, "%s does not speak the %s protocol", c.svc.Name, p)
	}
	if credErr != nil {
		return c, credErr
	}
	if signed && cred.service != c.svc.SigningName {
		return c, faultf(wrongService, http.StatusBadRequest, "Credential should be scoped to correct service: '%s'. (it names %q)", c.svc.SigningName, cred.service)
	}
	if c.svc.Handler != nil {
		return c, nil
	}
	if c.proto == Query {
		return c, nil // the Action is in the body, read once signed
	}
	if err := f.findMethod(c); err != nil {
		return c, err
	}
	if want := jsonContentType(c.proto); (c.proto == JSON10 || c.proto == JSON11) && !strings.HasPrefix(r.Header.Get("Content-Type"), want) {
		return c, faultf(serialization, http.StatusBadRequest, "Content-Type must be %s, not %q", want, r.Header.Get("Content-Type"))
	}
	return c, nil
}

// findMethod finds c.op among the service's methods.
func (f *FrontDoor) findMethod(c *call) error {
	m, ok := c.svc.method(c.op)
	if !ok {
		op := c.op
		c.op = ""
		return faultf(unknownOperation, http.StatusBadRequest, "%s has no operation %q", c.svc.Name, op)
	}
	c.method = m
	return nil
}

// readBody reads the whole body; the control plane's HTTP server bounds it.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, faultf(tooLarge, http.StatusRequestEntityTooLarge, "request body larger than %d bytes", tooBig.Limit)
		}
		return nil, faultf(serialization, http.StatusBadRequest, "reading the body: %v", err)
	}
	return body, nil
}

// verifyStreaming checks the signature of a request whose body the service's
// Handler reads: the signature covers the hash X-Amz-Content-Sha256 names,
// and a body with a digest there is checked against it as it is read; an
// aws-chunked body (a STREAMING- hash) is decoded as it is read, each chunk's
// signature and the trailer's checksum checked, so that the Handler reads
// the payload alone (reads fail with a *BodyError where the body breaks its
// promise).
func (f *FrontDoor) verifyStreaming(r *http.Request, c *call) (Signing, error) {
	if !c.signed {
		return Signing{}, faultf(missingAuth, http.StatusForbidden, "the request is not signed: sign it with SigV4 (the aws CLI and SDKs do)")
	}
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	switch {
	case c.cred.presigned:
		payloadHash = UnsignedPayload
	case payloadHash == "":
		return Signing{}, faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Content-Sha256 must be set: the body's SHA-256, UNSIGNED-PAYLOAD or a STREAMING- form")
	}
	s, err := f.keys.verify(r, c.cred, payloadHash, f.now(), f.sessions)
	if err != nil {
		return Signing{}, err
	}
	switch {
	case strings.HasPrefix(payloadHash, streamingPayload):
		if ferr := decodeChunked(r, s); ferr != nil {
			return Signing{}, ferr
		}
	case payloadHash != UnsignedPayload:
		r.Body = &digestReader{r: r.Body, h: newHash(), want: payloadHash}
	}
	return s, nil
}

// writeError writes err in the call's protocol and returns the exception.
func (f *FrontDoor) writeError(w http.ResponseWriter, c *call, err error, requestID string) string {
	p := c.proto
	if p == 0 {
		p = JSON11
	}
	ns := ""
	if c.svc != nil {
		ns = c.svc.XMLNamespace
	}
	var fl *fault
	if errors.As(err, &fl) {
		name := fl.name(p)
		writeError(w, p, fl.statusOf(p), wireError{code: name, message: fl.message}, ns, requestID)
		return name
	}
	e := toAPIError(err)
	name, code := c.svc.Exception(e)
	if code == 0 {
		code = http.StatusBadRequest
		if e.Class == apierr.Internal {
			code = http.StatusInternalServerError
		}
	}
	if e.Class == apierr.Internal {
		f.log.Error("AWS call failed", "service", c.svc.Name, "operation", c.op, "err", err)
	}
	we := wireError{code: name, message: e.Message, field: e.Field, detail: e.Detail}
	if c.svc.ErrorMembers != nil {
		we.members = c.svc.ErrorMembers(name, e)
	}
	writeError(w, p, code, we, ns, requestID)
	return name
}

// toAPIError finds the domain error in err, or makes one of a gRPC status
// (the interceptor chain's own errors) or a cancelled context.
func toAPIError(err error) *apierr.Error {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &apierr.Error{Class: apierr.Internal, Message: "the call was cancelled: " + err.Error()}
	}
	if st, ok := status.FromError(err); ok {
		if class, ok := classOfCode[st.Code()]; ok {
			return &apierr.Error{Class: class, Message: st.Message()}
		}
	}
	return &apierr.Error{Class: apierr.Internal, Message: err.Error()}
}

var classOfCode = map[codes.Code]apierr.Class{
	codes.InvalidArgument:    apierr.InvalidArgument,
	codes.NotFound:           apierr.NotFound,
	codes.FailedPrecondition: apierr.FailedPrecondition,
	codes.AlreadyExists:      apierr.AlreadyExists,
	codes.Unauthenticated:    apierr.Unauthenticated,
	codes.PermissionDenied:   apierr.PermissionDenied,
	codes.ResourceExhausted:  apierr.ResourceExhausted,
	codes.Unimplemented:      apierr.Unimplemented,
}

// requestIDs make request ids shaped as AWS's (UUIDs): a random prefix per
// process and a counter, unique without reading crypto/rand per request.
var requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func init() {
	var b [8]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	requestIDs.prefix = h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-"
}

func newRequestID() string {
	n := requestIDs.n.Add(1)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h := hex.EncodeToString(b[:])
	return requestIDs.prefix + "8" + h[1:4] + "-" + h[4:]
}

// Verify checks the SigV4 signature of a request that another listener
// serves for service (Lambda's AWS_IAM function URLs), as the front door
// checks its own: with one of its keys, scoped to service, over body (or
// the hash X-Amz-Content-Sha256 names when it is UNSIGNED-PAYLOAD).
func (f *FrontDoor) Verify(r *http.Request, service string, body []byte) error {
	cred, signed, ferr := credentialOf(r)
	switch {
	case ferr != nil:
		return ferr
	case !signed:
		return faultf(missingAuth, http.StatusForbidden, "the request is not signed")
	case cred.service != service:
		return faultf(wrongService, http.StatusForbidden, "Credential should be scoped to correct service: '%s'.", service)
	}
	hash := bodyHash(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h == UnsignedPayload {
		hash = h
	} else if h != "" && h != hash {
		return faultf(badSignature, http.StatusForbidden, "X-Amz-Content-Sha256 is not the body's SHA-256")
	}
	if _, ferr := f.keys.verify(r, cred, hash, f.now(), f.sessions); ferr != nil {
		return ferr
	}
	return nil
}
