package ecsapi

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// BenchmarkDescribeTaskDefinition measures the handler alone, without gRPC.
func BenchmarkDescribeTaskDefinition(b *testing.B) {
	s := newServer(b)
	for range 10 {
		mustRegister(b, s, "web")
	}
	req := &berthv1.DescribeTaskDefinitionRequest{TaskDefinition: "web:3"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.DescribeTaskDefinition(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
