package arn

import "strings"

// ECRRepository is the ARN of an ECR repository:
// arn:aws:ecr:REGION:ACCOUNT:repository/NAME.
func (n Namer) ECRRepository(name string) string {
	return "arn:aws:ecr:" + n.Region + ":" + n.Account + ":repository/" + name
}

// ECRRegistry is the host of the account's ECR registry, as images name it:
// ACCOUNT.dkr.ecr.REGION.amazonaws.com.
func (n Namer) ECRRegistry() string {
	return n.Account + ".dkr.ecr." + n.Region + ".amazonaws.com"
}

// ECRRepositoryURI is a repository's repositoryUri: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME.
func (n Namer) ECRRepositoryURI(name string) string { return n.ECRRegistry() + "/" + name }

// ECRImage reports whether image names an image in the account's ECR
// registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@DIGEST]) and
// returns the rest after the host: NAME[:TAG|@DIGEST].
func (n Namer) ECRImage(image string) (rest string, ok bool) {
	rest, ok = strings.CutPrefix(image, n.ECRRegistry()+"/")
	return rest, ok && rest != ""
}
