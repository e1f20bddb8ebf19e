package cli_test

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/lambda/invoke"
)

// echo is an Invoker that answers the payload.
type echo struct{}

func (echo) Invoke(ctx context.Context, req invoke.Request) (invoke.Result, error) {
	return invoke.Result{Payload: req.Payload, Duration: time.Millisecond}, nil
}

// Functions through berth lambda, named and flagged as aws lambda's:
// create-function (image, and a zip with --zip-file), get-function,
// list-functions, invoke (to a file and to standard output),
// delete-function.
func TestLambdaCommands(t *testing.T) {
	dir := t.TempDir()
	e := &env{Cluster: cptest.Start(t, controlplane.Config{DataDir: dir, LambdaInvoker: echo{}}), dataDir: dir}
	e.vars = map[string]string{"BERTH_ENDPOINT": e.CP.GRPCAddr(), "BERTH_TOKEN": e.CP.AdminToken()}
	role := "arn:aws:iam::000000000000:role/r"
	var created berthv1.LambdaFunctionConfiguration
	e.decode(t, &created, "lambda", "create-function", "--function-name", "img", "--role", role, "--package-type", "Image", "--code", "ImageUri=local/fn:1", "--memory-size", "256")
	if created.State != "Pending" || created.MemorySize != 256 || created.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:img" {
		t.Fatalf("create-function: %v", &created)
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("bootstrap")
	f.Write([]byte("x"))
	w.Close()
	zipPath := filepath.Join(t.TempDir(), "fn.zip")
	if err := os.WriteFile(zipPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok(t, "lambda", "create-function", "--function-name", "zipped", "--role", role, "--runtime", "provided.al2023", "--handler", "bootstrap", "--zip-file", "fileb://"+zipPath)
	if r := e.berth("lambda", "create-function", "--function-name", "bad", "--role", role, "--runtime", "provided.al2023", "--handler", "bootstrap", "--zip-file", "fileb://"+filepath.Join(dir, "admin.token")); r.code != 1 || !strings.Contains(r.stderr, "Could not unzip") {
		t.Fatalf("a file that is not a zip: %+v", r)
	}
	cptest.Eventually(t, "img Active", func() bool {
		var got berthv1.LambdaGetFunctionResponse
		e.decode(t, &got, "lambda", "get-function", "--function-name", "img")
		return got.GetConfiguration().GetState() == "Active"
	})
	var list berthv1.LambdaListFunctionsResponse
	e.decode(t, &list, "lambda", "list-functions")
	if len(list.Functions) != 2 {
		t.Fatalf("list-functions: %v", &list)
	}
	out := filepath.Join(t.TempDir(), "out.json")
	r := e.berth("lambda", "invoke", "--function-name", "img", "--payload", `{"hello":"world"}`, out)
	if r.code != 0 || !strings.Contains(r.stdout, `"StatusCode": 200`) || !strings.Contains(r.stdout, `"ExecutedVersion": "$LATEST"`) {
		t.Fatalf("invoke: %+v", r)
	}
	if b, _ := os.ReadFile(out); string(b) != `{"hello":"world"}` {
		t.Fatalf("invoke wrote %q", b)
	}
	if r := e.berth("lambda", "invoke", "--function-name", "img", "--payload", `{"a":1}`, "-"); r.code != 0 || strings.TrimSpace(r.stdout) != `{"a":1}` {
		t.Fatalf("invoke to stdout: %+v", r)
	}
	if r := e.berth("lambda", "invoke", "--function-name", "nope", "-"); r.code != 1 || !strings.Contains(r.stderr, "Function not found") {
		t.Fatalf("invoke of a missing function: %+v", r)
	}
	e.ok(t, "lambda", "delete-function", "--function-name", "img")
	if r := e.berth("lambda", "get-function", "--function-name", "img"); r.code != 1 || !strings.Contains(r.stderr, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:img") {
		t.Fatalf("get-function after delete: %+v", r)
	}
	if r := e.berth("lambda", "get-function"); r.code != 2 || !strings.Contains(r.stderr, "--function-name") {
		t.Fatalf("without --function-name: %+v", r)
	}
}
