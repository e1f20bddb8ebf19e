package awsapi

import (
	"net/http"
	"testing"
	"time"
)

// S3's documented example of query string authentication (version 2).
func TestPresignedV2(t *testing.T) {
	keys := Keys{"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	r, _ := http.NewRequest(http.MethodGet,
		"http://127.0.0.1/johnsmith/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D", nil)
	c, ok, err := credentialOf(r)
	if !ok || err != nil || !c.v2 || c.service != "s3" {
		t.Fatalf("%+v %v %v", c, ok, err)
	}
	if _, f := keys.verify(r, c, UnsignedPayload, time.Unix(1175139000, 0), nil); f != nil {
		t.Fatalf("documented example: %v", f)
	}
	if _, f := keys.verify(r, c, UnsignedPayload, time.Unix(1175139621, 0), nil); f == nil || f.kind != expired {
		t.Fatalf("expired: %v", f)
	}
	r.URL.Path = "/johnsmith/photos/kitten.jpg"
	if _, f := keys.verify(r, c, UnsignedPayload, time.Unix(1175139000, 0), nil); f == nil || f.kind != badSignature {
		t.Fatalf("another key: %v", f)
	}
}
