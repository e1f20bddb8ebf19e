package controlplane

import (
	"context"
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// ResourceInitPrefix begins ECS's stoppedReason for a task whose registry
// credentials could not be had.
const ResourceInitPrefix = "ResourceInitializationError: unable to pull secrets or registry auth: "

// imagePulls is how an agent gets the images of td: those of berth's
// registry with a pull-only token, those of another registry with their
// container's repositoryCredentials (a Secrets Manager secret holding
// {"username", "password"}), resolved now and sent only with the
// assignment. An image of berth's registry ignores repositoryCredentials,
// as ECS uses the execution role for ECR. A secret that is missing or
// without username and password is an error in ECS's words, naming the
// container and the secret but never its value.
func (c *ControlPlane) imagePulls(ctx context.Context, td *berthv1.TaskDefinition) ([]*berthv1.ImagePull, error) {
	pulls := c.ecr.ImagePulls(td)
	for _, need := range credentialedImages(td, pulls) {
		creds, err := c.Secrets().RegistryCredentials(ctx, need.parameter)
		if err != nil {
			return nil, fmt.Errorf("%sexecution resource retrieval failed: unable to retrieve secret from asm: container %s: failed to fetch secret %s from secrets manager: %w",
				ResourceInitPrefix, need.container, need.parameter, err)
		}
		pulls = append(pulls, &berthv1.ImagePull{Image: need.image, Ref: need.image, User: creds.Username, Password: creds.Password})
	}
	return pulls, nil
}

// credentialedImage is an image to pull with the secret parameter names.
type credentialedImage struct{ container, image, parameter string }

// credentialedImages are the images of td's containers with
// repositoryCredentials that pulls (berth's registry's) does not already
// cover, once each.
func credentialedImages(td *berthv1.TaskDefinition, pulls []*berthv1.ImagePull) []credentialedImage {
	seen := map[string]bool{}
	for _, p := range pulls {
		seen[p.GetImage()] = true
	}
	var out []credentialedImage
	for _, cd := range td.GetContainerDefinitions() {
		param := cd.GetRepositoryCredentials().GetCredentialsParameter()
		if param == "" || seen[cd.GetImage()] {
			continue
		}
		seen[cd.GetImage()] = true
		out = append(out, credentialedImage{container: cd.GetName(), image: cd.GetImage(), parameter: param})
	}
	return out
}
