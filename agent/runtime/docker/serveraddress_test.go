package docker

import "testing"

func TestServerAddress(t *testing.T) {
	for ref, want := range map[string]string{
		"127.0.0.1:7481/web:v1": "127.0.0.1:7481",
		"reg.example.com/team/app@sha256:" + "0123456789012345678901234567890123456789012345678901234567890123": "reg.example.com",
		"busybox":                 "https://index.docker.io/v1/",
		"user/app:v1":             "https://index.docker.io/v1/",
		"docker.io/library/nginx": "https://index.docker.io/v1/",
		"localhost:5000/app":      "localhost:5000",
	} {
		if got := serverAddress(ref); got != want {
			t.Errorf("serverAddress(%q) = %q, want %q", ref, got, want)
		}
	}
}
