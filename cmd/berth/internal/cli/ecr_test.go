package cli_test

import (
	"net/http"
	"strings"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Repositories and the registry's password through berth ecr, named and
// flagged as aws ecr's.
func TestECRCommands(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	e := newEnv(t)
	var created berthv1.CreateRepositoryResponse
	e.decode(t, &created, "ecr", "create-repository", "--repository-name", "web", "--image-tag-mutability", "IMMUTABLE",
		"--image-scanning-configuration", "scanOnPush=true", "--tags", "Key=team,Value=front")
	r := created.GetRepository()
	if r.GetRepositoryUri() != "000000000000.dkr.ecr.us-east-1.amazonaws.com/web" || r.GetImageTagMutability() != "IMMUTABLE" ||
		!r.GetImageScanningConfiguration().GetScanOnPush() {
		t.Errorf("create-repository = %v", r)
	}
	var described berthv1.DescribeRepositoriesResponse
	e.decode(t, &described, "ecr", "describe-repositories", "--repository-names", "web")
	if len(described.GetRepositories()) != 1 || described.GetRepositories()[0].GetRepositoryArn() != "arn:aws:ecr:us-east-1:000000000000:repository/web" {
		t.Errorf("describe-repositories = %v", &described)
	}
	var list berthv1.ListImagesResponse
	e.decode(t, &list, "ecr", "list-images", "--repository-name", "web")
	if len(list.GetImageIds()) != 0 {
		t.Errorf("list-images of a new repository = %v", &list)
	}
	e.berth("ecr", "create-repository", "--repository-name", "web").fails(t, 1, "already exists")
	e.berth("ecr", "describe-images").fails(t, 2, "--repository-name")
	e.berth("ecr", "get-lifecycle-policy-preview", "--repository-name", "web").fails(t, 1, "no dry run")

	// get-login-password prints the password alone, which the registry takes
	// as AWS's Basic credential.
	pw := strings.TrimSuffix(e.ok(t, "ecr", "get-login-password"), "\n")
	if pw == "" || strings.ContainsAny(pw, " \n:") {
		t.Fatalf("get-login-password printed %q", pw)
	}
	for _, c := range []struct {
		pw   string
		want int
	}{{pw, http.StatusOK}, {pw + "x", http.StatusUnauthorized}} {
		req, err := http.NewRequest(http.MethodGet, "http://"+e.CP.RegistryAddr()+"/v2/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("AWS", c.pw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET /v2/ with the password %q: %d, want %d", c.pw, resp.StatusCode, c.want)
		}
	}
	var deleted berthv1.DeleteRepositoryResponse
	e.decode(t, &deleted, "ecr", "delete-repository", "--repository-name", "web")
	if deleted.GetRepository().GetRepositoryName() != "web" {
		t.Errorf("delete-repository = %v", &deleted)
	}
}
