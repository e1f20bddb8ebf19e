package dashboard

import (
	"context"
	"net/http"
	"sort"
	"strings"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// Images is the part of the ECR API the Registry view reads (ecrapi.Server's
// handlers, called in process as the controls call the ECS API's).
type Images interface {
	DescribeRepositories(context.Context, *berthv1.DescribeRepositoriesRequest) (*berthv1.DescribeRepositoriesResponse, error)
	DescribeImages(context.Context, *berthv1.DescribeImagesRequest) (*berthv1.DescribeImagesResponse, error)
}

// Registry is the Registry view: the registry's repositories, their images
// and the cluster's tasks that run them.
type Registry struct {
	Cluster      string       `json:"cluster"`
	Repositories []Repository `json:"repositories"`
}

// Repository is one repository.
type Repository struct {
	Name      string  `json:"name"`
	URI       string  `json:"uri"`
	CreatedAt float64 `json:"createdAt"`
	Images    []Image `json:"images"`
	// Tasks are the cluster's tasks that are not STOPPED and have a
	// container whose image names the repository's URI, by task id.
	Tasks []ImageUse `json:"tasks"`
}

// Image is one image of a repository.
type Image struct {
	Digest   string   `json:"digest"`
	Tags     []string `json:"tags"`
	Size     int64    `json:"size"`
	PushedAt float64  `json:"pushedAt"`
}

// ImageUse is a task running an image of a repository.
type ImageUse struct {
	Task       string   `json:"task"`
	LastStatus string   `json:"lastStatus"`
	Containers []string `json:"containers"`
	Images     []string `json:"images"` // as the containers name them
}

// registry is GET /dashboard/api/registry?cluster=C.
func (d *Dashboard) registry(w http.ResponseWriter, r *http.Request) {
	cluster, err := d.cluster(r)
	if err != nil {
		writeError(w, err, "cluster")
		return
	}
	out := Registry{Cluster: cluster, Repositories: []Repository{}}
	if d.cfg.Images == nil {
		writeJSON(w, http.StatusOK, out)
		return
	}
	repos, err := d.repositories(r.Context())
	if err != nil {
		writeError(w, err, "")
		return
	}
	tasks := d.cfg.Store.Tasks(cluster, live)
	for _, repo := range repos {
		images, err := d.images(r.Context(), repo.GetRepositoryName())
		if apierr.Is(err, apierr.NotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			writeError(w, err, "")
			return
		}
		out.Repositories = append(out.Repositories, Repository{
			Name: repo.GetRepositoryName(), URI: repo.GetRepositoryUri(), CreatedAt: repo.GetCreatedAt(),
			Images: images, Tasks: usesOf(repo.GetRepositoryUri(), tasks),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// repositories lists every repository, by name.
func (d *Dashboard) repositories(ctx context.Context) ([]*berthv1.Repository, error) {
	var out []*berthv1.Repository
	req := &berthv1.DescribeRepositoriesRequest{}
	for {
		resp, err := d.cfg.Images.DescribeRepositories(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetRepositories()...)
		if resp.GetNextToken() == "" {
			break
		}
		req.NextToken = resp.GetNextToken()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetRepositoryName() < out[j].GetRepositoryName() })
	return out, nil
}

// images lists a repository's images, the latest pushed first.
func (d *Dashboard) images(ctx context.Context, repo string) ([]Image, error) {
	out := []Image{}
	req := &berthv1.DescribeImagesRequest{RepositoryName: repo}
	for {
		resp, err := d.cfg.Images.DescribeImages(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, img := range resp.GetImageDetails() {
			tags := img.GetImageTags()
			if tags == nil {
				tags = []string{}
			}
			out = append(out, Image{Digest: img.GetImageDigest(), Tags: tags, Size: int64(img.GetImageSizeInBytes()), PushedAt: img.GetImagePushedAt()})
		}
		if resp.GetNextToken() == "" {
			break
		}
		req.NextToken = resp.GetNextToken()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].PushedAt > out[j].PushedAt })
	return out, nil
}

// usesOf is the tasks with a container whose image is of the repository at
// uri: uri itself, uri:TAG or uri@DIGEST.
func usesOf(uri string, tasks []*berthv1.TaskRecord) []ImageUse {
	out := []ImageUse{}
	for _, rec := range tasks {
		var use *ImageUse
		for _, c := range rec.GetTask().GetContainers() {
			if !imageOf(uri, c.GetImage()) {
				continue
			}
			if use == nil {
				use = &ImageUse{Task: lastPart(rec.GetTask().GetTaskArn()), LastStatus: rec.GetTask().GetLastStatus()}
			}
			use.Containers = append(use.Containers, c.GetName())
			use.Images = append(use.Images, c.GetImage())
		}
		if use != nil {
			out = append(out, *use)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Task < out[j].Task })
	return out
}

// imageOf reports whether image names the repository at uri.
func imageOf(uri, image string) bool {
	if uri == "" {
		return false
	}
	rest, ok := strings.CutPrefix(image, uri)
	return ok && (rest == "" || rest[0] == ':' || rest[0] == '@')
}
