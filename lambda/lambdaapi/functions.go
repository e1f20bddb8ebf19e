package lambdaapi

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/store"
)

// zipSource is where a Zip function's code comes from: the zip's bytes, or
// an object in berth's S3.
type zipSource struct {
	field                string // the ZipFile member's path; the S3 members are its siblings
	zip                  []byte
	bucket, key, version string
}

// code checks and keeps a request's code: a zip (its bytes, or read from
// S3 as Lambda copies it) is written under the data dir before the
// function that names it is stored.
func (s *Server) code(ctx context.Context, src zipSource, imageURI, runtime string) (lambda.Code, string, error) {
	if imageURI != "" {
		return lambda.Code{ImageUri: imageURI}, "", nil
	}
	b, check := src.zip, lambda.CheckZip
	if src.bucket != "" {
		var err error
		if b, err = s.codeObject(ctx, src); err != nil {
			return lambda.Code{}, "", err
		}
		check = lambda.CheckZipObject
	}
	z, err := check(src.field, b, runtime)
	if err != nil {
		return lambda.Code{}, "", err
	}
	path, err := s.saveZip(b, z.Sha256)
	if err != nil {
		return lambda.Code{}, "", err
	}
	return lambda.Code{Zip: z}, path, nil
}

// codeObject reads a deployment package from berth's S3, with Lambda's
// error when it cannot.
func (s *Server) codeObject(ctx context.Context, src zipSource) ([]byte, error) {
	prefix := strings.TrimSuffix(src.field, "ZipFile")
	switch {
	case src.version != "":
		return nil, lambda.InvalidParameter(prefix+"S3ObjectVersion", "Error occurred while GetObject. S3 Error Code: NoSuchVersion. S3 Error Message: berth's S3 keeps no object versions; leave S3ObjectVersion out.")
	case s.cfg.CodeObject == nil:
		return nil, lambda.InvalidParameter(prefix+"S3Bucket", "Error occurred while GetObject: berth's S3 is not running in this control plane.")
	}
	b, err := s.cfg.CodeObject(ctx, src.bucket, src.key, lambda.MaxUnzippedBytes)
	if err != nil {
		return nil, lambda.InvalidParameter(prefix+"S3Key", "Error occurred while GetObject. %v", err)
	}
	return b, nil
}

// CreateFunction stores a new function, Pending until its code is ready;
// Publish also publishes version 1.
func (s *Server) CreateFunction(ctx context.Context, req *berthv1.LambdaCreateFunctionRequest) (*berthv1.LambdaFunctionConfiguration, error) {
	ref, err := s.names.ParseFunctionName("FunctionName", req.GetFunctionName())
	if err != nil {
		return nil, err
	}
	if ref.Qualifier != "" {
		return nil, lambda.InvalidParameter("FunctionName", "Unsupported qualifier %s in the function name: a new function has no versions.", ref.Qualifier)
	}
	if err := lambda.CheckCreate(req); err != nil {
		return nil, err
	}
	if err := checkTags(req.GetTags()); err != nil {
		return nil, err
	}
	c := req.GetCode()
	src := zipSource{field: "Code.ZipFile", zip: c.GetZipFile(), bucket: c.GetS3Bucket(), key: c.GetS3Key(), version: c.GetS3ObjectVersion()}
	code, path, err := s.code(ctx, src, c.GetImageUri(), req.GetRuntime())
	if err != nil {
		return nil, err
	}
	cfg := lambda.NewConfiguration(s.names, ref.Name, req, code, s.now(), newID())
	rec := &berthv1.LambdaFunctionRecord{
		Name:   ref.Name,
		Latest: &berthv1.LambdaVersionRecord{Config: cfg, ImageUri: code.ImageUri, ZipPath: path},
		Tags:   req.GetTags(),
	}
	answer := cfg
	if req.GetPublish() {
		next, v, _, err := lambda.Publish(s.names, readyForPublish(rec), "", "", "")
		if err != nil {
			return nil, err
		}
		next.Latest = rec.Latest // still Pending; the version is too
		v.Config.State, v.Config.StateReason, v.Config.StateReasonCode = cfg.State, cfg.StateReason, cfg.StateReasonCode
		rec, answer = next, v.Config
	}
	if _, err := s.functions.Put(ctx, s.at(), ref.Name, rec, 0); err != nil {
		if apierr.HasReason(err, store.ReasonStale) {
			return nil, lambda.Conflict("Function already exist: %s", ref.Name)
		}
		return nil, err
	}
	s.wake()
	return answer, nil
}

// readyForPublish lets a function being created publish its first version.
func readyForPublish(rec *berthv1.LambdaFunctionRecord) *berthv1.LambdaFunctionRecord {
	r := proto.Clone(rec).(*berthv1.LambdaFunctionRecord)
	r.Latest.Config.State = lambda.StateActive
	return r
}

// GetFunction answers a version's configuration, where its code is, the
// function's tags and its reserved concurrency.
func (s *Server) GetFunction(ctx context.Context, req *berthv1.LambdaGetFunctionRequest) (*berthv1.LambdaGetFunctionResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	t, err := lambda.ResolveQualifier(s.names, st.Value, q, 1)
	if err != nil {
		return nil, err
	}
	v := t.Version
	out := &berthv1.LambdaGetFunctionResponse{Configuration: v.GetConfig(), Tags: st.Value.GetTags()}
	if v.GetImageUri() != "" {
		out.Code = &berthv1.LambdaFunctionCodeLocation{RepositoryType: "ECR", ImageUri: v.GetImageUri(), ResolvedImageUri: v.GetImageUri()}
	} else {
		out.Code = &berthv1.LambdaFunctionCodeLocation{RepositoryType: "S3", Location: "file://" + v.GetZipPath()}
	}
	if st.Value.ReservedConcurrency != nil {
		out.Concurrency = &berthv1.LambdaConcurrency{ReservedConcurrentExecutions: st.Value.ReservedConcurrency}
	}
	return out, nil
}

// GetFunctionConfiguration answers a version's (or an alias's version's)
// configuration.
func (s *Server) GetFunctionConfiguration(ctx context.Context, req *berthv1.LambdaGetFunctionConfigurationRequest) (*berthv1.LambdaFunctionConfiguration, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	t, err := lambda.ResolveQualifier(s.names, st.Value, q, 1)
	if err != nil {
		return nil, err
	}
	return t.Version.GetConfig(), nil
}

// page is one page of items by Lambda's Marker and MaxItems: the marker is
// the key of the last item of the page before.
func page[T any](items []T, key func(T) string, marker string, maxItems *int32) ([]T, string, error) {
	n := 50
	if maxItems != nil {
		if *maxItems < 1 || *maxItems > 10000 {
			return nil, "", lambda.Invalid("MaxItems", *maxItems, "Member must have value between 1 and 10000")
		}
		n = int(*maxItems)
	}
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, "", lambda.InvalidParameter("Marker", "Invalid Marker: %s", marker)
		}
		start = len(items)
		for i, it := range items {
			if key(it) > string(raw) {
				start = i
				break
			}
		}
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// versionKey orders a function's versions: $LATEST, then by number.
func versionKey(c *berthv1.LambdaFunctionConfiguration) string {
	if c.GetVersion() == lambda.Latest {
		return c.GetFunctionName() + "\x00"
	}
	n, _ := strconv.Atoi(c.GetVersion())
	return c.GetFunctionName() + "\x00" + lambda.VersionKey(int32(n))
}

// ListFunctions answers $LATEST of every function, or every version with
// FunctionVersion ALL.
func (s *Server) ListFunctions(ctx context.Context, req *berthv1.LambdaListFunctionsRequest) (*berthv1.LambdaListFunctionsResponse, error) {
	if v := req.GetFunctionVersion(); v != "" && v != "ALL" {
		return nil, lambda.Invalid("FunctionVersion", v, "Member must satisfy enum value set: [ALL]")
	}
	all, err := s.all()
	if err != nil {
		return nil, err
	}
	var items []*berthv1.LambdaFunctionConfiguration
	for _, f := range all {
		items = append(items, f.GetLatest().GetConfig())
		if req.GetFunctionVersion() == "ALL" {
			for _, v := range f.GetVersions() {
				items = append(items, v.GetConfig())
			}
		}
	}
	got, next, err := page(items, versionKey, req.GetMarker(), req.MaxItems)
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaListFunctionsResponse{Functions: got, NextMarker: next}, nil
}

// UpdateFunctionCode replaces $LATEST's code (with Publish, publishes it);
// DryRun checks and changes nothing.
func (s *Server) UpdateFunctionCode(ctx context.Context, req *berthv1.LambdaUpdateFunctionCodeRequest) (*berthv1.LambdaFunctionConfiguration, error) {
	st, _, err := s.function("FunctionName", req.GetFunctionName(), "")
	if err != nil {
		return nil, err
	}
	cur := st.Value.GetLatest().GetConfig()
	if err := lambda.CheckUpdateCode(req, cur); err != nil {
		return nil, err
	}
	if err := lambda.CheckNotUpdating(cur); err != nil {
		return nil, err
	}
	src := zipSource{field: "ZipFile", zip: req.GetZipFile(), bucket: req.GetS3Bucket(), key: req.GetS3Key(), version: req.GetS3ObjectVersion()}
	code, path, err := s.code(ctx, src, req.GetImageUri(), cur.GetRuntime())
	if err != nil {
		return nil, err
	}
	if req.GetDryRun() {
		return lambda.ApplyCode(cur, code, req.GetArchitectures(), s.now(), cur.GetRevisionId()), nil
	}
	var answer *berthv1.LambdaFunctionConfiguration
	_, err = s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		latest := f.GetLatest().GetConfig()
		if req.GetRevisionId() != "" && req.GetRevisionId() != latest.GetRevisionId() {
			return nil, lambda.Precondition("GetFunction or the GetAlias")
		}
		if err := lambda.CheckNotUpdating(latest); err != nil {
			return nil, err
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.Latest = &berthv1.LambdaVersionRecord{Config: lambda.ApplyCode(latest, code, req.GetArchitectures(), s.now(), newID()), ImageUri: code.ImageUri, ZipPath: path}
		answer = next.Latest.Config
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	if req.GetPublish() {
		return s.publishWhenReady(ctx, st.Value.GetName(), answer)
	}
	return answer, nil
}

// publishWhenReady publishes $LATEST once its update is done: Lambda's
// Publish member publishes the version the update makes.
func (s *Server) publishWhenReady(ctx context.Context, name string, answer *berthv1.LambdaFunctionConfiguration) (*berthv1.LambdaFunctionConfiguration, error) {
	if err := s.activate(ctx, name); err != nil {
		return nil, err
	}
	return s.PublishVersion(ctx, &berthv1.LambdaPublishVersionRequest{FunctionName: name})
}

// UpdateFunctionConfiguration changes $LATEST's settings.
func (s *Server) UpdateFunctionConfiguration(ctx context.Context, req *berthv1.LambdaUpdateFunctionConfigurationRequest) (*berthv1.LambdaFunctionConfiguration, error) {
	var answer *berthv1.LambdaFunctionConfiguration
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		latest := f.GetLatest().GetConfig()
		if err := lambda.CheckUpdateConfiguration(req, latest); err != nil {
			return nil, err
		}
		if req.GetRevisionId() != "" && req.GetRevisionId() != latest.GetRevisionId() {
			return nil, lambda.Precondition("GetFunction or the GetAlias")
		}
		if err := lambda.CheckNotUpdating(latest); err != nil {
			return nil, err
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.Latest.Config = lambda.ApplyConfiguration(latest, req, s.now(), newID())
		answer = next.Latest.Config
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	s.wake()
	return answer, nil
}

// DeleteFunction deletes a function, or with a Qualifier one published
// version.
func (s *Server) DeleteFunction(ctx context.Context, req *berthv1.LambdaDeleteFunctionRequest) (*berthv1.LambdaDeleteFunctionResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	if q == lambda.Latest {
		return nil, lambda.InvalidParameter("Qualifier", "$LATEST version cannot be deleted without deleting the function.")
	}
	if q == "" {
		return &berthv1.LambdaDeleteFunctionResponse{}, s.functions.Delete(ctx, s.at(), st.Key, st.Generation)
	}
	next, err := lambda.DeleteVersion(s.names, st.Value, q)
	if err != nil {
		return nil, err
	}
	_, err = s.functions.Put(ctx, s.at(), st.Key, next, st.Generation)
	return &berthv1.LambdaDeleteFunctionResponse{}, err
}

// PublishVersion publishes $LATEST as the next version, or answers the last
// version when nothing changed since.
func (s *Server) PublishVersion(ctx context.Context, req *berthv1.LambdaPublishVersionRequest) (*berthv1.LambdaFunctionConfiguration, error) {
	var answer *berthv1.LambdaFunctionConfiguration
	if err := lambda.CheckDescription(req.GetDescription()); err != nil {
		return nil, err
	}
	_, err := s.update(ctx, "FunctionName", req.GetFunctionName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		next, v, _, err := lambda.Publish(s.names, f, req.GetCodeSha256(), req.GetDescription(), req.GetRevisionId())
		if err != nil {
			return nil, err
		}
		answer = v.GetConfig()
		return next, nil
	})
	return answer, err
}

// ListVersionsByFunction answers $LATEST and the published versions.
func (s *Server) ListVersionsByFunction(ctx context.Context, req *berthv1.LambdaListVersionsByFunctionRequest) (*berthv1.LambdaListVersionsByFunctionResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), "")
	if err != nil {
		return nil, err
	}
	if q != "" {
		return nil, lambda.InvalidParameter("FunctionName", "Unsupported qualifier %s in the function name.", q)
	}
	items := []*berthv1.LambdaFunctionConfiguration{st.Value.GetLatest().GetConfig()}
	for _, v := range st.Value.GetVersions() {
		items = append(items, v.GetConfig())
	}
	got, next, err := page(items, versionKey, req.GetMarker(), req.MaxItems)
	if err != nil {
		return nil, err
	}
	return &berthv1.LambdaListVersionsByFunctionResponse{Versions: got, NextMarker: next}, nil
}

// checkTags checks tags as Lambda does: at most 50, keys 1-128 and values
// up to 256 characters.
func checkTags(tags map[string]string) error {
	if len(tags) > 50 {
		return lambda.InvalidParameter("Tags", "Number of tags exceeds resource tag limit.")
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(k) < 1 || len(k) > 128 {
			return lambda.InvalidParameter("Tags", "Tag key %q must be 1 to 128 characters.", k)
		}
		if len(tags[k]) > 256 {
			return lambda.InvalidParameter("Tags", "Tag value of %q must be at most 256 characters.", k)
		}
	}
	return nil
}
