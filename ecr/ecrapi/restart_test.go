package ecrapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth/berth/controlplane"
	"github.com/berth/berth/internal/cptest"
)

func startOn(t *testing.T, dir string) *controlplane.ControlPlane {
	t.Helper()
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: dir, GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
		RegistryGrace: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func stop(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cp.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// upload puts a blob into repository name through the registry's API.
func upload(t *testing.T, cp *controlplane.ControlPlane, pw, name string, blob []byte) string {
	t.Helper()
	sum := sha256.Sum256(blob)
	d := "sha256:" + hex.EncodeToString(sum[:])
	base := "http://" + cp.RegistryAddr()
	do := func(method, url string, body []byte) *http.Response {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.SetBasicAuth("AWS", pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := do(http.MethodPost, base+"/v2/"+name+"/blobs/uploads/", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("start upload: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	if loc[0] == '/' {
		loc = base + loc
	}
	sep := "?"
	if bytes.ContainsRune([]byte(loc), '?') {
		sep = "&"
	}
	if resp := do(http.MethodPut, loc+sep+"digest="+d, blob); resp.StatusCode != http.StatusCreated {
		t.Fatalf("finish upload: %s", resp.Status)
	}
	return d
}

// image uploads a config and a layer and returns an OCI manifest naming them.
func image(t *testing.T, cp *controlplane.ControlPlane, pw, name, content string) (manifest string, blobs []string) {
	t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"c":"` + content + `"}}}`)
	layer := bytes.Repeat([]byte(content), 1<<16)
	cd, ld := upload(t, cp, pw, name, config), upload(t, cp, pw, name, layer)
	return fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%d}]}`, cd, len(config), ld, len(layer)), []string{cd, ld}
}

func blobOnDisk(dir, d string) bool {
	hexPart := d[len("sha256:"):]
	_, err := os.Stat(filepath.Join(dir, "registry", "docker/registry/v2/blobs/sha256", hexPart[:2], hexPart, "data"))
	return err == nil
}

// TestImagesSurviveRestartAndDeletedBlobsAreCollected: images pushed before
// a restart are there after it; deleting one frees its blobs on disk and
// keeps the other's.
func TestImagesSurviveRestartAndDeletedBlobsAreCollected(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	dir := t.TempDir()
	ctx := context.Background()
	cp := startOn(t, dir)
	c := sdk(t, cp)
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	pw := password(t, c)
	keep, keepBlobs := image(t, cp, pw, "web", "a")
	drop, dropBlobs := image(t, cp, pw, "web", "b")
	for tag, m := range map[string]string{"keep": keep, "drop": drop} {
		if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String(tag), ImageManifest: aws.String(m)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("web"), ImageTag: aws.String("keep"), ImageManifest: aws.String(keep)})
	wantException(t, "the same image and tag again", err, "ImageAlreadyExistsException", "keep")
	stop(t, cp)

	cp = startOn(t, dir)
	defer stop(t, cp)
	c = sdk(t, cp)
	imgs, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(imgs.ImageDetails) != 2 {
		t.Fatalf("after the restart DescribeImages = %+v, %v; want 2 images", imgs, err)
	}
	del, err := c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("drop")}, {ImageTag: aws.String("gone")}}})
	if err != nil || len(del.ImageIds) != 1 || len(del.Failures) != 1 || del.Failures[0].FailureCode != types.ImageFailureCodeImageNotFound {
		t.Fatalf("BatchDeleteImage = %+v, %v", del, err)
	}
	cptest.Eventually(t, "the deleted image's blobs are collected", func() bool {
		return !blobOnDisk(dir, dropBlobs[0]) && !blobOnDisk(dir, dropBlobs[1])
	})
	for _, d := range keepBlobs {
		if !blobOnDisk(dir, d) {
			t.Errorf("blob %s of the kept image was removed", d)
		}
	}
	list, err := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(list.ImageIds) != 1 || aws.ToString(list.ImageIds[0].ImageTag) != "keep" {
		t.Errorf("ListImages = %+v, %v", list, err)
	}
}
