package hollow

import (
	"testing"
	"time"
)

func TestParseBehavior(t *testing.T) {
	tests := []struct {
		argv []string
		want behavior
	}{
		{nil, behavior{}},
		{[]string{"serve", ":8080"}, behavior{}},
		{[]string{"/testapp", "sleep", "2s"}, behavior{exits: true, exitAfter: 2 * time.Second}},
		{[]string{"exit", "42"}, behavior{exits: true, exitCode: 42}},
		{[]string{"exit", "3", "1m"}, behavior{exits: true, exitCode: 3, exitAfter: time.Minute}},
		{[]string{"alloc", "100M"}, behavior{allocMiB: 100}},
		{[]string{"alloc", "1G"}, behavior{allocMiB: 1024}},
		{[]string{"trap-sigterm", "5s"}, behavior{trapsTerm: true, termGrace: 5 * time.Second}},
	}
	for _, tt := range tests {
		if got := parseBehavior(tt.argv); got != tt.want {
			t.Errorf("parseBehavior(%q) = %+v, want %+v", tt.argv, got, tt.want)
		}
	}
}

func TestProbePasses(t *testing.T) {
	tests := []struct {
		test []string
		want bool
	}{
		{[]string{"CMD", "/testapp", "health", "http://127.0.0.1:8080/"}, true},
		{[]string{"CMD", "/testapp", "exit", "0"}, true},
		{[]string{"CMD", "/testapp", "exit", "1"}, false},
		{[]string{"CMD-SHELL", "testapp exit 1"}, false},
		{[]string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, true},
	}
	for _, tt := range tests {
		if got := probePasses(tt.test); got != tt.want {
			t.Errorf("probePasses(%q) = %v, want %v", tt.test, got, tt.want)
		}
	}
}
