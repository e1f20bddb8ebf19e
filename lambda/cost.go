package lambda

import (
	"sort"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Lambda's us-east-1 prices (x86): per request and per GB-second of
// duration billed at 1 ms, and the monthly free tier.
const (
	PricePerRequest      = 0.20 / 1e6
	PricePerGBSecond     = 0.0000166667
	FreeTierRequests     = 1_000_000
	FreeTierGBSeconds    = 400_000
	millisecondsPerSec   = 1000.0
	megabytesPerGigabyte = 1024.0
)

// Usage sums invocation records into each version's use and cost, and the
// total with the free tier shown apart.
func Usage(records []*berthv1.LambdaUsageRecord) *berthv1.GetFunctionUsageResponse {
	by := map[string]*berthv1.LambdaFunctionUsage{}
	out := &berthv1.GetFunctionUsageResponse{}
	for _, r := range records {
		u := by[r.GetFunctionArn()]
		if u == nil {
			u = &berthv1.LambdaFunctionUsage{FunctionArn: r.GetFunctionArn()}
			by[r.GetFunctionArn()] = u
		}
		u.Invocations++
		u.BilledMs += int64(r.GetBilledMs())
		u.GbSeconds += float64(r.GetBilledMs()) / millisecondsPerSec * float64(r.GetMemoryMb()) / megabytesPerGigabyte
		if r.GetInitDurationMs() > 0 {
			u.ColdStarts++
		}
	}
	for _, u := range by {
		u.RequestCost = float64(u.Invocations) * PricePerRequest
		u.DurationCost = u.GbSeconds * PricePerGBSecond
		u.Cost = u.RequestCost + u.DurationCost
		out.Functions = append(out.Functions, u)
		out.Requests += u.Invocations
		out.GbSeconds += u.GbSeconds
		out.Cost += u.Cost
	}
	sort.Slice(out.Functions, func(i, j int) bool { return out.Functions[i].FunctionArn < out.Functions[j].FunctionArn })
	out.FreeTierRequests = min(out.Requests, FreeTierRequests)
	out.FreeTierGbSeconds = min(out.GbSeconds, FreeTierGBSeconds)
	out.CostAfterFreeTier = float64(out.Requests-out.FreeTierRequests)*PricePerRequest + (out.GbSeconds-out.FreeTierGbSeconds)*PricePerGBSecond
	return out
}
