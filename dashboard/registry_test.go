package dashboard_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/dashboard"
	"github.com/berth/berth/internal/cptest"
)

// pushImage creates ECR repository repo and pushes a random image to it as
// tag; it returns the repository's URI and the image's digest.
func (e *env) pushImage(t testing.TB, repo, tag string) (uri, digest string) {
	t.Helper()
	ecr := berthv1.NewECRClient(e.Dial(t))
	created, err := ecr.CreateRepository(e.Ctx, &berthv1.CreateRepositoryRequest{RepositoryName: repo})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ecr.GetAuthorizationToken(e.Ctx, &berthv1.GetAuthorizationTokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(tok.GetAuthorizationData()[0].GetAuthorizationToken())
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(e.CP.RegistryAddr()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	pw := strings.TrimPrefix(string(b), "AWS:")
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "AWS", Password: pw}), remote.WithContext(e.Ctx)); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return created.GetRepository().GetRepositoryUri(), d.String()
}

// TestRegistryView: the Registry view lists each repository with its images
// and the cluster's tasks whose containers run one of them.
func TestRegistryView(t *testing.T) {
	e := start(t, 1, dashboard.InstanceType{Name: "m5.large", CPU: 2048, Memory: 8192})
	webURI, webDigest := e.pushImage(t, "web", "v1")
	e.pushImage(t, "unused", "latest")

	td, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family: "site",
		ContainerDefinitions: []*berthv1.ContainerDefinition{
			{Name: "app", Image: webURI + ":v1", Memory: proto.Int32(64)},
			{Name: "proxy", Image: "berth/proxy", Memory: proto.Int32(64)},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: td.GetTaskDefinition().GetFamily()})
	if err != nil {
		t.Fatal(err)
	}
	taskID := run.GetTasks()[0].GetTaskArn()
	taskID = taskID[strings.LastIndex(taskID, "/")+1:]

	var reg dashboard.Registry
	cptest.Eventually(t, "the task shows under its repository", func() bool {
		reg = dashboard.Registry{}
		if code := e.get(t, "/dashboard/api/registry?cluster=default", &reg); code != http.StatusOK {
			t.Fatalf("registry: HTTP %d", code)
		}
		return len(reg.Repositories) == 2 && len(reg.Repositories[1].Tasks) == 1
	})
	unused, web := reg.Repositories[0], reg.Repositories[1]
	if unused.Name != "unused" || web.Name != "web" || web.URI != webURI {
		t.Fatalf("repositories %+v, want unused then web (%s)", reg.Repositories, webURI)
	}
	if len(web.Images) != 1 {
		t.Fatalf("web's images = %+v, want one", web.Images)
	}
	img := web.Images[0]
	if img.Digest != webDigest || len(img.Tags) != 1 || img.Tags[0] != "v1" || img.Size <= 1024 || img.PushedAt <= 0 {
		t.Errorf("web's image = %+v, want %s tagged v1, over 1024 bytes, with a push time", img, webDigest)
	}
	use := web.Tasks[0]
	if use.Task != taskID || len(use.Containers) != 1 || use.Containers[0] != "app" || use.Images[0] != webURI+":v1" {
		t.Errorf("web's task = %+v, want %s's app running %s:v1", use, taskID, webURI)
	}
	if len(unused.Tasks) != 0 || len(unused.Images) != 1 {
		t.Errorf("unused = %+v, want one image and no tasks", unused)
	}

	var bad map[string]any
	if code := e.get(t, "/dashboard/api/registry?cluster=nope", &bad); code != http.StatusNotFound {
		t.Errorf("an unknown cluster: HTTP %d, want 404", code)
	}
}

// TestBrowserRegistry: the Registry tab shows a repository's image and the
// task that runs it, and a task started while it is open appears without a
// reload.
func TestBrowserRegistry(t *testing.T) {
	ctx := browser(t, 1400, 900)
	e := start(t, 1, m5large)
	uri, digest := e.pushImage(t, "web", "v1")
	td, err := e.ECS.RegisterTaskDefinition(e.Ctx, &berthv1.RegisterTaskDefinitionRequest{
		Family:               "site",
		ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: uri + ":v1", Memory: proto.Int32(64)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	runTask := func() string {
		t.Helper()
		run, err := e.ECS.RunTask(e.Ctx, &berthv1.RunTaskRequest{TaskDefinition: td.GetTaskDefinition().GetFamily()})
		if err != nil {
			t.Fatal(err)
		}
		a := run.GetTasks()[0].GetTaskArn()
		return a[strings.LastIndex(a, "/")+1:]
	}
	first := runTask()

	within(t, ctx, 30*time.Second, "open the Registry tab",
		chromedp.Navigate(e.base+"/"),
		poll(`document.querySelector('#live').textContent === 'Live'`, 20*time.Second),
		chromedp.Click(chromedp.CSS("#tab-registry")),
		poll(`!!document.querySelector('[data-repository="web"] tr[data-digest="`+digest+`"]') &&
			!!document.querySelector('[data-repository="web"] li[data-task="`+first+`"]')`, 20*time.Second),
	)
	second := runTask()
	within(t, ctx, 30*time.Second, "a new task appears without a reload",
		poll(`!!document.querySelector('[data-repository="web"] li[data-task="`+second+`"]')`, 20*time.Second),
		chromedp.Click(chromedp.CSS(`[data-repository="web"] li[data-task="`+second+`"] button`)),
		poll(`document.querySelector('#task-dialog').open && document.querySelector('#task-body').innerText.includes('`+second+`')`, 10*time.Second),
	)
	screenshot(t, ctx, "dashboard-registry.png", true)
	noPageErrors(t, ctx)
}
