package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	targetPrefix = "AmazonEC2ContainerServiceV20141113."
	contentType  = "application/x-amz-json-1.1"
	region       = "us-east-1"
)

// client speaks ECS's JSON wire to one control plane, signing with
// aws-sdk-go-v2's SigV4 signer and the key in the data dir's aws-credentials.
type client struct {
	url    string
	creds  aws.Credentials
	signer *v4.Signer
	http   *http.Client
	tr     *http.Transport
}

func newClient(cp *controlPlane, conns int) (*client, error) {
	creds, err := readCredentials(filepath.Join(cp.dataDir, "aws-credentials"), "berth")
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute, DisableCompression: true}
	return &client{url: "http://" + cp.httpAddr + "/", creds: creds, signer: v4.NewSigner(), http: &http.Client{Transport: tr}, tr: tr}, nil
}

func (c *client) close() { c.tr.CloseIdleConnections() }

// readCredentials reads profile's key from an aws CLI credentials file.
func readCredentials(path, profile string) (aws.Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return aws.Credentials{}, err
	}
	defer f.Close()
	var creds aws.Credentials
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || section != profile {
			continue
		}
		switch strings.TrimSpace(name) {
		case "aws_access_key_id":
			creds.AccessKeyID = strings.TrimSpace(value)
		case "aws_secret_access_key":
			creds.SecretAccessKey = strings.TrimSpace(value)
		}
	}
	if creds.AccessKeyID == "" || creds.SecretAccessKey == "" {
		return creds, fmt.Errorf("%s has no key in profile [%s]", path, profile)
	}
	return creds, sc.Err()
}

// signed is a signed request, sent again until its signature ages.
type signed struct {
	op       string
	body     []byte
	header   http.Header
	signedAt time.Time
}

func (c *client) sign(ctx context.Context, op string, body []byte) (*signed, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	sum := sha256.Sum256(body)
	now := time.Now()
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "ecs", region, now); err != nil {
		return nil, err
	}
	return &signed{op: op, body: body, header: req.Header, signedAt: now}, nil
}

// send sends s and returns the status and the response body.
func (c *client) send(ctx context.Context, s *signed) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(s.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = s.header.Clone()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// call signs and sends one operation, decoding the response into out.
func (c *client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	s, err := c.sign(ctx, op, body)
	if err != nil {
		return err
	}
	code, b, err := c.send(ctx, s)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s: %d %s", op, code, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// seed registers a task definition, waits for the hollow agent's instances
// and runs n tasks over the JSON wire, and returns their ARNs once they run.
func seed(ctx context.Context, c *client, n int) ([]string, error) {
	td := map[string]any{
		"family": "wire",
		"containerDefinitions": []map[string]any{{
			"name": "app", "image": "berth-test/app", "cpu": 64, "memory": 128, "essential": true,
			"portMappings": []map[string]any{{"containerPort": 8080}},
			"environment":  []map[string]any{{"name": "MODE", "value": "bench"}},
		}},
	}
	if err := c.call(ctx, "RegisterTaskDefinition", td, nil); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "the hollow agent's instances", func() (bool, error) {
		var out struct{ ContainerInstanceArns []string }
		err := c.call(ctx, "ListContainerInstances", map[string]any{}, &out)
		return len(out.ContainerInstanceArns) >= hollowInstances, err
	}); err != nil {
		return nil, err
	}
	var arns []string
	for len(arns) < n {
		var out struct {
			Tasks    []struct{ TaskArn string }
			Failures []json.RawMessage
		}
		count := min(10, n-len(arns))
		if err := c.call(ctx, "RunTask", map[string]any{"taskDefinition": "wire", "count": count}, &out); err != nil {
			return nil, err
		}
		if len(out.Tasks) != count {
			return nil, fmt.Errorf("RunTask placed %d of %d tasks: %s", len(out.Tasks), count, out.Failures)
		}
		for _, t := range out.Tasks {
			arns = append(arns, t.TaskArn)
		}
	}
	err := waitFor(ctx, "the tasks to run", func() (bool, error) {
		for i := 0; i < len(arns); i += 100 {
			var out struct{ Tasks []struct{ LastStatus string } }
			if err := c.call(ctx, "DescribeTasks", map[string]any{"tasks": arns[i:min(i+100, len(arns))]}, &out); err != nil {
				return false, err
			}
			for _, t := range out.Tasks {
				if t.LastStatus != "RUNNING" {
					return false, nil
				}
			}
		}
		return true, nil
	})
	return arns, err
}

func waitFor(ctx context.Context, what string, ok func() (bool, error)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		done, err := ok()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited a minute for %s", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load is one measurement's latencies (successful calls), errors and length.
type load struct {
	lat     []time.Duration
	errors  int
	seconds float64
	// cpu is the server's CPU time over the measurement (0 where the
	// system does not say), respBytes the size of one answer.
	cpu       time.Duration
	respBytes int
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// drive runs o.clients clients, each sending DescribeTasks of o.perCall of
// the tasks (a window that moves with each call) as fast as answered, for
// o.warmup and then o.duration, recording the latencies of the second part.
// profile, if not nil, runs beside the measured part; cpuTime is the
// server's CPU time so far.
func drive(ctx context.Context, c *client, arns []string, o options, profile func() error, cpuTime func() time.Duration) (load, error) {
	// Each server's answer is checked for its tasks once, before the load.
	check, err := c.sign(ctx, "DescribeTasks", mustJSON(map[string]any{"cluster": "default", "tasks": arns[:o.perCall]}))
	if err != nil {
		return load{}, err
	}
	code, body, err := c.send(ctx, check)
	if err != nil {
		return load{}, err
	}
	var out struct {
		Tasks    []struct{ TaskArn string }
		Failures []json.RawMessage
	}
	if err := json.Unmarshal(body, &out); code != http.StatusOK || err != nil {
		return load{}, fmt.Errorf("DescribeTasks: HTTP %d %s", code, bytes.TrimSpace(body))
	}
	if len(out.Tasks) != o.perCall || len(out.Failures) != 0 {
		return load{}, fmt.Errorf("DescribeTasks of %d tasks found %d, with %d failures", o.perCall, len(out.Tasks), len(out.Failures))
	}

	var (
		mu       sync.Mutex
		all      load
		firstErr error
		wg, prof sync.WaitGroup
	)
	start := time.Now()
	measureFrom, end := start.Add(o.warmup), start.Add(o.warmup+o.duration)
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			var lastErr error
			reqs := map[int]*signed{} // by the window's start
			for k := i; ; k++ {
				first := (k * o.perCall) % len(arns)
				s := reqs[first]
				if s == nil || o.resignEvery || time.Since(s.signedAt) > time.Minute {
					window := make([]string, o.perCall)
					for j := range window {
						window[j] = arns[(first+j)%len(arns)]
					}
					var err error
					if s, err = c.sign(ctx, "DescribeTasks", mustJSON(map[string]any{"cluster": "default", "tasks": window})); err != nil {
						lastErr = err
						break
					}
					reqs[first] = s
				}
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					break
				}
				code, _, err := c.send(ctx, s)
				took := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil || code != http.StatusOK {
					errs++
					if err == nil {
						err = fmt.Errorf("DescribeTasks: HTTP %d", code)
					}
					lastErr = err
					continue
				}
				lat = append(lat, took)
			}
			mu.Lock()
			defer mu.Unlock()
			all.lat = append(all.lat, lat...)
			all.errors += errs
			if firstErr == nil && lastErr != nil && ctx.Err() == nil {
				firstErr = lastErr
			}
		}()
	}
	all.respBytes = len(body)
	cpuStart := make(chan time.Duration, 1)
	go func() {
		select {
		case <-time.After(time.Until(measureFrom)):
			cpuStart <- cpuTime()
		case <-ctx.Done():
			cpuStart <- 0
		}
	}()
	var profErr error
	if profile != nil {
		prof.Add(1)
		go func() {
			defer prof.Done()
			select {
			case <-time.After(time.Until(measureFrom)):
				profErr = profile()
			case <-ctx.Done():
			}
		}()
	}
	wg.Wait()
	all.seconds = time.Since(measureFrom).Seconds()
	all.cpu = cpuTime() - <-cpuStart
	prof.Wait()
	if profErr != nil {
		return all, fmt.Errorf("CPU profile: %w", profErr)
	}
	if err := ctx.Err(); err != nil {
		return all, err
	}
	if all.errors > 0 {
		logf("%d errors, the last: %v", all.errors, firstErr)
	}
	if len(all.lat) == 0 {
		return all, errors.Join(errors.New("no call succeeded"), firstErr)
	}
	return all, nil
}
