package ssmapi_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// syncBuffer is a log sink safe for the control plane's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Concurrent overwrites each get a version of their own, and no value, good
// or refused, reaches the control plane's log at debug level.
func TestConcurrentPutsAndNoValueInTheLog(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	var logs syncBuffer
	c := cptest.Start(t, controlplane.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	client := sdk(t, c.CP)
	ctx := context.Background()
	grpcSSM := berthv1.NewSSMClient(c.Dial(t))

	const writers = 12
	var wg sync.WaitGroup
	versions := make(chan int32, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := grpcSSM.PutParameter(c.Ctx, &berthv1.PutParameterRequest{Name: "/race", Type: "SecureString",
				Value: fmt.Sprintf("%s-%d", secret, i), Overwrite: true})
			if err != nil {
				t.Error(err)
				return
			}
			versions <- out.Version
		}()
	}
	wg.Wait()
	close(versions)
	seen := map[int32]bool{}
	for v := range versions {
		seen[v] = true
	}
	if len(seen) != writers {
		t.Fatalf("versions %v: want %d distinct", seen, writers)
	}

	for _, in := range []*ssm.PutParameterInput{
		{Name: aws.String("/race"), Value: aws.String(secret), Type: types.ParameterTypeString, Overwrite: aws.Bool(true)},
		{Name: aws.String("/p"), Value: aws.String(secret), Type: types.ParameterTypeString, AllowedPattern: aws.String(`^\d+$`)},
		{Name: aws.String("/l"), Value: aws.String(secret + ",,x"), Type: types.ParameterTypeStringList},
		{Name: aws.String("/aws/x"), Value: aws.String(secret), Type: types.ParameterTypeSecureString},
	} {
		if _, err := client.PutParameter(ctx, in); err == nil {
			t.Fatalf("%s was accepted", aws.ToString(in.Name))
		}
	}
	if _, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/race"), WithDecryption: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "call rejected") {
		t.Fatalf("the refused calls were not logged at debug level:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("a value reached the log:\n%s", logs.String())
	}
}
