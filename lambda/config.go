package lambda

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Limits and defaults of a function's configuration, as Lambda's.
const (
	MinMemory, MaxMemory, DefaultMemory    = 128, 10240, 128
	MinTimeout, MaxTimeout, DefaultTimeout = 1, 900, 3
	MinStorage, MaxStorage, DefaultStorage = 512, 10240, 512
	MaxDescription                         = 256
	MaxEnvironmentBytes                    = 4096
	// MaxZipBytes is a zip's limit in a request (50 MB); MaxUnzippedBytes
	// its content's (250 MB).
	MaxZipBytes      = 50 << 20
	MaxUnzippedBytes = 262144000
)

// Package types.
const (
	PackageZip   = "Zip"
	PackageImage = "Image"
)

// States and update statuses, as Lambda reports them.
const (
	StatePending  = "Pending"
	StateActive   = "Active"
	StateFailed   = "Failed"
	StateInactive = "Inactive"

	UpdateInProgress = "InProgress"
	UpdateSuccessful = "Successful"
	UpdateFailed     = "Failed"
)

// Runtimes are the runtimes CreateFunction accepts, as Lambda's enum (the
// ones it still lets a function be created or updated with).
var Runtimes = []string{
	"nodejs18.x", "nodejs20.x", "nodejs22.x",
	"python3.9", "python3.10", "python3.11", "python3.12", "python3.13",
	"java8.al2", "java11", "java17", "java21",
	"dotnet8", "ruby3.2", "ruby3.3", "ruby3.4",
	"provided", "provided.al2", "provided.al2023",
}

// deprecatedRuntimes are in Lambda's enum but refused for a new function.
var deprecatedRuntimes = []string{
	"nodejs", "nodejs4.3", "nodejs6.10", "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x",
	"java8", "python2.7", "python3.6", "python3.7", "python3.8", "dotnetcore1.0", "dotnetcore2.0", "dotnetcore2.1",
	"dotnetcore3.1", "dotnet6", "dotnet7", "nodejs4.3-edge", "go1.x", "ruby2.5", "ruby2.7", "ruby3.2x",
}

// IsCustomRuntime reports whether a runtime is an OS-only runtime whose zip
// carries its own bootstrap (provided, provided.al2, provided.al2023).
func IsCustomRuntime(r string) bool { return r == "provided" || strings.HasPrefix(r, "provided.") }

var (
	rolePattern    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
	handlerPattern = regexp.MustCompile(`^[^\s]+$`)
	envKeyPattern  = regexp.MustCompile(`^[a-zA-Z]([a-zA-Z0-9_])+$`)
)

// reservedEnv are the variables Lambda sets itself and refuses in a
// function's Environment.
var reservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
}

func checkRuntime(field, r string) error {
	if slices.Contains(deprecatedRuntimes, r) {
		return InvalidParameter(field, "The runtime parameter of %s is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions.", r)
	}
	if !slices.Contains(Runtimes, r) {
		return Invalid(field, r, "Member must satisfy enum value set: ["+strings.Join(Runtimes, ", ")+"]")
	}
	return nil
}

func checkRole(field, role string) error {
	if !rolePattern.MatchString(role) {
		return Invalid(field, role, `Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+`)
	}
	return nil
}

func checkHandler(field, h string) error {
	if err := checkLength(field, h, 0, 128); err != nil {
		return err
	}
	if h != "" && !handlerPattern.MatchString(h) {
		return Invalid(field, h, `Member must satisfy regular expression pattern: [^\s]+`)
	}
	return nil
}

// checkEnvironment checks variables' names, Lambda's reserved names and
// their 4 KB limit.
func checkEnvironment(field string, env *berthv1.LambdaEnvironment) error {
	vars := env.GetVariables()
	keys := make([]string, 0, len(vars))
	size := 0
	for k, v := range vars {
		keys = append(keys, k)
		size += len(k) + len(v)
	}
	sort.Strings(keys)
	var reserved []string
	for _, k := range keys {
		if !envKeyPattern.MatchString(k) {
			return Invalid(field+".Variables", k, "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+")
		}
		if slices.Contains(reservedEnv, k) {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return InvalidParameter(field, "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ","))
	}
	if size > MaxEnvironmentBytes {
		return InvalidParameter(field, "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d", size)
	}
	return nil
}

func checkArchitectures(field string, a []string) error {
	if len(a) > 1 {
		return Invalid(field, a, "Member must have length less than or equal to 1")
	}
	for _, x := range a {
		if x != "x86_64" && x != "arm64" {
			return Invalid(field, a, "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]")
		}
	}
	return nil
}

// checkCommon checks the members CreateFunction and
// UpdateFunctionConfiguration share.
func checkCommon(timeout, memory *int32, desc string, env *berthv1.LambdaEnvironment, storage *berthv1.LambdaEphemeralStorage, layers []string) error {
	if timeout != nil {
		if err := checkRange("Timeout", int64(*timeout), MinTimeout, MaxTimeout); err != nil {
			return err
		}
	}
	if memory != nil {
		if err := checkRange("MemorySize", int64(*memory), MinMemory, MaxMemory); err != nil {
			return err
		}
	}
	if err := checkLength("Description", desc, 0, MaxDescription); err != nil {
		return err
	}
	if env != nil {
		if err := checkEnvironment("Environment", env); err != nil {
			return err
		}
	}
	if storage != nil {
		if err := checkRange("EphemeralStorage.Size", int64(storage.GetSize()), MinStorage, MaxStorage); err != nil {
			return err
		}
	}
	if len(layers) > 0 {
		e := InvalidParameter("Layers", "Layers are not supported by berth yet.")
		return e
	}
	return nil
}

// CheckCreate checks a CreateFunction request beyond its name: package
// type and code, runtime and handler, role and the limits.
func CheckCreate(req *berthv1.LambdaCreateFunctionRequest) error {
	if err := checkRole("Role", req.GetRole()); err != nil {
		return err
	}
	if err := checkCommon(req.Timeout, req.MemorySize, req.GetDescription(), req.GetEnvironment(), req.GetEphemeralStorage(), req.GetLayers()); err != nil {
		return err
	}
	if err := checkArchitectures("Architectures", req.GetArchitectures()); err != nil {
		return err
	}
	if err := checkHandler("Handler", req.GetHandler()); err != nil {
		return err
	}
	code := req.GetCode()
	if code == nil {
		return Invalid("Code", "null", "Member must not be null")
	}
	switch PackageTypeOf(req.GetPackageType()) {
	case PackageImage:
		if code.GetImageUri() == "" {
			return InvalidParameter("Code.ImageUri", "Please provide ImageUri when PackageType is Image.")
		}
		if len(code.GetZipFile()) > 0 || code.GetS3Bucket() != "" {
			return InvalidParameter("Code", "Please don't provide ImageUri when updating a function with packageType Zip.") // mirrored for Image
		}
		if req.GetRuntime() != "" || req.GetHandler() != "" {
			return InvalidParameter("Runtime", "Runtime and Handler are not supported for functions created with container images.")
		}
	case PackageZip:
		if code.GetImageUri() != "" {
			return InvalidParameter("Code.ImageUri", "Please don't provide ImageUri when updating a function with packageType Zip.")
		}
		if req.GetImageConfig() != nil {
			return InvalidParameter("ImageConfig", "ImageConfig is not supported for functions created with a deployment package (Zip).")
		}
		if req.GetRuntime() == "" || req.GetHandler() == "" {
			return InvalidParameter("Runtime", "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
		}
		if err := checkRuntime("Runtime", req.GetRuntime()); err != nil {
			return err
		}
		if err := checkZipSource("Code.ZipFile", code.GetZipFile(), code.GetS3Bucket(), code.GetS3Key()); err != nil {
			return err
		}
	default:
		return Invalid("PackageType", req.GetPackageType(), "Member must satisfy enum value set: [Image, Zip]")
	}
	return nil
}

// PackageTypeOf is a PackageType member with Lambda's default (Zip).
func PackageTypeOf(p string) string {
	if p == "" {
		return PackageZip
	}
	return p
}

// checkZipSource checks that a Zip function's code comes from exactly one
// source: the zip's bytes, or an S3 object (bucket and key). field is the
// ZipFile member's path; the S3 members are its siblings.
func checkZipSource(field string, zipFile []byte, bucket, key string) error {
	prefix := strings.TrimSuffix(field, "ZipFile")
	switch {
	case len(zipFile) > 0 && (bucket != "" || key != ""):
		return InvalidParameter(field, "Please do not provide other FunctionCode parameters when providing a ZipFile.")
	case bucket != "" && key == "":
		return InvalidParameter(prefix+"S3Key", "Please provide S3Key with S3Bucket: the key of the zip's object.")
	case key != "" && bucket == "":
		return InvalidParameter(prefix+"S3Bucket", "Please provide S3Bucket with S3Key: the bucket of the zip's object.")
	case len(zipFile) == 0 && bucket == "":
		return InvalidParameter(field, "Please provide a source for function code.")
	}
	return nil
}

// Zip is a checked deployment package.
type Zip struct {
	// Sha256 is Lambda's CodeSha256: the zip's SHA-256 in base64; Hex the
	// same in hex (the blob's file name).
	Sha256, Hex string
	Size        int64
}

// CheckZip reads a zip: it must be a zip within Lambda's limits, and a
// custom runtime's must hold an executable `bootstrap` at its root.
func CheckZip(field string, b []byte, runtime string) (Zip, error) {
	if len(b) > MaxZipBytes {
		return Zip{}, with(apierr.InvalidArgument, "RequestEntityTooLargeException", "Request must be smaller than %d bytes for the CreateFunction operation", MaxZipBytes)
	}
	return CheckZipObject(field, b, runtime)
}

// CheckZipObject checks a deployment package read from an S3 object: as
// CheckZip, without the limit of a request's size (Lambda bounds such a
// package by its unzipped size alone).
func CheckZipObject(field string, b []byte, runtime string) (Zip, error) {
	r, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		e := InvalidParameter(field, "Could not unzip uploaded file. Please check your file, then try to upload again.")
		e.Detail = fmt.Sprintf("%s: not a zip: %v", field, err)
		return Zip{}, e
	}
	var unzipped uint64
	bootstrap := false
	for _, f := range r.File {
		unzipped += f.UncompressedSize64
		if f.Name == "bootstrap" && !f.FileInfo().IsDir() {
			bootstrap = true
		}
	}
	if unzipped > MaxUnzippedBytes {
		return Zip{}, InvalidParameter(field, "Unzipped size must be smaller than %d bytes", MaxUnzippedBytes)
	}
	if IsCustomRuntime(runtime) && !bootstrap {
		e := InvalidParameter(field, "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")
		e.Detail = fmt.Sprintf("%s: a %s function's zip must hold an executable named bootstrap at its root", field, runtime)
		return Zip{}, e
	}
	sum := sha256.Sum256(b)
	return Zip{Sha256: base64.StdEncoding.EncodeToString(sum[:]), Hex: hex.EncodeToString(sum[:]), Size: int64(len(b))}, nil
}

// ImageSha256 is the CodeSha256 of an image function: the digest an
// ImageUri pins (NAME@sha256:HEX), else the SHA-256 of the URI itself (the
// runner resolves the tag).
func ImageSha256(uri string) string {
	if _, d, ok := strings.Cut(uri, "@sha256:"); ok {
		return d
	}
	sum := sha256.Sum256([]byte(uri))
	return hex.EncodeToString(sum[:])
}

// Timestamp is Lambda's LastModified: 2006-01-02T15:04:05.000+0000.
func Timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// Code is where a new version's code is.
type Code struct {
	Zip      Zip
	ImageUri string
}

// NewConfiguration is $LATEST of a new function, Pending as Lambda reports
// a function being created.
func NewConfiguration(n Namer, name string, req *berthv1.LambdaCreateFunctionRequest, code Code, at time.Time, revision string) *berthv1.LambdaFunctionConfiguration {
	c := &berthv1.LambdaFunctionConfiguration{
		FunctionName:     name,
		FunctionArn:      n.FunctionARN(name),
		Runtime:          req.GetRuntime(),
		Role:             req.GetRole(),
		Handler:          req.GetHandler(),
		Description:      req.GetDescription(),
		Timeout:          DefaultTimeout,
		MemorySize:       DefaultMemory,
		LastModified:     Timestamp(at),
		Version:          Latest,
		VpcConfig:        req.GetVpcConfig(),
		DeadLetterConfig: req.GetDeadLetterConfig(),
		KmsKeyArn:        req.GetKmsKeyArn(),
		TracingConfig:    &berthv1.LambdaTracingConfig{Mode: "PassThrough"},
		RevisionId:       revision,
		State:            StatePending,
		StateReason:      "The function is being created.",
		StateReasonCode:  "Creating",
		PackageType:      PackageTypeOf(req.GetPackageType()),
		Architectures:    []string{"x86_64"},
		EphemeralStorage: &berthv1.LambdaEphemeralStorage{Size: DefaultStorage},
		LoggingConfig:    &berthv1.LambdaLoggingConfig{LogFormat: "Text", LogGroup: "/aws/lambda/" + name},
	}
	if req.Timeout != nil {
		c.Timeout = req.GetTimeout()
	}
	if req.MemorySize != nil {
		c.MemorySize = req.GetMemorySize()
	}
	if req.GetTracingConfig().GetMode() != "" {
		c.TracingConfig = req.GetTracingConfig()
	}
	if len(req.GetArchitectures()) > 0 {
		c.Architectures = req.GetArchitectures()
	}
	if req.GetEphemeralStorage() != nil {
		c.EphemeralStorage = req.GetEphemeralStorage()
	}
	if req.GetLoggingConfig() != nil {
		lc := proto.Clone(req.GetLoggingConfig()).(*berthv1.LambdaLoggingConfig)
		if lc.LogFormat == "" {
			lc.LogFormat = "Text"
		}
		if lc.LogGroup == "" {
			lc.LogGroup = "/aws/lambda/" + name
		}
		c.LoggingConfig = lc
	}
	if env := req.GetEnvironment(); env != nil {
		c.Environment = &berthv1.LambdaEnvironmentResponse{Variables: env.GetVariables()}
	}
	if ic := req.GetImageConfig(); ic != nil {
		c.ImageConfigResponse = &berthv1.LambdaImageConfigResponse{ImageConfig: ic}
	}
	setCode(c, code)
	return c
}

func setCode(c *berthv1.LambdaFunctionConfiguration, code Code) {
	if code.ImageUri != "" {
		c.CodeSha256 = ImageSha256(code.ImageUri)
		c.CodeSize = 0
		return
	}
	c.CodeSha256 = code.Zip.Sha256
	c.CodeSize = float64(code.Zip.Size)
}

// CheckUpdateCode checks an UpdateFunctionCode request against the
// function's package type.
func CheckUpdateCode(req *berthv1.LambdaUpdateFunctionCodeRequest, cur *berthv1.LambdaFunctionConfiguration) error {
	if err := checkArchitectures("Architectures", req.GetArchitectures()); err != nil {
		return err
	}
	if cur.GetPackageType() == PackageImage {
		if len(req.GetZipFile()) > 0 || req.GetS3Bucket() != "" {
			return InvalidParameter("ZipFile", "Please provide ImageUri when updating a function with packageType Image.")
		}
		if req.GetImageUri() == "" {
			return InvalidParameter("ImageUri", "Please provide ImageUri when updating a function with packageType Image.")
		}
		return nil
	}
	if req.GetImageUri() != "" {
		return InvalidParameter("ImageUri", "Please don't provide ImageUri when updating a function with packageType Zip.")
	}
	return checkZipSource("ZipFile", req.GetZipFile(), req.GetS3Bucket(), req.GetS3Key())
}

// ApplyCode is $LATEST with new code: LastUpdateStatus InProgress until
// the code is ready.
func ApplyCode(cur *berthv1.LambdaFunctionConfiguration, code Code, arch []string, at time.Time, revision string) *berthv1.LambdaFunctionConfiguration {
	c := proto.Clone(cur).(*berthv1.LambdaFunctionConfiguration)
	setCode(c, code)
	if len(arch) > 0 {
		c.Architectures = arch
	}
	inProgress(c, at, revision)
	return c
}

func inProgress(c *berthv1.LambdaFunctionConfiguration, at time.Time, revision string) {
	c.LastModified = Timestamp(at)
	c.RevisionId = revision
	c.LastUpdateStatus = UpdateInProgress
	c.LastUpdateStatusReason = "The function is being created."
	c.LastUpdateStatusReasonCode = "Creating"
}

// CheckUpdateConfiguration checks an UpdateFunctionConfiguration request.
func CheckUpdateConfiguration(req *berthv1.LambdaUpdateFunctionConfigurationRequest, cur *berthv1.LambdaFunctionConfiguration) error {
	if req.GetRole() != "" {
		if err := checkRole("Role", req.GetRole()); err != nil {
			return err
		}
	}
	if err := checkCommon(req.Timeout, req.MemorySize, req.GetDescription(), req.GetEnvironment(), req.GetEphemeralStorage(), req.GetLayers()); err != nil {
		return err
	}
	if err := checkHandler("Handler", req.GetHandler()); err != nil {
		return err
	}
	if cur.GetPackageType() == PackageImage {
		if req.GetRuntime() != "" || req.GetHandler() != "" {
			return InvalidParameter("Runtime", "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.")
		}
		return nil
	}
	if req.GetImageConfig() != nil {
		return InvalidParameter("ImageConfig", "Please don't provide ImageConfig when the intended function PackageType is Zip.")
	}
	if req.GetRuntime() != "" {
		return checkRuntime("Runtime", req.GetRuntime())
	}
	return nil
}

// ApplyConfiguration is $LATEST with an UpdateFunctionConfiguration's
// members: those given replace the function's.
func ApplyConfiguration(cur *berthv1.LambdaFunctionConfiguration, req *berthv1.LambdaUpdateFunctionConfigurationRequest, at time.Time, revision string) *berthv1.LambdaFunctionConfiguration {
	c := proto.Clone(cur).(*berthv1.LambdaFunctionConfiguration)
	if req.GetRole() != "" {
		c.Role = req.GetRole()
	}
	if req.GetHandler() != "" {
		c.Handler = req.GetHandler()
	}
	if req.Description != nil {
		c.Description = req.GetDescription()
	}
	if req.Timeout != nil {
		c.Timeout = req.GetTimeout()
	}
	if req.MemorySize != nil {
		c.MemorySize = req.GetMemorySize()
	}
	if req.GetVpcConfig() != nil {
		c.VpcConfig = req.GetVpcConfig()
	}
	if req.GetEnvironment() != nil {
		c.Environment = &berthv1.LambdaEnvironmentResponse{Variables: req.GetEnvironment().GetVariables()}
	}
	if req.GetRuntime() != "" {
		c.Runtime = req.GetRuntime()
	}
	if req.GetDeadLetterConfig() != nil {
		c.DeadLetterConfig = req.GetDeadLetterConfig()
	}
	if req.KmsKeyArn != nil {
		c.KmsKeyArn = req.GetKmsKeyArn()
	}
	if req.GetTracingConfig().GetMode() != "" {
		c.TracingConfig = req.GetTracingConfig()
	}
	if req.GetImageConfig() != nil {
		c.ImageConfigResponse = &berthv1.LambdaImageConfigResponse{ImageConfig: req.GetImageConfig()}
	}
	if req.GetEphemeralStorage() != nil {
		c.EphemeralStorage = req.GetEphemeralStorage()
	}
	if lc := req.GetLoggingConfig(); lc != nil {
		merged := proto.Clone(c.GetLoggingConfig()).(*berthv1.LambdaLoggingConfig)
		proto.Merge(merged, lc)
		c.LoggingConfig = merged
	}
	inProgress(c, at, revision)
	return c
}

// Ready is a configuration whose code and settings are in place: Active,
// its update Successful (or, with failure, Failed with the reason).
func Ready(c *berthv1.LambdaFunctionConfiguration, failure, reasonCode string) *berthv1.LambdaFunctionConfiguration {
	c = proto.Clone(c).(*berthv1.LambdaFunctionConfiguration)
	wasPending := c.State == StatePending
	if failure != "" {
		if wasPending {
			c.State, c.StateReason, c.StateReasonCode = StateFailed, failure, reasonCode
		}
		c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = UpdateFailed, failure, reasonCode
		return c
	}
	c.State, c.StateReason, c.StateReasonCode = StateActive, "", ""
	c.LastUpdateStatus, c.LastUpdateStatusReason, c.LastUpdateStatusReasonCode = UpdateSuccessful, "", ""
	return c
}

// CheckInvokable refuses an invoke of a function that is not Active, in
// Lambda's words.
func CheckInvokable(c *berthv1.LambdaFunctionConfiguration) error {
	switch c.GetState() {
	case StateActive:
		return nil
	case StateFailed:
		return with(apierr.FailedPrecondition, ResourceConflict, "Lambda is unable to invoke the function because its state is Failed: %s", c.GetStateReason())
	}
	return Conflict("The operation cannot be performed at this time. The function is currently in the following state: %s", c.GetState())
}

// CheckNotUpdating refuses a change while the last one is in progress.
func CheckNotUpdating(c *berthv1.LambdaFunctionConfiguration) error {
	if c.GetLastUpdateStatus() == UpdateInProgress || c.GetState() == StatePending {
		return Conflict("The operation cannot be performed at this time. An update is in progress for resource: %s", c.GetFunctionArn())
	}
	return nil
}

// CheckDescription checks a Description member (at most 256 characters).
func CheckDescription(d string) error { return checkLength("Description", d, 0, MaxDescription) }
