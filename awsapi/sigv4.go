package awsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's X-Amz-Date may be from now, as AWS allows.
const maxSkew = 5 * time.Minute

// maxPresignedExpiry is the longest X-Amz-Expires AWS accepts (7 days).
const maxPresignedExpiry = 7 * 24 * time.Hour

// The payload hashes a signature may carry in X-Amz-Content-Sha256 instead
// of the body's digest.
const (
	UnsignedPayload  = "UNSIGNED-PAYLOAD"
	streamingPayload = "STREAMING-" // STREAMING-AWS4-HMAC-SHA256-PAYLOAD and its -TRAILER and UNSIGNED forms
)

// Signing is a checked SigV4 signature: who signed, for what scope, and
// what a handler needs to check an aws-chunked body's chunk signatures.
type Signing struct {
	AccessKeyID, Region, Service string
	SignedAt                     time.Time
	// Signature is the request's signature: the seed of a streaming body's
	// chunk signatures.
	Signature string
	// PayloadHash is what the signature covers of the body: its hex digest,
	// UNSIGNED-PAYLOAD, or a STREAMING-... form.
	PayloadHash string
	// Presigned says the signature came in the query string.
	Presigned bool
	// Session is the role the request acts as when it was signed with
	// temporary credentials (zero for berth's own keys).
	Session Session
	secret  string
}

// SigningKey is SigV4's derived signing key for the signature's scope, with
// which the chunks of a streaming body are signed.
func (s Signing) SigningKey() []byte {
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+s.secret), s.SignedAt.UTC().Format("20060102"))
	k = mac(k, s.Region)
	k = mac(k, s.Service)
	return mac(k, "aws4_request")
}

// credential is a parsed SigV4 signature, from the Authorization header or
// a presigned query.
type credential struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
	presigned                          bool
	amzDate                            string
	expires                            time.Duration
	// v2 says the signature is S3's version 2 presigned query, valid until
	// expiresAt.
	v2        bool
	expiresAt time.Time
}

// parseScope parses "AKID/20260101/us-east-1/ecs/aws4_request".
func (c *credential) parseScope(value string) bool {
	scope := strings.Split(value, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return false
	}
	c.accessKeyID, c.date, c.region, c.service = scope[0], scope[1], scope[2], scope[3]
	return true
}

// credentialOf finds r's signature: ok is false when r is not signed at all;
// err says how a signature that is there is malformed.
func credentialOf(r *http.Request) (c credential, ok bool, err *fault) {
	if h := r.Header.Get("Authorization"); h != "" {
		rest, isV4 := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
		if !isV4 {
			return c, true, faultf(incompleteSignature, http.StatusBadRequest, "the Authorization header is not a SigV4 signature (AWS4-HMAC-SHA256)")
		}
		for _, part := range strings.Split(rest, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch name {
			case "Credential":
				if !c.parseScope(value) {
					return c, true, faultf(incompleteSignature, http.StatusBadRequest, "the Credential %q is not ACCESSKEY/DATE/REGION/SERVICE/aws4_request", value)
				}
			case "SignedHeaders":
				c.signedHeaders = strings.Split(value, ";")
			case "Signature":
				c.signature = value
			}
		}
		if c.accessKeyID == "" || c.signature == "" || len(c.signedHeaders) == 0 {
			return c, true, faultf(incompleteSignature, http.StatusBadRequest, "the Authorization header lacks a Credential, SignedHeaders or Signature")
		}
		c.amzDate = r.Header.Get("X-Amz-Date")
		return c, true, nil
	}
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") == "" && q.Get("X-Amz-Signature") == "" {
		return credentialV2(r)
	}
	c.presigned = true
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return c, true, faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
	}
	if !c.parseScope(q.Get("X-Amz-Credential")) {
		return c, true, faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Credential %q is not ACCESSKEY/DATE/REGION/SERVICE/aws4_request", q.Get("X-Amz-Credential"))
	}
	c.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	c.signature = q.Get("X-Amz-Signature")
	c.amzDate = q.Get("X-Amz-Date")
	secs, err2 := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err2 != nil || secs < 1 || time.Duration(secs)*time.Second > maxPresignedExpiry {
		return c, true, faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Expires must be a number of seconds from 1 to 604800")
	}
	c.expires = time.Duration(secs) * time.Second
	if c.signature == "" || q.Get("X-Amz-SignedHeaders") == "" {
		return c, true, faultf(incompleteSignature, http.StatusBadRequest, "a presigned URL needs X-Amz-SignedHeaders and X-Amz-Signature")
	}
	return c, true, nil
}

// verify checks c, the signature of r, against the keys: berth's own, or
// temporary keys that sessions accept with the request's session token.
// payloadHash is the hex SHA-256 of the body, or what X-Amz-Content-Sha256
// says in its place.
func (k Keys) verify(r *http.Request, c credential, payloadHash string, now time.Time, sessions SessionKeys) (Signing, *fault) {
	if c.v2 {
		return k.verifyV2(r, c, now)
	}
	var session Session
	secret, ok := k[c.accessKeyID]
	if token := sessionToken(r, c); !ok && token != "" && sessions != nil {
		var err error
		session, secret, err = sessions.CheckSession(c.accessKeyID, token)
		switch {
		case errors.Is(err, ErrTokenExpired):
			return Signing{}, faultf(expiredToken, http.StatusForbidden, "The security token included in the request is expired")
		case errors.Is(err, ErrTokenInvalid):
			return Signing{}, faultf(unknownKey, http.StatusForbidden, "The security token included in the request is invalid.")
		case err != nil:
			return Signing{}, faultf(internalAuth, http.StatusInternalServerError, "the session credentials cannot be checked: %v", err)
		}
		ok = true
	}
	if !ok {
		return Signing{}, faultf(unknownKey, http.StatusBadRequest, "The security token included in the request is invalid: unknown access key %q", c.accessKeyID)
	}
	signedAt, err := time.Parse("20060102T150405Z", c.amzDate)
	if err != nil {
		return Signing{}, faultf(incompleteSignature, http.StatusBadRequest, "X-Amz-Date must be set as YYYYMMDDTHHMMSSZ")
	}
	if signedAt.Format("20060102") != c.date {
		return Signing{}, faultf(incompleteSignature, http.StatusBadRequest, "the credential scope's date %s is not X-Amz-Date's day %s", c.date, signedAt.Format("20060102"))
	}
	switch d := now.Sub(signedAt); {
	case c.presigned && (d > c.expires || d < -maxSkew):
		return Signing{}, faultf(expired, http.StatusForbidden, "Request has expired: signed %s, valid for %s", signedAt.Format(time.RFC3339), c.expires)
	case !c.presigned && (d > maxSkew || d < -maxSkew):
		return Signing{}, faultf(expired, http.StatusBadRequest,
			"Signature expired: %s is more than %s from the server's time %s", signedAt.Format(time.RFC3339), maxSkew, now.UTC().Format(time.RFC3339))
	}
	again, err := resign(r, c, secret, payloadHash, signedAt)
	if err != nil {
		return Signing{}, faultf(incompleteSignature, http.StatusBadRequest, "the signature cannot be checked: %v", err)
	}
	if subtle.ConstantTimeCompare([]byte(again), []byte(c.signature)) != 1 {
		return Signing{}, faultf(badSignature, http.StatusBadRequest,
			"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return Signing{AccessKeyID: c.accessKeyID, Region: c.region, Service: c.service, SignedAt: signedAt,
		Signature: c.signature, PayloadHash: payloadHash, Presigned: c.presigned, Session: session, secret: secret}, nil
}

// sessionToken is the session token r carries, in X-Amz-Security-Token (the
// header, or the query of a presigned URL).
func sessionToken(r *http.Request, c credential) string {
	if c.presigned {
		return r.URL.Query().Get("X-Amz-Security-Token")
	}
	return r.Header.Get("X-Amz-Security-Token")
}

// The signers, made once: S3 signs the path as sent, escaped once; every
// other service escapes it again.
var (
	signer   = v4.NewSigner()
	s3Signer = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
)

// resign signs a copy of r holding only what r signed, with aws-sdk-go-v2's
// signer, and returns the signature.
func resign(r *http.Request, c credential, secret, payloadHash string, at time.Time) (string, error) {
	u := *r.URL
	if c.presigned {
		q := u.Query()
		for _, name := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"} {
			q.Del(name)
		}
		u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: make(http.Header, len(c.signedHeaders)+2)}
	for _, name := range c.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			if vs := r.Header.Values(name); len(vs) > 0 {
				req.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: c.accessKeyID, SecretAccessKey: secret, SessionToken: sessionToken(r, c)}
	s := signer
	if c.service == "s3" {
		s = s3Signer
	}
	if c.presigned {
		signed, _, err := s.PresignHTTP(context.Background(), creds, req, payloadHash, c.service, c.region, at)
		if err != nil {
			return "", err
		}
		pu, err := url.Parse(signed)
		if err != nil {
			return "", err
		}
		return pu.Query().Get("X-Amz-Signature"), nil
	}
	if err := s.SignHTTP(context.Background(), creds, req, payloadHash, c.service, c.region, at); err != nil {
		return "", err
	}
	auth := req.Header.Get("Authorization")
	i := strings.LastIndex(auth, "Signature=")
	if i < 0 {
		return "", fmt.Errorf("the signer wrote no signature")
	}
	return auth[i+len("Signature="):], nil
}

// bodyHash is the hex SHA-256 of body.
func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}
