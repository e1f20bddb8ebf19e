package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasvc "github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/docker/docker/api/types/build"
	dockerimage "github.com/docker/docker/api/types/image"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/engine"
	"github.com/berth/berth/agent/runtime/docker"
	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/lambda/environments"
)

// Resize keeps the aspect ratio and picks the nearest pixel.
func TestResize(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			if x >= 150 {
				src.Set(x, y, color.RGBA{R: 255, A: 255})
			}
		}
	}
	got := Resize(src, 64)
	if b := got.Bounds(); b.Dx() != 64 || b.Dy() != 42 {
		t.Fatalf("size %v, want 64x42", b)
	}
	if r, _, _, _ := got.At(10, 10).RGBA(); r != 0 {
		t.Errorf("left half: red %d", r)
	}
	if r, _, _, _ := got.At(50, 10).RGBA(); r != 0xffff {
		t.Errorf("right half: red %d", r)
	}
	if b := Resize(src, 1000).Bounds(); b.Dx() != 300 || b.Dy() != 200 {
		t.Errorf("no upscaling: %v", b)
	}
}

// The example end to end on berth and Docker: the function, built FROM
// scratch with the example's Dockerfile, is created with Lambda's API,
// allowed to be invoked by S3, and named in the photos bucket's
// notification; a PNG put there comes back as a 64-pixel-wide thumbnail
// in the thumbnails bucket, written by the function with its role's
// credentials.
func TestThumbnailOnBerth(t *testing.T) {
	ctx := context.Background()
	img := buildFunctionImage(t) // skips without Docker

	rt, err := docker.New(ctx, docker.Options{Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := cptest.Start(t, controlplane.Config{HeartbeatPeriod: 200 * time.Millisecond, Logger: log,
		Lambda: controlplane.LambdaRunnerConfig{DockerLabels: dockertest.Labels(nil), Idle: 30 * time.Second}})
	if _, err := c.ECS.CreateCluster(c.Ctx, &berthv1.CreateClusterRequest{ClusterName: environments.DefaultCluster}); err != nil {
		t.Fatal(err)
	}
	c.StartAgent(t, agent.Config{Cluster: environments.DefaultCluster, Runtime: rt, CPU: 4096, Memory: 4096, Logger: log,
		RemoveContainersOnExit: true, Engine: engine.Options{StopTimeout: 2 * time.Second}})

	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	key := c.CP.AccessKey()
	creds := credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")
	endpoint := aws.String("http://" + c.CP.HTTPAddr())
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: endpoint, UsePathStyle: true, HTTPClient: hc, Credentials: creds})
	lc := lambdasvc.New(lambdasvc.Options{Region: "us-east-1", BaseEndpoint: endpoint, HTTPClient: hc, Credentials: creds})

	for _, b := range []string{"photos", "thumbs"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatalf("bucket %s: %v", b, err)
		}
	}
	fn, err := lc.CreateFunction(ctx, &lambdasvc.CreateFunctionInput{
		FunctionName: aws.String("thumbnail"), PackageType: lambdatypes.PackageTypeImage,
		Code: &lambdatypes.FunctionCode{ImageUri: aws.String(img)}, Role: aws.String("arn:aws:iam::000000000000:role/thumbnail"),
		Timeout: aws.Int32(60), MemorySize: aws.Int32(256),
		Environment: &lambdatypes.Environment{Variables: map[string]string{"TARGET_BUCKET": "thumbs", "THUMBNAIL_WIDTH": "64"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, "the function Active", func() error {
		out, err := lc.GetFunctionConfiguration(ctx, &lambdasvc.GetFunctionConfigurationInput{FunctionName: aws.String("thumbnail")})
		if err == nil && out.State != lambdatypes.StateActive {
			err = fmt.Errorf("state %s", out.State)
		}
		return err
	})
	if _, err := lc.AddPermission(ctx, &lambdasvc.AddPermissionInput{FunctionName: aws.String("thumbnail"), StatementId: aws.String("s3-photos"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("s3.amazonaws.com"), SourceArn: aws.String("arn:aws:s3:::photos")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: aws.String("photos"),
		NotificationConfiguration: &s3types.NotificationConfiguration{LambdaFunctionConfigurations: []s3types.LambdaFunctionConfiguration{
			{LambdaFunctionArn: fn.FunctionArn, Events: []s3types.Event{"s3:ObjectCreated:*"}}}}}); err != nil {
		t.Fatal(err)
	}

	src := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for i := range src.Pix {
		src.Pix[i] = byte(i)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	const photo = "holiday pics/beach.png" // a space: S3's event carries it URL-encoded
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("photos"), Key: aws.String(photo), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatal(err)
	}
	var thumb image.Image
	poll(t, 2*time.Minute, "the thumbnail in s3://thumbs/"+Prefix+photo, func() error {
		out, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("thumbs"), Key: aws.String(Prefix + photo)})
		if err != nil {
			return err
		}
		defer out.Body.Close()
		thumb, err = png.Decode(out.Body)
		return err
	})
	if b := thumb.Bounds(); b.Dx() != 64 || b.Dy() != 42 {
		t.Errorf("thumbnail %v, want 64x42", b)
	}
}

// poll calls f every 200 ms until it returns nil, failing t after d with
// its last error.
func poll(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(d); ; time.Sleep(200 * time.Millisecond) {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
	}
}

// buildFunctionImage compiles the example and builds its image with its
// Dockerfile under a name of this test's own, labelled as a test's and
// removed when the test ends.
func buildFunctionImage(t *testing.T) string {
	t.Helper()
	cli := dockertest.Client(t)
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{{"Dockerfile", 0o644, dockerfile}, {"examples/thumbnail/bootstrap", 0o755, exe}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("berth-test/thumbnail:%d-%d", os.Getpid(), time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := cli.ImageBuild(ctx, &ctxTar, build.ImageBuildOptions{Tags: []string{tag}, Labels: dockertest.Labels(nil),
		Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := dockertest.Context()
		defer cancel()
		if _, err := cli.ImageRemove(ctx, tag, dockerimage.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
			t.Errorf("remove %s: %v", tag, err)
		}
	})
	err = docker.ReadProgress(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		t.Fatalf("build %s: %v", tag, err)
	}
	return tag
}
