package ecrapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/internal/cptest"
	"github.com/berth/berth/internal/dockertest"
	"github.com/berth/berth/internal/testimage"
	"github.com/berth/berth/store"
)

// dockerCLI runs the docker CLI with its own config dir (where docker login
// keeps the credential), returning its combined output.
func dockerCLI(t *testing.T, configDir, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"--config", configDir}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func password(t *testing.T, c *ecr.Client) string {
	t.Helper()
	out, err := c.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.AuthorizationData[0].AuthorizationToken))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(string(b), "AWS:")
}

// TestDockerPushAndPull: docker login with ECR's token, push, list with the
// ECR API, pull after the local copy is gone; an immutable tag refuses a
// different image; a repository that does not exist refuses a push.
func TestDockerPushAndPull(t *testing.T) {
	cli := dockertest.Client(t)
	app, other := testimage.Image(t), testimage.Busybox(t)
	cp := start(t)
	c := sdk(t, cp)
	ctx := context.Background()
	reg := cp.RegistryAddr()
	cfgDir := t.TempDir()

	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web"), ImageTagMutability: types.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	if out, err := dockerCLI(t, cfgDir, password(t, c), "login", "--username", "AWS", "--password-stdin", reg); err != nil {
		t.Fatalf("docker login: %v\n%s", err, out)
	}
	ref := reg + "/web:v1"
	testimage.Tag(t, app, ref)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch := cp.Store().Watch(wctx)
	if out, err := dockerCLI(t, cfgDir, "", "push", ref); err != nil {
		t.Fatalf("docker push: %v\n%s", err, out)
	}

	imgs, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("web")})
	if err != nil || len(imgs.ImageDetails) != 1 {
		t.Fatalf("DescribeImages = %+v, %v", imgs, err)
	}
	d := imgs.ImageDetails[0]
	if len(d.ImageTags) != 1 || d.ImageTags[0] != "v1" || !strings.HasPrefix(aws.ToString(d.ImageDigest), "sha256:") ||
		aws.ToInt64(d.ImageSizeInBytes) <= 0 || d.ImagePushedAt == nil || aws.ToString(d.ImageManifestMediaType) == "" {
		t.Errorf("image detail = %+v", d)
	}
	// The push is an "ECR Image Action" event, on the store's watch and in
	// the event log.
	want := `{"result":"SUCCESS","repository-name":"web","image-digest":"` + aws.ToString(d.ImageDigest) + `","action-type":"PUSH","image-tag":"v1"}`
	var pushed *berthv1.EventLogRecord
	cptest.Eventually(t, "the push's event on the store's watch", func() bool {
		for {
			select {
			case ev := <-watch:
				if ev.Kind == store.KindEventLog {
					pushed = ev.Value.(*berthv1.EventLogRecord)
					return true
				}
			default:
				return false
			}
		}
	})
	if pushed.GetSource() != "aws.ecr" || pushed.GetDetailType() != "ECR Image Action" || pushed.GetDetail() != want ||
		pushed.GetAccount() != "000000000000" || pushed.GetRegion() != "us-east-1" || len(pushed.GetId()) != 36 || pushed.GetTime() == 0 {
		t.Errorf("image pushed event = %v, want detail %s", pushed, want)
	}
	logged, err := cp.Store().EventLog(0, 100)
	if err != nil || len(logged) != 1 || logged[0].GetId() != pushed.GetId() {
		t.Errorf("event log = %v, %v; want the one push", logged, err)
	}
	inspect, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if !containsSuffix(inspect.RepoDigests, "@"+aws.ToString(d.ImageDigest)) {
		t.Errorf("docker's repo digests %v do not name %s", inspect.RepoDigests, aws.ToString(d.ImageDigest))
	}

	// Another image under the same tag of an immutable repository.
	testimage.Tag(t, other, reg+"/web:v1-other")
	if out, err := dockerCLI(t, cfgDir, "", "tag", other, ref); err != nil {
		t.Fatalf("docker tag: %v\n%s", err, out)
	}
	out, err := dockerCLI(t, cfgDir, "", "push", ref)
	if err == nil || !strings.Contains(out, "cannot be overwritten because the repository is immutable") {
		t.Errorf("push over an immutable tag: %v\n%s", err, out)
	}
	if logged, err := cp.Store().EventLog(0, 100); err != nil || len(logged) != 1 {
		t.Errorf("a refused push is in the event log: %v, %v", logged, err)
	}

	// Pull after the local name is gone.
	if _, err := dockerCLI(t, cfgDir, "", "rmi", ref); err != nil {
		t.Fatal(err)
	}
	if out, err := dockerCLI(t, cfgDir, "", "pull", ref); err != nil {
		t.Fatalf("docker pull: %v\n%s", err, out)
	}
	dockertest.RemoveImageOnCleanup(t, cli, ref)

	// A repository that was never created.
	testimage.Tag(t, app, reg+"/nope:v1")
	out, err = dockerCLI(t, cfgDir, "", "push", reg+"/nope:v1")
	if err == nil || !strings.Contains(out, "does not exist in the registry") {
		t.Errorf("push to a missing repository: %v\n%s", err, out)
	}
}

func containsSuffix(list []string, suffix string) bool {
	for _, s := range list {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

// TestRegistryRefusesWithoutAValidToken: anonymous, forged, another
// berth's and a wrong user's requests are 401 with Basic's challenge.
func TestRegistryRefusesWithoutAValidToken(t *testing.T) {
	cp, other := start(t), start(t)
	good := password(t, sdk(t, cp))
	foreign := password(t, sdk(t, other))
	for _, tc := range []struct {
		what, user, password string
		want                 int
	}{
		{"anonymous", "", "", http.StatusUnauthorized},
		{"another berth's token", "AWS", foreign, http.StatusUnauthorized},
		{"a changed token", "AWS", good[:len(good)-2] + "xx", http.StatusUnauthorized},
		{"another user", "root", good, http.StatusUnauthorized},
		{"the token", "AWS", good, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+cp.RegistryAddr()+"/v2/", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.what, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: challenge %q, want Basic", tc.what, resp.Header.Get("WWW-Authenticate"))
		}
	}

	// The credential a task brings pulls and never pushes.
	pulls := cp.ECR().ImagePulls(&berthv1.TaskDefinition{ContainerDefinitions: []*berthv1.ContainerDefinition{
		{Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:v1"}, {Image: "busybox"}}})
	if len(pulls) != 1 || pulls[0].GetRef() != cp.RegistryAddr()+"/web:v1" || pulls[0].GetUser() != "AWS" {
		t.Fatalf("ImagePulls = %v", pulls)
	}
	for method, want := range map[string]int{http.MethodGet: http.StatusOK, http.MethodPost: http.StatusForbidden} {
		url := "http://" + cp.RegistryAddr() + "/v2/"
		if method == http.MethodPost {
			url += "web/blobs/uploads/"
		}
		req, _ := http.NewRequest(method, url, nil)
		req.SetBasicAuth("AWS", pulls[0].GetPassword())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("a task's credential, %s %s: status %d, want %d", method, url, resp.StatusCode, want)
		}
	}
}
