package secretref

import (
	"context"
	"testing"

	"github.com/berth/berth/arn"
)

// source records what it was asked.
type source struct{ asked []string }

func (s *source) Resolve(_ context.Context, valueFrom string) (string, error) {
	s.asked = append(s.asked, valueFrom)
	return "v", nil
}

func TestResolveRoutesByService(t *testing.T) {
	ssm, sm := &source{}, &source{}
	r := Resolver{ARNs: arn.Default, SSM: ssm, SecretsManager: sm}
	ctx := context.Background()
	for _, ok := range []string{
		"db-password", "/prod/db:3",
		"arn:aws:ssm:us-east-1:000000000000:parameter/prod/db",
		"arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbC123:password::",
	} {
		if _, err := r.Resolve(ctx, ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if len(ssm.asked) != 3 || len(sm.asked) != 1 {
		t.Fatalf("ssm asked %v, secrets manager asked %v", ssm.asked, sm.asked)
	}
	for _, bad := range []string{
		"",
		"arn:aws:ssm:eu-west-1:000000000000:parameter/x",
		"arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbC123",
		"arn:aws:s3:::bucket/key",
		"arn:aws",
	} {
		if _, err := r.Resolve(ctx, bad); err == nil {
			t.Errorf("%q resolved", bad)
		}
	}
}
