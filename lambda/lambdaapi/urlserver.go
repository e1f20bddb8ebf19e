package lambdaapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/lambda"
	"github.com/berth/berth/store"
)

// maxURLBody bounds a function URL request's body, Lambda's 6 MB.
const maxURLBody = lambda.MaxSyncPayload

// URLHandler serves function URLs: a request to
// ID.lambda-url.REGION.localhost[:PORT]/PATH, or to /ID/PATH on the URL
// server's address, invokes the URL's function with the payload format 2.0
// event, and its response is mapped back to HTTP as Lambda maps it.
func (s *Server) URLHandler() http.Handler {
	return http.HandlerFunc(s.serveURL)
}

func writeURLError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", http.StatusText(status))
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Message": message})
	w.Write(b)
}

// findURL is the function and qualifier of a URL id.
func (s *Server) findURL(id string) (*berthv1.LambdaFunctionRecord, string, *berthv1.LambdaFunctionUrlConfig, bool) {
	var found *berthv1.LambdaFunctionRecord
	var q string
	s.functions.List("", "", func(r store.Stored[*berthv1.LambdaFunctionRecord]) bool {
		if qq, ok := r.Value.GetUrlIds()[id]; ok {
			found, q = r.Value, qq
			return false
		}
		return true
	})
	if found == nil {
		return nil, "", nil, false
	}
	c, ok := found.GetUrlConfigs()[urlKey(q)]
	return found, q, c, ok
}

func (s *Server) serveURL(w http.ResponseWriter, r *http.Request) {
	id, path := urlID(r.Host), r.URL.EscapedPath()
	if id == "" {
		// By path: /ID/rest.
		rest := strings.TrimPrefix(path, "/")
		id, path, _ = strings.Cut(rest, "/")
		path = "/" + path
	}
	f, q, cfg, ok := s.findURL(id)
	if id == "" || !ok {
		writeURLError(w, http.StatusForbidden, "Forbidden")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxURLBody+1))
	if err != nil {
		writeURLError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxURLBody {
		writeURLError(w, http.StatusRequestEntityTooLarge, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	account := "anonymous"
	switch cfg.GetAuthType() {
	case "AWS_IAM":
		if s.cfg.URLAuthenticate == nil {
			writeURLError(w, http.StatusForbidden, "Forbidden")
			return
		}
		if err := s.cfg.URLAuthenticate(r, body); err != nil {
			writeURLError(w, http.StatusForbidden, "Forbidden")
			return
		}
		account = s.cfg.Account
	default:
		stmts, err := lambda.ParseStatements(f.GetPolicy())
		if err != nil || !lambda.Allows(stmts, s.names.QualifiedARN(f.GetName(), q), lambda.Caller{Principal: "*", Action: lambda.ActionInvokeFunctionURL, URLAuthType: "NONE"}) {
			writeURLError(w, http.StatusForbidden, "Forbidden")
			return
		}
	}
	_, t, err := s.target("FunctionName", f.GetName(), q)
	if err != nil {
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	requestID := newID()
	ev := lambda.URLEvent(lambda.URLRequest{Method: r.Method, RawPath: path, RawQuery: r.URL.RawQuery, Proto: r.Proto, RemoteAddr: r.RemoteAddr,
		Header: r.Header, Body: body, ID: id, Host: r.Host, RequestID: requestID, AccountID: account, At: s.now()})
	payload, _ := json.Marshal(ev)
	res, err := s.run(r.Context(), f, t.Version, requestID, payload, false, "")
	if err != nil {
		if apierr.Is(err, apierr.ResourceExhausted) {
			writeURLError(w, http.StatusTooManyRequests, "Rate Exceeded.")
			return
		}
		s.cfg.Logger.Warn("lambda: function URL invocation", "function", f.GetName(), "err", err)
		writeURLError(w, http.StatusBadGateway, "Internal Server Error")
		return
	}
	out := lambda.URLResult(res.Payload, res.FunctionError)
	for k, vs := range out.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("X-Amzn-Requestid", requestID)
	w.WriteHeader(out.Status)
	w.Write(out.Body)
}
