package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/fxamacker/cbor/v2"
)

// kind is a failure of the front door itself: the request never reached a
// handler. Each protocol has its own name for each kind.
type kind int

const (
	unknownOperation    kind = iota // no such service or operation
	serialization                   // a body that is not the protocol's
	missingAuth                     // not signed
	incompleteSignature             // signed, but not as SigV4 is
	badSignature                    // the signature does not match
	unknownKey                      // the access key is not berth's
	expired                         // signed too long ago, or in the future
	wrongService                    // signed for another service
	tooLarge                        // a body past the limit
	expiredToken                    // temporary credentials that have expired
	internalAuth                    // the credentials could not be checked
)

// fault is a front door failure with the HTTP status it is sent with.
type fault struct {
	kind    kind
	status  int
	message string
}

func (f *fault) Error() string { return f.message }

func faultf(k kind, status int, format string, args ...any) *fault {
	return &fault{kind: k, status: status, message: fmt.Sprintf(format, args...)}
}

// faultNames name each kind in the JSON protocols (and REST-JSON and CBOR),
// the query protocol and S3's REST-XML, as those services send them.
var faultNames = map[kind][3]string{
	unknownOperation:    {"UnknownOperationException", "InvalidAction", "NotImplemented"},
	serialization:       {"SerializationException", "MalformedInput", "MalformedXML"},
	missingAuth:         {"MissingAuthenticationTokenException", "MissingAuthenticationToken", "AccessDenied"},
	incompleteSignature: {"IncompleteSignatureException", "IncompleteSignature", "AuthorizationHeaderMalformed"},
	badSignature:        {"InvalidSignatureException", "SignatureDoesNotMatch", "SignatureDoesNotMatch"},
	unknownKey:          {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId"},
	expired:             {"InvalidSignatureException", "RequestExpired", "RequestTimeTooSkewed"},
	wrongService:        {"InvalidSignatureException", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed"},
	tooLarge:            {"SerializationException", "RequestEntityTooLarge", "EntityTooLarge"},
	expiredToken:        {"ExpiredTokenException", "ExpiredToken", "ExpiredToken"},
	internalAuth:        {"InternalFailure", "InternalFailure", "InternalError"},
}

// name is the kind's exception name in protocol p.
func (f *fault) name(p Protocol) string {
	names := faultNames[f.kind]
	switch p {
	case Query:
		return names[1]
	case RESTXML:
		return names[2]
	}
	return names[0]
}

// statusOf is the status of f in protocol p: S3 and the query services send
// authentication failures as 403, the JSON services as 400.
func (f *fault) statusOf(p Protocol) int {
	if (p == Query || p == RESTXML) && f.status == http.StatusBadRequest {
		switch f.kind {
		case missingAuth, incompleteSignature, badSignature, unknownKey, expired, wrongService, expiredToken:
			return http.StatusForbidden
		}
	}
	return f.status
}

// wireError is an error as a protocol sends it: the exception, the message
// and, beyond AWS's own members, berth's: the path of the request member the
// error is about and berth's own words when the message is the service's
// text. Clients that do not know the extra members ignore them.
type wireError struct {
	code, message string
	field, detail string
	members       map[string]string // the service's own members (Service.ErrorMembers)
}

// jsonBody is the error body of the JSON protocols (and CBOR's): typeKey
// names the member that holds the exception ("__type"), or is "" for none
// (REST-JSON sends it as a header).
func (e wireError) jsonBody(typeKey string, extra map[string]string) map[string]string {
	b := map[string]string{"message": e.message}
	if typeKey != "" {
		b[typeKey] = e.code
	}
	if e.field != "" {
		b["field"] = e.field
	}
	if e.detail != "" {
		b["detail"] = e.detail
	}
	for k, v := range extra {
		b[k] = v
	}
	for k, v := range e.members {
		b[k] = v
	}
	if _, ok := e.members["Message"]; ok {
		delete(b, "message")
	}
	return b
}

// writeError writes an error in protocol p's shape.
func writeError(w http.ResponseWriter, p Protocol, status int, e wireError, namespace, requestID string) {
	h := w.Header()
	switch p {
	case JSON10, JSON11:
		h.Set("Content-Type", jsonContentType(p))
		h.Set("X-Amzn-Errortype", e.code)
		w.WriteHeader(status)
		b, _ := json.Marshal(e.jsonBody("__type", nil))
		w.Write(b)
	case RESTJSON:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", e.code)
		w.WriteHeader(status)
		b, _ := json.Marshal(e.jsonBody("", map[string]string{"Type": faultParty(status, "User", "Service")}))
		w.Write(b)
	case RPCv2CBOR:
		h.Set("Content-Type", cborContentType)
		h.Set(smithyProtocolHeader, smithyProtocolCBOR)
		w.WriteHeader(status)
		b, _ := cbor.Marshal(e.jsonBody("__type", nil))
		w.Write(b)
	case Query:
		h.Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		writeXML(w, queryErrorResponse{Xmlns: namespace, Error: queryError{Type: faultParty(status, "Sender", "Receiver"), Code: e.code, Message: e.message}, RequestID: requestID})
	default: // REST-XML, and whatever could not be told
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		writeXML(w, s3Error{Code: e.code, Message: e.message, RequestID: requestID})
	}
}

// faultParty is who is at fault, in a protocol's words.
func faultParty(status int, sender, receiver string) string {
	if status >= 500 {
		return receiver
	}
	return sender
}

type queryErrorResponse struct {
	XMLName   xml.Name   `xml:"ErrorResponse"`
	Xmlns     string     `xml:"xmlns,attr,omitempty"`
	Error     queryError `xml:"Error"`
	RequestID string     `xml:"RequestId"`
}

type queryError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, v any) {
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}
