package awsapi

import (
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/grpc"

	"github.com/berth/berth/apierr"
	"github.com/berth/berth/awsapi/awsjson"
)

// Protocol is an AWS wire protocol.
type Protocol int

// The protocols AWS services speak.
const (
	JSON10    Protocol = iota + 1 // awsJson1_0: POST /, X-Amz-Target, application/x-amz-json-1.0
	JSON11                        // awsJson1_1: the same with application/x-amz-json-1.1
	RESTJSON                      // restJson1: operations by method and path, JSON bodies
	RESTXML                       // restXml: S3
	Query                         // awsQuery: Action= in a form, XML responses
	RPCv2CBOR                     // smithy rpcv2Cbor: POST /service/S/operation/O, CBOR bodies
)

func (p Protocol) String() string {
	switch p {
	case JSON10:
		return "awsJson1_0"
	case JSON11:
		return "awsJson1_1"
	case RESTJSON:
		return "restJson1"
	case RESTXML:
		return "restXml"
	case Query:
		return "awsQuery"
	case RPCv2CBOR:
		return "rpcv2Cbor"
	}
	return fmt.Sprintf("Protocol(%d)", int(p))
}

// Service is one AWS service on the front door.
type Service struct {
	// Name is the service's name for people and logs ("ecs").
	Name string
	// SigningName is the service in SigV4 credential scopes ("ecs",
	// "elasticloadbalancing", "monitoring").
	SigningName string
	// Protocols are the wire protocols the service speaks.
	Protocols []Protocol
	// TargetPrefix precedes the operation in X-Amz-Target for the JSON
	// protocols ("AmazonEC2ContainerServiceV20141113"); for RPC v2 CBOR it
	// is the service shape's name in /service/S/operation/O.
	TargetPrefix string
	// XMLNamespace is the xmlns of the query protocol's responses
	// ("http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/").
	XMLNamespace string

	// Desc and Impl are the service's gRPC service: each method is the AWS
	// operation of the same name, its request and response messages the
	// operation's input and output, with protojson names equal to the AWS
	// member names.
	Desc *grpc.ServiceDesc
	Impl any
	// Routes place the operations of a REST service, by operation name.
	Routes map[string]Route

	// Handler, instead of Desc and Impl, serves every request of the service
	// once the front door has checked its signature (a library's server for
	// a REST-XML service). Signing describes the checked signature.
	Handler func(w http.ResponseWriter, r *http.Request, s Signing)

	// Render names the members the service writes in its JSON (and CBOR)
	// responses even when they are empty or zero (ECS's "serviceArns": []);
	// nil writes only the members that are set.
	Render awsjson.Rule

	// Exception names the service's exception for an error, and the HTTP
	// status it is sent with (0: the status of the error's class).
	Exception func(*apierr.Error) (name string, status int)
	// ErrorMembers, if set, are members the service writes in the JSON body
	// of an error beside the message (Lambda's TooManyRequestsException
	// has a Reason). A member "Message" replaces "message", for the
	// exceptions whose shape spells it so.
	ErrorMembers func(name string, e *apierr.Error) map[string]string
}

// Route is where a REST operation lives and how its members bind to the
// request beyond the JSON body.
type Route struct {
	// Method and Path: Path is a pattern with {Member} labels, the last one
	// {Member+} for a greedy label ("/2015-03-31/functions/{FunctionName}/invocations").
	Method, Path string
	// Query, Header: query parameter and header names, each to the member it
	// sets.
	Query, Header map[string]string
	// Payload, if set, is the member (bytes or string) that takes the whole
	// request body, instead of a JSON document.
	Payload string
	// Status is the HTTP status of a success (200 when 0).
	Status int
	// ResponseHeader: members of the response sent as headers, each to its
	// header name; ResponsePayload: the member sent as the whole body.
	ResponseHeader  map[string]string
	ResponsePayload string
	// ResponseStatus, if set, is the member of the response that is the
	// HTTP status of the success (Lambda's Invoke: 200, 202 or 204); it is
	// not written in the body.
	ResponseStatus string
}

func (s *Service) speaks(p Protocol) bool {
	for _, q := range s.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// method is a gRPC method of the service by its operation name.
func (s *Service) method(op string) (grpc.MethodDesc, bool) {
	if s.Desc == nil {
		return grpc.MethodDesc{}, false
	}
	for _, m := range s.Desc.Methods {
		if m.MethodName == op {
			return m, true
		}
	}
	return grpc.MethodDesc{}, false
}

// validate reports what a Service lacks to be registered.
func (s *Service) validate() error {
	switch {
	case s.Name == "" || s.SigningName == "":
		return fmt.Errorf("awsapi: a service needs a Name and a SigningName")
	case len(s.Protocols) == 0:
		return fmt.Errorf("awsapi: service %s speaks no protocol", s.Name)
	case s.Handler == nil && (s.Desc == nil || s.Impl == nil):
		return fmt.Errorf("awsapi: service %s needs Desc and Impl, or a Handler", s.Name)
	case s.Exception == nil:
		return fmt.Errorf("awsapi: service %s needs an Exception table", s.Name)
	}
	for _, p := range s.Protocols {
		if (p == JSON10 || p == JSON11 || p == RPCv2CBOR) && s.TargetPrefix == "" {
			return fmt.Errorf("awsapi: service %s speaks %s without a TargetPrefix", s.Name, p)
		}
		if p == RESTJSON && s.Handler == nil {
			for _, m := range s.Desc.Methods {
				if _, ok := s.Routes[m.MethodName]; !ok {
					return fmt.Errorf("awsapi: REST service %s has no route for %s", s.Name, m.MethodName)
				}
			}
		}
	}
	for op, r := range s.Routes {
		if _, ok := s.method(op); !ok {
			return fmt.Errorf("awsapi: service %s routes %s, which it does not have", s.Name, op)
		}
		if !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("awsapi: service %s: route of %s must start with /", s.Name, op)
		}
	}
	return nil
}
