package zipimage

import (
	"fmt"
	"sort"
	"strings"
)

// RuntimeImages is the value of the repeatable flag --lambda-runtime-image
// RUNTIME=IMAGE (flag.Value): managed runtimes mapped to base images.
type RuntimeImages map[string]string

// String lists the mappings, sorted.
func (r RuntimeImages) String() string {
	out := make([]string, 0, len(r))
	for k, v := range r {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Set adds one RUNTIME=IMAGE mapping. A custom runtime (provided.*) needs
// none and takes none.
func (r RuntimeImages) Set(s string) error {
	name, img, ok := strings.Cut(s, "=")
	name, img = strings.TrimSpace(name), strings.TrimSpace(img)
	switch {
	case !ok || name == "" || img == "":
		return fmt.Errorf("%q: want RUNTIME=IMAGE (python3.12=IMAGE)", s)
	case IsCustomRuntime(name):
		return fmt.Errorf("%q: %s runs its zip's own bootstrap and takes no base image", s, name)
	}
	r[name] = img
	return nil
}
