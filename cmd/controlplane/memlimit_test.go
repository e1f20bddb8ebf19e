package main

import (
	"math"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		value string
		set   bool
		env   string
		want  int64
		ok    bool
		err   bool
	}{
		{value: defaultMemoryLimit, want: 960 << 20, ok: true},
		{value: defaultMemoryLimit, env: "2GiB"},                              // GOMEMLIMIT wins over the default
		{value: "768MiB", set: true, env: "2GiB", want: 768 << 20, ok: true},  // but not over the flag
		{value: "off", set: true, want: math.MaxInt64, ok: true},              // no limit
		{value: "off", set: true, env: "2GiB", want: math.MaxInt64, ok: true}, // not even GOMEMLIMIT's
		{value: "1.5GiB", set: true, want: 1536 << 20, ok: true},
		{value: "lots", set: true, err: true},
		{value: "0", set: true, err: true},
	}
	for _, tt := range tests {
		got, ok, err := memoryLimit(tt.value, tt.set, tt.env)
		if got != tt.want || ok != tt.ok || (err != nil) != tt.err {
			t.Errorf("memoryLimit(%q, %v, %q) = %d, %v, %v; want %d, %v, error %v", tt.value, tt.set, tt.env, got, ok, err, tt.want, tt.ok, tt.err)
		}
	}
}
