package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime"
	"github.com/berth/berth/agent/runtime/hollow"
)

// agentEnv carries a hollow agent's configuration (JSON) to the child process.
const agentEnv = "BERTH_CHAOS_HOLLOW_AGENT"

// recordFile, in an agent's data dir, holds the loopback address where the
// agent process serves its hollow runtime's record, or the path of the Unix
// socket it serves it on (recordSocket).
const (
	recordFile   = "hollow-record.addr"
	recordSocket = "hollow-record.sock"
)

// AgentConfig is one hollow agent process's configuration.
type AgentConfig struct {
	ControlPlane string
	JoinToken    string
	DataDir      string
	Zone         string
	CPU, Memory  int
	// RecordOnSocket serves the record on a Unix socket in the data dir
	// rather than on loopback: the agent's loopback is out of reach in a
	// network namespace of its own, its data dir is not.
	RecordOnSocket bool `json:",omitempty"`
}

// MaybeRunAgent runs this process as a hollow agent, and exits, when it was
// started as one by StartAgent; otherwise it returns at once.
func MaybeRunAgent() {
	raw := os.Getenv(agentEnv)
	if raw == "" {
		return
	}
	var cfg AgentConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hollow agent config:", err)
		os.Exit(2)
	}
	if err := runAgent(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hollow agent:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runAgent runs agent.Run over a hollow runtime and serves the runtime's
// List on loopback (GET /containers, JSON) until SIGTERM.
func runAgent(cfg AgentConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt := hollow.New(hollow.Config{})
	defer rt.Close()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	network, address := "tcp", "127.0.0.1:0"
	if cfg.RecordOnSocket {
		network, address = "unix", filepath.Join(cfg.DataDir, recordSocket)
		os.Remove(address) // the last run's
	}
	l, err := net.Listen(network, address)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := rt.List(r.Context(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(list)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	tmp := filepath.Join(cfg.DataDir, recordFile+".tmp")
	if err := os.WriteFile(tmp, []byte(l.Addr().String()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(cfg.DataDir, recordFile)); err != nil {
		return err
	}
	err = agent.Run(ctx, agent.Config{
		ControlPlane: cfg.ControlPlane, JoinToken: cfg.JoinToken, Cluster: "default",
		AvailabilityZone: cfg.Zone, InstanceType: "chaos.hollow",
		CPU: cfg.CPU, Memory: cfg.Memory, Runtime: rt, DataDir: cfg.DataDir,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), NoTaskEndpoint: true,
	})
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Agent is a hollow agent process, started and killed again and again on
// its data dir.
type Agent struct {
	Config AgentConfig
	// Netns, if set, is the network namespace the process runs in (ip
	// netns exec); set Config.RecordOnSocket with it.
	Netns string

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs *lines
	done chan error
	addr string
}

// Start runs the agent: this same executable, which MaybeRunAgent turns
// into a hollow agent. It waits until the agent serves its record.
func (a *Agent) Start(timeout time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(a.Config)
	if err != nil {
		return err
	}
	os.Remove(filepath.Join(a.Config.DataDir, recordFile))
	cmd := exec.Command(self, "-test.run=^$")
	if a.Netns != "" {
		// ip execs the agent in the namespace: the same process, which
		// Kill's SIGKILL and dieWithParent reach.
		cmd = exec.Command("ip", "netns", "exec", a.Netns, self, "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), agentEnv+"="+string(raw))
	dieWithParent(cmd)
	logs, done := &lines{}, make(chan error, 1)
	cmd.Stdout, cmd.Stderr = io.Discard, lineWriter{logs}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { done <- cmd.Wait() }()
	a.mu.Lock()
	a.cmd, a.logs, a.done, a.addr = cmd, logs, done, ""
	a.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(filepath.Join(a.Config.DataDir, recordFile)); err == nil {
			a.mu.Lock()
			a.addr = string(b)
			a.mu.Unlock()
			return nil
		}
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("hollow agent exited: %v\n%s", err, logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			a.Kill()
			return fmt.Errorf("hollow agent did not start within %s\n%s", timeout, logs)
		}
	}
}

// lineWriter adds what a process writes to lines.
type lineWriter struct{ l *lines }

func (w lineWriter) Write(p []byte) (int, error) {
	for _, s := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.l.add(s)
	}
	return len(p), nil
}

// Kill ends the agent with SIGKILL and waits for it. Its hollow containers
// die with it (the hollow runtime lives in the process).
func (a *Agent) Kill() {
	a.mu.Lock()
	cmd, done := a.cmd, a.done
	a.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	done <- err
}

// Logs returns the last lines of the agent's output.
func (a *Agent) Logs() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.logs == nil {
		return ""
	}
	return a.logs.String()
}

// Containers returns the hollow runtime's own record of the running agent's
// containers.
func (a *Agent) Containers(ctx context.Context) ([]runtime.ContainerSummary, error) {
	a.mu.Lock()
	addr := a.addr
	a.mu.Unlock()
	client, url := http.DefaultClient, "http://"+addr+"/containers"
	if filepath.IsAbs(addr) { // a Unix socket
		client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", addr)
		}}}
		defer client.CloseIdleConnections()
		url = "http://hollow-record/containers"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return nil, fmt.Errorf("hollow record: %s: %s", res.Status, b)
	}
	var list []runtime.ContainerSummary
	return list, json.NewDecoder(res.Body).Decode(&list)
}

// Identity reads the instance id and container instance ARN the agent keeps
// in its state file; the agent must not be running.
func (a *Agent) Identity() (instanceID, arn string, err error) {
	db, err := bolt.Open(filepath.Join(a.Config.DataDir, agent.StateFile), 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		return "", "", err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("agent"))
		if b == nil {
			return errors.New("agent state has no agent bucket")
		}
		instanceID, arn = string(b.Get([]byte("instance-id"))), string(b.Get([]byte("container-instance-arn")))
		return nil
	})
	return instanceID, arn, err
}
