package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	agentBinOnce sync.Once
	agentBinDir  string
	agentBin     string
	agentBinErr  error
)

// agentBinary builds cmd/agent once per test process and returns its path.
func agentBinary(t *testing.T) string {
	t.Helper()
	agentBinOnce.Do(func() {
		if agentBinDir, agentBinErr = os.MkdirTemp("", "berth-e2e-agent-"); agentBinErr != nil {
			return
		}
		agentBin = filepath.Join(agentBinDir, "agent")
		args := []string{"build", "-o", agentBin}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/berth/berth/cmd/agent")...).CombinedOutput()
		if err != nil {
			agentBinErr = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if agentBinErr != nil {
		t.Fatalf("go build cmd/agent: %v", agentBinErr)
	}
	return agentBin
}

// removeAgentBinary removes what agentBinary built; TestMain calls it.
func removeAgentBinary() {
	if agentBinDir != "" {
		os.RemoveAll(agentBinDir)
	}
}

// agentProcess is the cmd/agent binary running for a test.
type agentProcess struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
}

// startAgentProcess runs the agent binary on Docker, offline, with dataDir, until
// kill or the test's end; its log is printed if the test fails.
func (s *stack) startAgentProcess(t *testing.T, dataDir string) *agentProcess {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(agentBinary(t), "--control-plane", s.CP.GRPCAddr(), "--join-token", s.CP.JoinToken(),
		"--runtime", "docker", "--offline", "--data-dir", dataDir, "--cpu", "2048", "--memory", "4096")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		cmd.Wait() // a killed agent's exit status is expected
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			if log, err := os.ReadFile(logPath); err == nil {
				t.Logf("agent log:\n%s", log)
			}
		}
	})
	return p
}

// kill ends the agent with SIGKILL, as a crash would: nothing of it runs on, and its
// containers are left as they are.
func (p *agentProcess) kill() {
	p.cmd.Process.Kill() // an error means it has exited already
	<-p.done
}
