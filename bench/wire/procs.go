package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// binaries are the two control planes and the agent, built.
type binaries struct {
	old, new, agent     string
	baselineRev, newRev string
	dirty               bool
}

// build compiles cmd/controlplane from the working tree and from the
// baseline revision (exported with git archive, so that the repository's
// worktrees are left alone), and cmd/agent from the working tree: both
// control planes speak the same agent protocol. -trimpath keeps the
// temporary directory's path out of the build cache's keys, so that a second
// run builds the baseline from the cache.
func build(ctx context.Context, work, baseline string) (binaries, error) {
	var b binaries
	root, err := git(ctx, "", "rev-parse", "--show-toplevel")
	if err != nil {
		return b, fmt.Errorf("run from within the repository: %w", err)
	}
	if b.newRev, err = git(ctx, root, "rev-parse", "HEAD"); err != nil {
		return b, err
	}
	status, err := git(ctx, root, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return b, err
	}
	b.dirty = status != ""
	if b.baselineRev, err = git(ctx, root, "rev-parse", "--verify", baseline+"^{commit}"); err != nil {
		return b, fmt.Errorf("-baseline %s: %w", baseline, err)
	}
	src := filepath.Join(work, "baseline-src")
	if err := export(ctx, root, b.baselineRev, src); err != nil {
		return b, fmt.Errorf("exporting %s: %w", baseline, err)
	}
	defer os.RemoveAll(src)
	b.old, b.new, b.agent = filepath.Join(work, "old", "controlplane"), filepath.Join(work, "new", "controlplane"), filepath.Join(work, "new", "agent")
	for _, t := range []struct{ dir, out, pkg string }{
		{src, b.old, "./cmd/controlplane"},
		{root, b.new, "./cmd/controlplane"},
		{root, b.agent, "./cmd/agent"},
	} {
		logf("go build %s (%s)", t.pkg, map[bool]string{true: "baseline " + baseline, false: "working tree"}[t.dir == src])
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", t.out, t.pkg)
		cmd.Dir, cmd.Stdout, cmd.Stderr = t.dir, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return b, fmt.Errorf("go build %s: %w", t.pkg, err)
		}
	}
	return b, nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// export writes the tree of rev into dir.
func export(ctx context.Context, root, rev, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	terr := untar(out, dir)
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return terr
}

func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(name, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("archive member %q is outside the tree", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, name); err != nil {
				return err
			}
		}
	}
}

// controlPlane is one running control plane process.
type controlPlane struct {
	dataDir            string
	grpcAddr, httpAddr string
	cmd                *exec.Cmd
	done               chan error
}

// startControlPlane starts bin on a fresh data dir under dir, on free
// loopback ports, and waits until /healthz answers.
func startControlPlane(ctx context.Context, bin, dir string, pprof bool) (*controlPlane, error) {
	c := &controlPlane{dataDir: filepath.Join(dir, "data")}
	if err := os.MkdirAll(c.dataDir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		return nil, err
	}
	args := []string{"--data-dir", c.dataDir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "info"}
	if pprof {
		args = append(args, "--pprof")
	}
	// Raw speed: ECS's throttling off, where the binary has it.
	if help, _ := exec.Command(bin, "-h").CombinedOutput(); strings.Contains(string(help), "-no-throttle") {
		args = append(args, "--no-throttle")
	}
	w := &addrWatcher{f: logFile, found: make(chan [2]string, 1)}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = logFile, w
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c.done = make(chan error, 1)
	go func() { c.done <- c.cmd.Wait(); logFile.Close() }()
	fail := func(err error) (*controlPlane, error) { return nil, errors.Join(err, c.stop()) }
	// The control plane logs its addresses once it listens on them.
	select {
	case addrs := <-w.found:
		c.grpcAddr, c.httpAddr = addrs[0], addrs[1]
	case err := <-c.done:
		c.done <- err
		return fail(fmt.Errorf("the control plane exited before serving (%v); see %s", err, logFile.Name()))
	case <-time.After(time.Minute):
		return fail(errors.New("the control plane did not log its addresses within a minute"))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		if resp, err := http.Get("http://" + c.httpAddr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return fail(errors.New("/healthz did not answer within a minute"))
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
	}
}

// stop ends the control plane with SIGTERM, as an operator would.
func (c *controlPlane) stop() error {
	return stopProcess("control plane", c.cmd, c.done)
}

// stopProcess sends SIGTERM and waits for the process to exit, killing it
// after 30 s.
func stopProcess(name string, cmd *exec.Cmd, done chan error) error {
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) && !exit.Exited() {
			return nil // ended by the signal: it stopped
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not stop within 30s of SIGTERM", name)
	}
}

// adminToken is the control plane's admin token.
func (c *controlPlane) adminToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(c.dataDir, "admin.token"))
	return strings.TrimSpace(string(b)), err
}

// profile returns a function that takes a CPU profile of the control plane
// for d (whole seconds) into file and returns when it is written.
func (c *controlPlane) profile(ctx context.Context, d time.Duration, file string) func() error {
	return func() error {
		token, err := c.adminToken()
		if err != nil {
			return err
		}
		secs := max(1, int(d/time.Second))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.httpAddr+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("CPU profile: %s", resp.Status)
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, resp.Body)
		return errors.Join(err, f.Close())
	}
}

// addrWatcher copies the control plane's log to its file and finds the
// gRPC and HTTP addresses in the line "control plane serving".
type addrWatcher struct {
	f     *os.File
	mu    sync.Mutex
	buf   []byte
	done  bool
	found chan [2]string
}

func (w *addrWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.buf = append(w.buf, p...)
		for {
			line, rest, ok := bytes.Cut(w.buf, []byte("\n"))
			if !ok {
				break
			}
			w.buf = rest
			if !bytes.Contains(line, []byte(`msg="control plane serving"`)) {
				continue
			}
			var addrs [2]string
			for _, field := range strings.Fields(string(line)) {
				if v, ok := strings.CutPrefix(field, "grpc="); ok {
					addrs[0] = v
				} else if v, ok := strings.CutPrefix(field, "http="); ok {
					addrs[1] = v
				}
			}
			if addrs[0] != "" && addrs[1] != "" {
				w.done, w.buf = true, nil
				w.found <- addrs
				break
			}
		}
	}
	return w.f.Write(p)
}

// agent is a hollow agent process with a few instances.
type agent struct {
	cmd  *exec.Cmd
	done chan error
}

// hollowInstances is how many instances the hollow agent registers: enough
// room for the benchmark's tasks.
const hollowInstances = 2

func startAgent(bin, dir string, cp *controlPlane) (*agent, error) {
	logFile, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		return nil, err
	}
	a := &agent{cmd: exec.Command(bin, "--runtime", "hollow", "--instances", strconv.Itoa(hollowInstances),
		"--control-plane", cp.grpcAddr, "--join-token-file", filepath.Join(cp.dataDir, "join.token"),
		"--data-dir", filepath.Join(dir, "agent"), "--cpu", "4096", "--memory", "16384",
		"--availability-zone", "us-east-1a", "--instance-type", "m5.xlarge")}
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	if err := a.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	a.done = make(chan error, 1)
	go func() { a.done <- a.cmd.Wait(); logFile.Close() }()
	return a, nil
}

func (a *agent) stop() error { return stopProcess("agent", a.cmd, a.done) }

// cpuTime is the control plane's user and system CPU time so far, from
// /proc (Linux; 0 elsewhere). The kernel counts it in USER_HZ ticks, which
// are 1/100 s on every Linux Go runs on.
func (c *controlPlane) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
