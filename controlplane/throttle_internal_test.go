package controlplane

import (
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

func TestFargateLaunches(t *testing.T) {
	item := func(p string, base, weight int32) *berthv1.CapacityProviderStrategyItem {
		return &berthv1.CapacityProviderStrategyItem{CapacityProvider: p, Base: base, Weight: weight}
	}
	for _, tc := range []struct {
		name           string
		req            *berthv1.RunTaskRequest
		onDemand, spot int
	}{
		{"EC2", &berthv1.RunTaskRequest{Count: 5, LaunchType: "EC2"}, 0, 0},
		{"FARGATE, count 0 is 1", &berthv1.RunTaskRequest{LaunchType: "FARGATE"}, 1, 0},
		{"FARGATE", &berthv1.RunTaskRequest{Count: 10, LaunchType: "FARGATE"}, 10, 0},
		{"cluster default strategy", &berthv1.RunTaskRequest{Count: 3}, 0, 0},
		{"weights 1:1", &berthv1.RunTaskRequest{Count: 10, CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			item("FARGATE", 0, 1), item("FARGATE_SPOT", 0, 1)}}, 5, 5},
		{"base then weights, rounded up", &berthv1.RunTaskRequest{Count: 10, CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			item("FARGATE", 2, 1), item("FARGATE_SPOT", 0, 3)}}, 4, 6},
		{"an EC2 provider's share is not Fargate's", &berthv1.RunTaskRequest{Count: 4, CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			item("mine", 0, 1), item("FARGATE_SPOT", 0, 1)}}, 0, 2},
		{"base over count", &berthv1.RunTaskRequest{Count: 2, CapacityProviderStrategy: []*berthv1.CapacityProviderStrategyItem{
			item("FARGATE", 5, 1)}}, 2, 0},
	} {
		od, spot := fargateLaunches(tc.req)
		if od != tc.onDemand || spot != tc.spot {
			t.Errorf("%s: %d On-Demand and %d Spot, want %d and %d", tc.name, od, spot, tc.onDemand, tc.spot)
		}
	}
}
