package taskdef

import (
	"fmt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecs/ecserr"
	"github.com/berth/berth/ecs/envfile"
)

// CheckEnvironmentFiles checks a container's environmentFiles (its
// definition's, or a RunTask override's at path) as ECS does: at most 10,
// each of type "s3" with an S3 object ARN whose name ends in .env. Whether
// the object exists is seen when the task starts, on behalf of its execution
// role.
func CheckEnvironmentFiles(path string, files []*berthv1.EnvironmentFile) error {
	if err := checkEnvironmentFiles(path, files); err != nil {
		e := ecserr.From(err)
		e.Exception = ecserr.InvalidParameterException
		return e
	}
	return nil
}

func checkEnvironmentFiles(path string, files []*berthv1.EnvironmentFile) error {
	if len(files) > envfile.MaxPerContainer {
		return ecserr.Field(path, "at most %d environment files per container, got %d", envfile.MaxPerContainer, len(files))
	}
	for j, f := range files {
		p := fmt.Sprintf("%s[%d]", path, j)
		switch f.GetType() {
		case envfile.Type:
		case "":
			return ecserr.Field(p+".type", "is required: %q", envfile.Type)
		default:
			return ecserr.Field(p+".type", "must be %q, got %q", envfile.Type, f.GetType())
		}
		if f.GetValue() == "" {
			return ecserr.Field(p+".value", "is required: the ARN of an S3 object (arn:aws:s3:::BUCKET/KEY.env)")
		}
		if _, err := envfile.ParseARN(f.GetValue()); err != nil {
			return ecserr.Field(p+".value", "%v", err)
		}
	}
	return nil
}
