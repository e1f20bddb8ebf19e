package taskendpoint

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkTaskMetadata is the handler's own cost of ${URI}/task and of the
// credentials, without the network.
func BenchmarkTaskMetadata(b *testing.B) {
	s, _ := New(Config{})
	defer s.Close()
	a := testAssignment(testTaskARN, "host")
	env := s.Environment(a, "app")
	s.TaskChanged(a, testStateChange(testTaskARN))
	h := &handler{s: s}
	for _, c := range []struct{ name, url, auth string }{
		{"task", env[EnvMetadataV4] + "/task", ""},
		{"credentials", env[EnvCredentialsFullURI], env[EnvAuthorizationToken]},
	} {
		path := c.url[strings.Index(c.url[len("http://"):], "/")+len("http://"):]
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("Authorization", c.auth)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
