package chaos

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes cmd's process get SIGKILL when this one dies, so that
// no child outlives a test killed by its timeout.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
