package controlplane_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

// TestScopedTokensOnFunctionURLs: an AWS_IAM function URL refuses a
// request signed with a viewer's or a deployer's credentials (Lambda's
// 403 Forbidden, before the function is touched), and takes an admin
// token's as it takes the account's keys.
func TestScopedTokensOnFunctionURLs(t *testing.T) {
	c := cptest.Start(t, controlplane.Config{})
	conn := c.Dial(t)
	lc := berthv1.NewLambdaClient(conn)
	if _, err := lc.CreateFunction(c.Ctx, &berthv1.LambdaCreateFunctionRequest{FunctionName: "web", PackageType: "Image",
		Code: &berthv1.LambdaFunctionCode{ImageUri: "berth/web:latest"}, Role: "arn:aws:iam::000000000000:role/web"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := lc.CreateFunctionUrlConfig(c.Ctx, &berthv1.LambdaCreateFunctionUrlConfigRequest{FunctionName: "web", AuthType: "AWS_IAM"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.GetFunctionUrl())
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(u.Hostname(), ".")

	tokens := berthv1.NewAccessTokensClient(conn)
	mk := func(req *berthv1.CreateAccessTokenRequest) aws.Credentials {
		t.Helper()
		resp, err := tokens.CreateAccessToken(c.Ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return aws.Credentials{AccessKeyID: resp.GetAccessKeyId(), SecretAccessKey: resp.GetSecretAccessKey(), SessionToken: resp.GetToken()}
	}
	viewer := mk(&berthv1.CreateAccessTokenRequest{Scope: "viewer"})
	deployer := mk(&berthv1.CreateAccessTokenRequest{Scope: "deployer", Services: []string{"web"}, Families: []string{"web"}})
	admin := mk(&berthv1.CreateAccessTokenRequest{Scope: "admin"})
	key := c.CP.AccessKey()
	account := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}

	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	// call signs a POST to the URL for lambda: the status and body (a
	// request let through gets 502, as the function's image does not
	// exist here), or "no answer" when nothing came back in time.
	call := func(creds aws.Credentials) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		body := []byte(`{"hello":"world"}`)
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+c.CP.LambdaURLAddr()+"/"+id+"/", bytes.NewReader(body))
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])
		req.Header.Set("X-Amz-Content-Sha256", h)
		if err := v4.NewSigner().SignHTTP(ctx, creds, req, h, "lambda", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if errors.Is(err, context.DeadlineExceeded) {
			return "no answer"
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(b)
	}
	const forbidden = `403 Forbidden {"Message":"Forbidden"}`
	for name, creds := range map[string]aws.Credentials{"viewer": viewer, "deployer": deployer} {
		if got := call(creds); got != forbidden {
			t.Errorf("%s's credentials on an AWS_IAM function URL: %s, want %s", name, got, forbidden)
		}
	}
	want := call(account)
	if want == forbidden {
		t.Fatalf("the account's keys on an AWS_IAM function URL: %s", want)
	}
	if got := call(admin); got != want {
		t.Errorf("an admin token's credentials on an AWS_IAM function URL: %s, want as the account's keys: %s", got, want)
	}
	revoked := mk(&berthv1.CreateAccessTokenRequest{Scope: "admin"})
	if _, err := tokens.RevokeAccessToken(c.Ctx, &berthv1.RevokeAccessTokenRequest{Id: revoked.SessionToken}); err != nil {
		t.Fatal(err)
	}
	if got := call(revoked); got != forbidden {
		t.Errorf("a revoked admin token's credentials: %s, want %s", got, forbidden)
	}
}
