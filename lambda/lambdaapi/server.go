package lambdaapi

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/lambda/invoke"
	"github.com/berth/berth/store"
	"google.golang.org/protobuf/proto"
)

// Collections of Lambda's records in the store.
const (
	FunctionsCollection = "lambda-functions"
	EventsCollection    = "lambda-events"
	UsageCollection     = "lambda-usage"
)

// DefaultURLAddr is the function URL server's default address.
const DefaultURLAddr = "127.0.0.1:7482"

// Config is what the Lambda API needs.
type Config struct {
	Store *store.Store
	// Region and Account name the ARNs.
	Region, Account string
	// DataDir holds the zips (CodePath).
	DataDir string
	// Invoker runs invocations; nil refuses them with a ServiceException.
	Invoker invoke.Invoker
	// Prepare, if set, readies a version's code before it is Active (the
	// runner pulls the image or builds one of the zip at zipPath); an error
	// leaves the function Failed with the error's text. nil: ready at once.
	Prepare func(ctx context.Context, fn invoke.Function, zipPath string) error
	// AccountConcurrency is the account's limit (lambda.DefaultAccountConcurrency when 0).
	AccountConcurrency int32
	// RetryBase is the Event queue's first back-off (a minute when 0).
	RetryBase time.Duration
	// EventWorkers bounds the Event invocations running at once (4 when 0).
	EventWorkers int
	// URLAddr is the function URL server's address, as URLs are shown.
	URLAddr string
	// URLAuthenticate checks the SigV4 signature (service lambda) of a
	// request to an AWS_IAM function URL, with its body; nil refuses them
	// all (403).
	URLAuthenticate func(r *http.Request, body []byte) error
	// CodeObject reads an S3 object of at most limit bytes, for code given
	// as S3Bucket and S3Key; its error reads as S3's ("S3 Error Code: NoSuchKey.
	// S3 Error Message: ..."). nil: such code is refused.
	CodeObject func(ctx context.Context, bucket, key string, limit int64) ([]byte, error)
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server is berth.v1.Lambda.
type Server struct {
	berthv1.UnimplementedLambdaServer // every method is implemented below
	cfg                               Config
	names                             lambda.Namer
	functions                         store.Collection[*berthv1.LambdaFunctionRecord]
	events                            store.Collection[*berthv1.LambdaEventRecord]
	usage                             store.Collection[*berthv1.LambdaUsageRecord]
	kickActivator, kickEvents         chan struct{} // wake Run's loops; each holds at most one
	usageQueue                        chan *berthv1.LambdaUsageRecord
	seq                               struct {
		sync.Mutex
		last int64
	}
}

// New serves Lambda over cfg.Store.
func New(cfg Config) *Server {
	if cfg.AccountConcurrency == 0 {
		cfg.AccountConcurrency = lambda.DefaultAccountConcurrency
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = lambda.FirstRetryDelay
	}
	if cfg.EventWorkers == 0 {
		cfg.EventWorkers = 4
	}
	if cfg.URLAddr == "" {
		cfg.URLAddr = DefaultURLAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg:           cfg,
		names:         lambda.Namer{Region: cfg.Region, Account: cfg.Account},
		functions:     store.Collection[*berthv1.LambdaFunctionRecord]{Store: cfg.Store, Name: FunctionsCollection, New: func() *berthv1.LambdaFunctionRecord { return &berthv1.LambdaFunctionRecord{} }},
		events:        store.Collection[*berthv1.LambdaEventRecord]{Store: cfg.Store, Name: EventsCollection, New: func() *berthv1.LambdaEventRecord { return &berthv1.LambdaEventRecord{} }},
		usage:         store.Collection[*berthv1.LambdaUsageRecord]{Store: cfg.Store, Name: UsageCollection, New: func() *berthv1.LambdaUsageRecord { return &berthv1.LambdaUsageRecord{} }},
		kickActivator: make(chan struct{}, 1),
		kickEvents:    make(chan struct{}, 1),
		usageQueue:    make(chan *berthv1.LambdaUsageRecord, 1024),
	}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) at() float64 { return float64(s.now().UnixMilli()) / 1000 }

// wake tells Run's loops there is work.
func (s *Server) wake() {
	for _, c := range []chan struct{}{s.kickActivator, s.kickEvents} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

// newID is a random UUID (version 4), Lambda's RevisionId and request ids.
func newID() string {
	var b [16]byte
	crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CodePath is where the zip of CodeSha256 (base64, as Lambda's) is kept
// under dataDir: lambda/code/HEX.zip.
func CodePath(dataDir, codeSha256 string) string {
	sum, err := base64.StdEncoding.DecodeString(codeSha256)
	if err != nil {
		sum = []byte(codeSha256)
	}
	return filepath.Join(dataDir, "lambda", "code", hex.EncodeToString(sum)+".zip")
}

// saveZip writes a zip's bytes to its CodePath, once: the same code is the
// same file.
func (s *Server) saveZip(b []byte, sha string) (string, error) {
	path := CodePath(s.cfg.DataDir, sha)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".zip-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// function reads a function by a FunctionName member (name, NAME:QUALIFIER
// or ARN) and the Qualifier member: the record and the qualifier.
func (s *Server) function(field, name, qualifier string) (store.Stored[*berthv1.LambdaFunctionRecord], string, error) {
	ref, err := s.names.ParseFunctionName(field, name)
	if err != nil {
		return store.Stored[*berthv1.LambdaFunctionRecord]{}, "", err
	}
	q, err := lambda.Resolve(ref, qualifier)
	if err != nil {
		return store.Stored[*berthv1.LambdaFunctionRecord]{}, "", err
	}
	rec, ok, err := s.functions.Get(ref.Name)
	if err != nil {
		return rec, q, err
	}
	if !ok {
		return rec, q, lambda.FunctionNotFound(s.names.QualifiedARN(ref.Name, q))
	}
	return rec, q, nil
}

// update changes a function's record with change, retrying when another
// change came first.
func (s *Server) update(ctx context.Context, field, name string, change func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error)) (*berthv1.LambdaFunctionRecord, error) {
	ref, err := s.names.ParseFunctionName(field, name)
	if err != nil {
		return nil, err
	}
	if ref.Qualifier != "" {
		return nil, lambda.InvalidParameter(field, "Unsupported qualifier %s in the function name: this operation applies to the unqualified function.", ref.Qualifier)
	}
	st, err := s.functions.Update(ctx, s.at(), ref.Name, func(old *berthv1.LambdaFunctionRecord, ok bool) (*berthv1.LambdaFunctionRecord, error) {
		if !ok {
			return nil, lambda.FunctionNotFound(s.names.FunctionARN(ref.Name))
		}
		return change(old)
	})
	if err != nil {
		return nil, err
	}
	return st.Value, nil
}

// all is every function's record, in name order.
func (s *Server) all() ([]*berthv1.LambdaFunctionRecord, error) {
	var out []*berthv1.LambdaFunctionRecord
	err := s.functions.List("", "", func(r store.Stored[*berthv1.LambdaFunctionRecord]) bool {
		out = append(out, r.Value)
		return true
	})
	return out, err
}

// runnable is a version as the runner runs it.
func (s *Server) runnable(f *berthv1.LambdaFunctionRecord, v *berthv1.LambdaVersionRecord) invoke.Function {
	c := v.GetConfig()
	fn := invoke.Function{
		ARN:                 s.names.QualifiedARN(f.GetName(), c.GetVersion()),
		Name:                f.GetName(),
		Version:             c.GetVersion(),
		PackageType:         c.GetPackageType(),
		Image:               v.GetImageUri(),
		EntryPoint:          c.GetImageConfigResponse().GetImageConfig().GetEntryPoint(),
		Command:             c.GetImageConfigResponse().GetImageConfig().GetCommand(),
		WorkingDirectory:    c.GetImageConfigResponse().GetImageConfig().GetWorkingDirectory(),
		Runtime:             c.GetRuntime(),
		Handler:             c.GetHandler(),
		Environment:         c.GetEnvironment().GetVariables(),
		MemoryMB:            c.GetMemorySize(),
		Timeout:             time.Duration(c.GetTimeout()) * time.Second,
		EphemeralStorageMB:  c.GetEphemeralStorage().GetSize(),
		ReservedConcurrency: -1,
		CodeSha256:          c.GetCodeSha256(),
		Role:                c.GetRole(),
	}
	if f.ReservedConcurrency != nil {
		fn.ReservedConcurrency = f.GetReservedConcurrency()
	}
	return fn
}

// noInvoker is the Invoker of a control plane that runs no functions.
type noInvoker struct{}

func (noInvoker) Invoke(context.Context, invoke.Request) (invoke.Result, error) {
	e := apierr.New(apierr.Internal, "", "berth runs no Lambda functions here: no runner is configured")
	e.Exception = lambda.ServiceError
	return invoke.Result{}, e
}

func (s *Server) invoker() invoke.Invoker {
	if s.cfg.Invoker == nil {
		return noInvoker{}
	}
	return s.cfg.Invoker
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// eventKey is an event's key: its arrival in nanoseconds, zero-padded so
// that keys sort in order of arrival.
func eventKey(n int64) string { return fmt.Sprintf("%020d", n) }

func cloneEvent(ev *berthv1.LambdaEventRecord) *berthv1.LambdaEventRecord {
	return proto.Clone(ev).(*berthv1.LambdaEventRecord)
}

func randFloat() float64 { return rand.Float64() }

// nextSeq is a number for an event's key: its time, made unique and
// increasing in this process (a restart's clock is later).
func (s *Server) nextSeq(now time.Time) int64 {
	s.seq.Lock()
	defer s.seq.Unlock()
	n := now.UnixNano()
	if n <= s.seq.last {
		n = s.seq.last + 1
	}
	s.seq.last = n
	return n
}
