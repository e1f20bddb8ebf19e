package awsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's X-Amz-Date may be from now, as AWS allows.
const maxSkew = 5 * time.Minute

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseAuthorization(h string) (authorization, bool) {
	var a authorization
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return a, false
	}
	for _, part := range strings.Split(rest, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "Credential":
			scope := strings.Split(value, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return a, false
			}
			a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(value, ";")
		case "Signature":
			a.signature = value
		}
	}
	return a, a.accessKeyID != "" && a.signature != "" && len(a.signedHeaders) > 0
}

// Verify checks r's SigV4 signature over body against the keys, by signing
// the same request again with aws-sdk-go-v2's signer and comparing.
func (k Keys) Verify(r *http.Request, body []byte, now time.Time) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return wireError(http.StatusBadRequest, "MissingAuthenticationTokenException", "the request is not signed: sign it with SigV4 (the aws CLI and SDKs do)")
	}
	auth, ok := parseAuthorization(h)
	if !ok {
		return wireError(http.StatusBadRequest, "IncompleteSignatureException", "the Authorization header is not a SigV4 signature")
	}
	if auth.service != "ecs" {
		return wireError(http.StatusBadRequest, "InvalidSignatureException", "the credential scope names service %q, not ecs", auth.service)
	}
	secret, ok := k[auth.accessKeyID]
	if !ok {
		return wireError(http.StatusBadRequest, "UnrecognizedClientException", "the security token included in the request is invalid: unknown access key %q", auth.accessKeyID)
	}
	signedAt, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return wireError(http.StatusBadRequest, "IncompleteSignatureException", "X-Amz-Date must be set as YYYYMMDDTHHMMSSZ")
	}
	if d := now.Sub(signedAt); d > maxSkew || d < -maxSkew {
		return wireError(http.StatusBadRequest, "InvalidSignatureException",
			"Signature expired: %s is more than %s from the server's time %s", signedAt.Format(time.RFC3339), maxSkew, now.UTC().Format(time.RFC3339))
	}
	again, err := resign(r, body, auth, Key{auth.accessKeyID, secret}, signedAt)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare([]byte(again.signature), []byte(auth.signature)) != 1 {
		return wireError(http.StatusBadRequest, "InvalidSignatureException",
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// resign signs a copy of r holding only the headers r signed.
func resign(r *http.Request, body []byte, auth authorization, key Key, at time.Time) (authorization, error) {
	req, err := http.NewRequest(r.Method, r.URL.String(), nil)
	if err != nil {
		return authorization{}, err
	}
	req.Host = r.Host
	for _, name := range auth.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			for _, v := range r.Header.Values(name) {
				req.Header.Add(name, v)
			}
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), auth.service, auth.region, at); err != nil {
		return authorization{}, err
	}
	again, _ := parseAuthorization(req.Header.Get("Authorization"))
	return again, nil
}
