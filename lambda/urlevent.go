package lambda

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// URLRequest is what a function URL's event is made of: the HTTP request
// as received, and who and where.
type URLRequest struct {
	Method, RawPath, RawQuery, Proto, RemoteAddr string
	Header                                       http.Header
	Body                                         []byte
	// ID is the URL's id, Host the host it was reached at.
	ID, Host, RequestID string
	// AccountID is the caller's account ("anonymous" for AuthType NONE).
	AccountID string
	At        time.Time
}

// URLEvent is the payload format 2.0 event Lambda gives a function for a
// request to its URL: headers lowercased and joined with commas, cookies
// apart, the query's values joined with commas, a body that is not UTF-8
// text in base64.
func URLEvent(r URLRequest) events.LambdaFunctionURLRequest {
	ev := events.LambdaFunctionURLRequest{
		Version: "2.0", RawPath: r.RawPath, RawQueryString: r.RawQuery, Headers: map[string]string{},
		RequestContext: events.LambdaFunctionURLRequestContext{
			AccountID: r.AccountID, RequestID: r.RequestID, APIID: r.ID, DomainName: r.Host, DomainPrefix: r.ID,
			Time: r.At.UTC().Format("02/Jan/2006:15:04:05 +0000"), TimeEpoch: r.At.UnixMilli(),
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: r.Method, Path: r.RawPath, Protocol: r.Proto,
				SourceIP: sourceIP(r.RemoteAddr), UserAgent: r.Header.Get("User-Agent")},
		},
	}
	if ev.RawPath == "" {
		ev.RawPath, ev.RequestContext.HTTP.Path = "/", "/"
	}
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		if k == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[k] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	if q := parseQuery(r.RawQuery); len(q) > 0 {
		ev.QueryStringParameters = q
	}
	if len(r.Body) > 0 {
		if utf8.Valid(r.Body) && isText(r.Header.Get("Content-Type")) {
			ev.Body = string(r.Body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(r.Body), true
		}
	}
	return ev
}

// isText: the content types whose bodies Lambda passes as text.
func isText(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "javascript") || strings.HasPrefix(ct, "application/x-www-form-urlencoded")
}

func parseQuery(raw string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		if old, ok := out[k]; ok {
			out[k] = old + "," + v
		} else {
			out[k] = v
		}
	}
	return out
}

func sourceIP(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i > 0 {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

// URLResponse is the HTTP response a function URL sends.
type URLResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// URLResult maps a function's response to HTTP as Lambda does: a JSON
// object with statusCode is a LambdaFunctionURLResponse (headers, cookies
// as Set-Cookie, a base64 body); anything else valid is a 200 with the
// payload as an application/json body; a function error is a 502.
func URLResult(payload []byte, functionError string) URLResponse {
	if functionError != "" {
		return URLResponse{Status: http.StatusBadGateway, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"Message":"Internal Server Error"}`)}
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(payload, &probe) == nil {
		if _, ok := probe["statusCode"]; ok {
			var r events.LambdaFunctionURLResponse
			if err := json.Unmarshal(payload, &r); err != nil || r.StatusCode < 100 || r.StatusCode > 599 {
				return URLResponse{Status: http.StatusBadGateway, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"Message":"Internal Server Error"}`)}
			}
			out := URLResponse{Status: r.StatusCode, Header: http.Header{}, Body: []byte(r.Body)}
			for k, v := range r.Headers {
				out.Header.Set(k, v)
			}
			for _, c := range r.Cookies {
				out.Header.Add("Set-Cookie", c)
			}
			if r.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(r.Body)
				if err != nil {
					return URLResponse{Status: http.StatusBadGateway, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"Message":"Internal Server Error"}`)}
				}
				out.Body = b
			}
			if out.Header.Get("Content-Type") == "" {
				out.Header.Set("Content-Type", "application/json")
			}
			return out
		}
	}
	return URLResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: payload}
}
