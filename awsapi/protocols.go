package awsapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/proto"
)

// isQuery tells an awsQuery request: a form POST, or a GET with Action=.
func isQuery(r *http.Request) bool {
	if r.Method == http.MethodPost && r.URL.Path == "/" {
		return strings.HasPrefix(r.Header.Get("Content-Type"), formContentType)
	}
	return r.Method == http.MethodGet && r.URL.Path == "/" && r.URL.Query().Has("Action")
}

// cborOperation splits /service/S/operation/O.
func cborOperation(path string) (svc, op string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) != 4 || parts[0] != "service" || parts[2] != "operation" || parts[1] == "" || parts[3] == "" {
		return "", "", false
	}
	return parts[1], parts[3], true
}

// parseForm is a query protocol request's parameters: the form body's, or
// the URL's for a GET.
func parseForm(r *http.Request, body []byte) (url.Values, error) {
	raw := string(body)
	if r.Method == http.MethodGet {
		raw = r.URL.RawQuery
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, faultf(serialization, http.StatusBadRequest, "the parameters are not a URL-encoded form: %v", err)
	}
	return v, nil
}

// decode fills in, the operation's request message, from the request in
// the call's protocol. Every protocol becomes a JSON document that awsjson
// decodes strictly, so that every protocol's errors name member paths alike.
func (f *FrontDoor) decode(r *http.Request, c *call, in proto.Message) error {
	var doc []byte
	var err error
	switch c.proto {
	case JSON10, JSON11:
		doc = c.body
	case RESTJSON:
		doc, err = restDocument(r, c, in)
	case Query:
		doc, err = queryDocument(c.form, in)
	case RPCv2CBOR:
		doc, err = cborToJSON(c.body)
	}
	if err != nil {
		return err
	}
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	return unmarshalStrict(doc, in)
}

// encode writes the operation's response to the request in in the call's
// protocol.
func (f *FrontDoor) encode(w http.ResponseWriter, c *call, in, out proto.Message, requestID string) error {
	doc, err := marshalJSON(out, in, c.svc.Render)
	if err != nil {
		return err
	}
	switch c.proto {
	case JSON10, JSON11:
		w.Header().Set("Content-Type", jsonContentType(c.proto))
		w.Write(doc)
	case RESTJSON:
		return writeREST(w, c.route.route, doc)
	case Query:
		w.Header().Set("Content-Type", "text/xml")
		return writeQueryResponse(w, c.op, c.svc.XMLNamespace, out, requestID)
	case RPCv2CBOR:
		b, err := jsonToCBOR(doc)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", cborContentType)
		w.Header().Set(smithyProtocolHeader, smithyProtocolCBOR)
		w.Write(b)
	}
	return nil
}

// restDocument is the JSON document of a REST-JSON request: its body (or
// the payload member), with the members bound to labels, query parameters
// and headers set in it.
func restDocument(r *http.Request, c *call, in proto.Message) ([]byte, error) {
	route := c.route.route
	doc := map[string]any{}
	switch {
	case route.Payload != "":
		if len(c.body) > 0 {
			doc[route.Payload] = base64.StdEncoding.EncodeToString(c.body)
		}
	case len(c.body) > 0:
		if err := unmarshalStrict(c.body, in); err != nil {
			return nil, err // the body alone names its errors' paths
		}
		dec := json.NewDecoder(strings.NewReader(string(c.body)))
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			return nil, faultf(serialization, http.StatusBadRequest, "the body is not a JSON object: %v", err)
		}
	}
	bind := func(member, value, from string) error {
		v, err := typedValue(in.ProtoReflect().Descriptor(), member, value)
		if err != nil {
			return fieldFault(member, "%s: %v", from, err)
		}
		doc[member] = v
		return nil
	}
	for name, v := range c.labels {
		if err := bind(name, v, "in the path"); err != nil {
			return nil, err
		}
	}
	q := r.URL.Query()
	for param, member := range route.Query {
		if q.Has(param) {
			if err := bind(member, q.Get(param), "query parameter "+param); err != nil {
				return nil, err
			}
		}
	}
	for header, member := range route.Header {
		if v := r.Header.Get(header); v != "" {
			if err := bind(member, v, "header "+header); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(doc)
}

// writeREST writes a REST-JSON response: its members bound to headers as
// headers, the payload member as the body, the rest as a JSON document.
func writeREST(w http.ResponseWriter, route Route, doc []byte) error {
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &fields); err != nil {
		return err
	}
	for member, header := range route.ResponseHeader {
		if raw, ok := fields[member]; ok {
			var s any
			json.Unmarshal(raw, &s)
			w.Header().Set(header, fmt.Sprint(s))
			delete(fields, member)
		}
	}
	status := route.Status
	if status == 0 {
		status = http.StatusOK
	}
	if raw, ok := fields[route.ResponseStatus]; ok && route.ResponseStatus != "" {
		var code int
		if json.Unmarshal(raw, &code) == nil && code >= 200 && code < 300 {
			status = code
		}
		delete(fields, route.ResponseStatus)
	}
	if route.ResponsePayload != "" {
		var payload []byte
		if raw, ok := fields[route.ResponsePayload]; ok {
			var b64 string
			json.Unmarshal(raw, &b64)
			payload, _ = base64.StdEncoding.DecodeString(b64)
		}
		w.WriteHeader(status)
		w.Write(payload)
		return nil
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

// digestReader checks, at the end of a body, that its SHA-256 is what the
// signature covered.
type digestReader struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
}

func newHash() hash.Hash { return sha256.New() }

func (d *digestReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	if err == io.EOF && fmt.Sprintf("%x", d.h.Sum(nil)) != d.want {
		return n, &BodyError{Code: "XAmzContentSHA256Mismatch", Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return n, err
}

func (d *digestReader) Close() error { return d.r.Close() }
