package lambdaapi

import (
	"context"
	"crypto/rand"
	"net"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/lambda"
)

var urlQualifierPattern = regexp.MustCompile(`^((\$LATEST)|([a-zA-Z0-9_-]*[a-zA-Z_-][a-zA-Z0-9_-]*))$`)

// urlKey is the key of a qualifier's URL config ("" for the function).
func urlKey(q string) string { return q }

// newURLID is a URL's id: 32 lowercase letters and digits, as Lambda's.
func newURLID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [32]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// FunctionURL is the URL of an id: http://ID.lambda-url.REGION.localhost:PORT/.
func (s *Server) FunctionURL(id string) string {
	_, port, err := net.SplitHostPort(s.cfg.URLAddr)
	if err != nil {
		port = "7482"
	}
	return "http://" + id + ".lambda-url." + s.cfg.Region + ".localhost:" + port + "/"
}

func checkURLConfig(q, authType, mode string) error {
	if q != "" && !urlQualifierPattern.MatchString(q) {
		return lambda.Invalid("Qualifier", q, `Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)`)
	}
	if authType != "NONE" && authType != "AWS_IAM" {
		return lambda.Invalid("AuthType", authType, "Member must satisfy enum value set: [NONE, AWS_IAM]")
	}
	if mode != "" && mode != "BUFFERED" && mode != "RESPONSE_STREAM" {
		return lambda.Invalid("InvokeMode", mode, "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]")
	}
	return nil
}

func urlNotFound() error { return lambda.NotFound("The resource you requested does not exist.") }

// CreateFunctionUrlConfig gives a function (or an alias) a URL.
func (s *Server) CreateFunctionUrlConfig(ctx context.Context, req *berthv1.LambdaCreateFunctionUrlConfigRequest) (*berthv1.LambdaFunctionUrlConfig, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	if err := checkURLConfig(q, req.GetAuthType(), req.GetInvokeMode()); err != nil {
		return nil, err
	}
	if err := s.checkQualifierExists(st.Value, q); err != nil {
		return nil, err
	}
	var answer *berthv1.LambdaFunctionUrlConfig
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		arn := s.names.QualifiedARN(f.GetName(), q)
		if _, ok := f.GetUrlConfigs()[urlKey(q)]; ok {
			return nil, lambda.Conflict("Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig exists for this Lambda function", arn)
		}
		id := newURLID()
		at := lambda.Timestamp(s.now())
		answer = &berthv1.LambdaFunctionUrlConfig{FunctionUrl: s.FunctionURL(id), FunctionArn: arn, AuthType: req.GetAuthType(),
			Cors: req.GetCors(), CreationTime: at, LastModifiedTime: at, InvokeMode: orDefault(req.GetInvokeMode(), "BUFFERED")}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		if next.UrlConfigs == nil {
			next.UrlConfigs, next.UrlIds = map[string]*berthv1.LambdaFunctionUrlConfig{}, map[string]string{}
		}
		next.UrlConfigs[urlKey(q)] = answer
		next.UrlIds[id] = q
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	out := proto.Clone(answer).(*berthv1.LambdaFunctionUrlConfig)
	out.LastModifiedTime = ""
	return out, nil
}

// GetFunctionUrlConfig answers a URL's config.
func (s *Server) GetFunctionUrlConfig(ctx context.Context, req *berthv1.LambdaGetFunctionUrlConfigRequest) (*berthv1.LambdaFunctionUrlConfig, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	c, ok := st.Value.GetUrlConfigs()[urlKey(q)]
	if !ok {
		return nil, urlNotFound()
	}
	return c, nil
}

// UpdateFunctionUrlConfig changes a URL's auth type, CORS or invoke mode.
func (s *Server) UpdateFunctionUrlConfig(ctx context.Context, req *berthv1.LambdaUpdateFunctionUrlConfigRequest) (*berthv1.LambdaFunctionUrlConfig, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	var answer *berthv1.LambdaFunctionUrlConfig
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		c, ok := f.GetUrlConfigs()[urlKey(q)]
		if !ok {
			return nil, urlNotFound()
		}
		c = proto.Clone(c).(*berthv1.LambdaFunctionUrlConfig)
		if req.GetAuthType() != "" {
			c.AuthType = req.GetAuthType()
		}
		if req.GetCors() != nil {
			c.Cors = req.GetCors()
		}
		if req.GetInvokeMode() != "" {
			c.InvokeMode = req.GetInvokeMode()
		}
		if err := checkURLConfig(q, c.GetAuthType(), c.GetInvokeMode()); err != nil {
			return nil, err
		}
		c.LastModifiedTime = lambda.Timestamp(s.now())
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		next.UrlConfigs[urlKey(q)] = c
		answer = c
		return next, nil
	})
	return answer, err
}

// DeleteFunctionUrlConfig removes a URL.
func (s *Server) DeleteFunctionUrlConfig(ctx context.Context, req *berthv1.LambdaDeleteFunctionUrlConfigRequest) (*berthv1.LambdaDeleteFunctionUrlConfigResponse, error) {
	st, q, err := s.function("FunctionName", req.GetFunctionName(), req.GetQualifier())
	if err != nil {
		return nil, err
	}
	_, err = s.update(ctx, "FunctionName", st.Value.GetName(), func(f *berthv1.LambdaFunctionRecord) (*berthv1.LambdaFunctionRecord, error) {
		if _, ok := f.GetUrlConfigs()[urlKey(q)]; !ok {
			return nil, urlNotFound()
		}
		next := proto.Clone(f).(*berthv1.LambdaFunctionRecord)
		delete(next.UrlConfigs, urlKey(q))
		for id, qq := range next.UrlIds {
			if qq == q {
				delete(next.UrlIds, id)
			}
		}
		return next, nil
	})
	return &berthv1.LambdaDeleteFunctionUrlConfigResponse{}, err
}

// urlID is the id of a URL's host (ID.lambda-url.REGION.localhost[:PORT]).
func urlID(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	id, rest, ok := strings.Cut(host, ".lambda-url.")
	if !ok || rest == "" {
		return ""
	}
	return id
}
