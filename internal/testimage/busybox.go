package testimage

import (
	"debug/elf"
	"fmt"
	"os"
)

// HostBusybox is where the busybox image takes its busybox from: Debian's
// busybox-static package installs it there.
const HostBusybox = "/bin/busybox"

// busyboxApplets are linked to /bin/busybox in the image: what ECS's test task
// definitions and berth's tests run, and a few neighbours.
var busyboxApplets = []string{
	"sh", "cat", "touch", "echo", "sleep", "ls", "test", "[", "true", "false", "wget",
	"mkdir", "rm", "env", "grep", "id", "printf", "head", "kill", "ps", "nc",
}

const busyboxDockerfile = `FROM scratch
COPY bin /bin
COPY tmp /tmp
CMD ["sh"]
`

// buildBusybox builds the busybox image from the host's static busybox.
func buildBusybox() (string, error) {
	bin, err := os.ReadFile(HostBusybox)
	if err != nil {
		return "", fmt.Errorf("busybox image: %w (apt-get install busybox-static)", err)
	}
	if err := checkStatic(HostBusybox); err != nil {
		return "", err
	}
	files := []file{
		{name: "Dockerfile", mode: 0o644, data: []byte(busyboxDockerfile)},
		{name: "bin/", mode: 0o755},
		{name: "bin/busybox", mode: 0o755, data: bin},
		{name: "tmp/", mode: 0o1777},
	}
	for _, applet := range busyboxApplets {
		files = append(files, file{name: "bin/" + applet, mode: 0o777, link: "busybox"})
	}
	return buildImage("berth-test/busybox", files)
}

// checkStatic refuses a dynamically linked busybox, which cannot run FROM scratch.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("busybox image: %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox image: %s is dynamically linked; install busybox-static", path)
		}
	}
	return nil
}
