package store

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkApplyParallel measures durable registrations from many goroutines
// (group commit).
func BenchmarkApplyParallel(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Apply(context.Background(), registerCmd("web")); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTaskDefinition measures reading one revision.
func BenchmarkTaskDefinition(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for range 100 {
		s.Apply(context.Background(), registerCmd("web"))
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.TaskDefinition("web", 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
