package taskdef

import (
	"regexp"

	"github.com/berth/berth/ecs/ecserr"
)

// nameRule is ECS's rule for family, container, volume and link names.
const nameRule = "must be 1-255 letters, digits, underscores or hyphens"

var validName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// checkName checks a required name.
func checkName(path, name string) error {
	if name == "" {
		return ecserr.Field(path, "required")
	}
	if !validName.MatchString(name) {
		return ecserr.Field(path, "%s, got %q", nameRule, clip(name))
	}
	return nil
}

func (t *task) checkFamily() error {
	return checkName("family", t.td.Family)
}

// clip shortens a user's value for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
