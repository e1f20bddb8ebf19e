package ecrapi

import (
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/token"
)

// PullTTL is how long the pull credential an agent gets with a task lasts:
// long enough to pull, and the agent gets a new one with every assignment.
const PullTTL = time.Hour

// ImagePulls says how an agent gets each image of td that lives in berth's
// registry: one named by the account's ECR host
// (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@DIGEST]) or by the
// registry's own address. The credential only pulls.
func (s *Server) ImagePulls(td *berthv1.TaskDefinition) []*berthv1.ImagePull {
	addr := strings.TrimPrefix(s.cfg.ProxyEndpoint, "http://")
	var out []*berthv1.ImagePull
	seen := map[string]bool{}
	for _, c := range td.GetContainerDefinitions() {
		img := c.GetImage()
		rest, ok := s.cfg.ARNs.ECRImage(img)
		if !ok {
			rest, ok = strings.CutPrefix(img, addr+"/")
		}
		if !ok || rest == "" || seen[img] {
			continue
		}
		seen[img] = true
		password := token.Mint(s.cfg.Key, token.Claims{Expires: s.cfg.Now().Add(PullTTL).Unix(), Scope: token.Pull})
		out = append(out, &berthv1.ImagePull{Image: img, Ref: addr + "/" + rest, User: token.User, Password: password})
	}
	return out
}
