package controlplane_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// With throttling on, ECS's documented buckets hold on both wires: the
// 51st cluster read in a burst is refused (ResourceExhausted with a retry
// hint on gRPC, ThrottlingException with HTTP 400 on the JSON wire), other
// categories are untouched, and the SDK's own retries get through.
func TestThrottlingAsECS(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{Throttle: true})
	var refused error
	for i := 0; i < 1000 && refused == nil; i++ { // 50 at once, then 20 a second
		_, refused = c.ECS.ListClusters(c.Ctx, &berthv1.ListClustersRequest{})
	}
	st, _ := status.FromError(refused)
	if st.Code() != codes.ResourceExhausted || st.Message() != "Rate exceeded" {
		t.Fatalf("a burst of ListClusters: %v, want ResourceExhausted: Rate exceeded", refused)
	}
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("no RetryInfo in %v", st.Details())
	}
	if _, err := c.ECS.ListServices(c.Ctx, &berthv1.ListServicesRequest{}); err != nil {
		t.Fatalf("a service read while cluster reads are spent: %v", err)
	}

	httpClient := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(httpClient.CloseIdleConnections)
	key := c.CP.AccessKey()
	client := func(retries int) *ecs.Client {
		return ecs.New(ecs.Options{
			Region:           "us-east-1",
			BaseEndpoint:     aws.String("http://" + c.CP.HTTPAddr()),
			Credentials:      credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, ""),
			HTTPClient:       httpClient,
			RetryMaxAttempts: retries,
		})
	}
	ctx := context.Background()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = client(1).DescribeClusters(ctx, &ecs.DescribeClustersInput{})
	}
	var api smithy.APIError
	var resp *smithyhttp.ResponseError
	if !errors.As(err, &api) || api.ErrorCode() != "ThrottlingException" || api.ErrorMessage() != "Rate exceeded" ||
		!errors.As(err, &resp) || resp.HTTPStatusCode() != http.StatusBadRequest {
		t.Fatalf("DescribeClusters over the limit on the JSON wire: %v", err)
	}
	// The SDK's standard retry mode backs off and succeeds once a token is
	// back (20 a second).
	if _, err := client(5).DescribeClusters(ctx, &ecs.DescribeClustersInput{}); err != nil {
		t.Fatalf("DescribeClusters with the SDK's retries: %v", err)
	}
}
