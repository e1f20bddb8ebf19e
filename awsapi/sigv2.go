package awsapi

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// S3's query-string authentication of signature version 2: the presigned
// URLs `aws s3 presign` makes (botocore presigns S3 with it unless told
// otherwise): AWSAccessKeyId, Expires (seconds since the epoch) and
// Signature, the base64 HMAC-SHA1 of the request's description.

// v2Subresources are the query parameters S3's version 2 signature covers.
var v2Subresources = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true, "logging": true, "notification": true,
	"partNumber": true, "policy": true, "requestPayment": true, "restore": true, "tagging": true, "torrent": true,
	"uploadId": true, "uploads": true, "versionId": true, "versioning": true, "versions": true, "website": true,
	"response-content-type": true, "response-content-language": true, "response-expires": true,
	"response-cache-control": true, "response-content-disposition": true, "response-content-encoding": true,
}

// credentialV2 reads a version 2 presigned query, if r has one.
func credentialV2(r *http.Request) (c credential, ok bool, err *fault) {
	q := r.URL.Query()
	if q.Get("AWSAccessKeyId") == "" || q.Get("Signature") == "" {
		return c, false, nil
	}
	c.v2, c.presigned, c.service = true, true, "s3"
	c.accessKeyID, c.signature = q.Get("AWSAccessKeyId"), q.Get("Signature")
	secs, perr := strconv.ParseInt(q.Get("Expires"), 10, 64)
	if perr != nil {
		return c, true, faultf(incompleteSignature, http.StatusBadRequest, "Expires must be a time in seconds since the epoch")
	}
	c.expiresAt = time.Unix(secs, 0)
	return c, true, nil
}

// verifyV2 checks a version 2 presigned request.
func (k Keys) verifyV2(r *http.Request, c credential, now time.Time) (Signing, *fault) {
	secret, ok := k[c.accessKeyID]
	if !ok {
		return Signing{}, faultf(unknownKey, http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records.")
	}
	if now.After(c.expiresAt) {
		return Signing{}, faultf(expired, http.StatusForbidden, "Request has expired")
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(stringToSignV2(r, strconv.FormatInt(c.expiresAt.Unix(), 10))))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.signature)) != 1 {
		return Signing{}, faultf(badSignature, http.StatusForbidden,
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
	}
	return Signing{AccessKeyID: c.accessKeyID, Service: "s3", SignedAt: now, Signature: c.signature,
		PayloadHash: UnsignedPayload, Presigned: true, secret: secret}, nil
}

// stringToSignV2 is what S3's version 2 signature signs of r.
func stringToSignV2(r *http.Request, expires string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" + expires + "\n")
	var amz []string
	for name, vs := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-amz-") {
			amz = append(amz, l+":"+strings.Join(vs, ","))
		}
	}
	sort.Strings(amz)
	for _, h := range amz {
		b.WriteString(h + "\n")
	}
	b.WriteString(r.URL.EscapedPath())
	q := r.URL.Query()
	var subs []string
	for name := range q {
		if v2Subresources[name] {
			subs = append(subs, name)
		}
	}
	sort.Strings(subs)
	for i, name := range subs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(name)
		if v := q.Get(name); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}
