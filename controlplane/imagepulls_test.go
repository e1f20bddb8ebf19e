package controlplane

import (
	"slices"
	"testing"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TestCredentialedImages: each image of a container with
// repositoryCredentials once, except one berth's registry already serves.
func TestCredentialedImages(t *testing.T) {
	creds := func(p string) *berthv1.RepositoryCredentials {
		return &berthv1.RepositoryCredentials{CredentialsParameter: p}
	}
	td := &berthv1.TaskDefinition{ContainerDefinitions: []*berthv1.ContainerDefinition{
		{Name: "a", Image: "reg.example.com/app:v1", RepositoryCredentials: creds("arn:s1")},
		{Name: "b", Image: "reg.example.com/app:v1", RepositoryCredentials: creds("arn:s2")},
		{Name: "c", Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:v1", RepositoryCredentials: creds("arn:s3")},
		{Name: "d", Image: "busybox"},
		{Name: "e", Image: "reg.example.com/side:v2", RepositoryCredentials: creds("arn:s4")},
	}}
	pulls := []*berthv1.ImagePull{{Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:v1"}}
	got := credentialedImages(td, pulls)
	want := []credentialedImage{
		{container: "a", image: "reg.example.com/app:v1", parameter: "arn:s1"},
		{container: "e", image: "reg.example.com/side:v2", parameter: "arn:s4"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("credentialedImages = %+v, want %+v", got, want)
	}
}
