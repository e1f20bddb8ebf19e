package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"

	"github.com/berth/berth/agent"
	"github.com/berth/berth/agent/runtime/hollow"
	"github.com/berth/berth/controlplane"
)

// secretsResult is secret resolution's cost to task start: the median time
// from RunTask to RUNNING (the task's createdAt to its startedAt) of a task
// with 10 secrets (5 SSM SecureString parameters, 5 JSON keys of Secrets
// Manager secrets) beside the same task with none, on a control plane and a
// hollow agent in this process (so that containers cost nothing and the
// difference is the control plane's resolution). The target is at most 50 ms
// added.
type secretsResult struct {
	Bench         string  `json:"bench"`
	Secrets       int     `json:"secrets"`
	Tasks         int     `json:"tasks_each"`
	NoneMS        float64 `json:"none_running_ms"`
	WithMS        float64 `json:"secrets_running_ms"`
	NoneP90MS     float64 `json:"none_running_p90_ms"`
	WithP90MS     float64 `json:"secrets_running_p90_ms"`
	Ratio         float64 `json:"ratio"`
	DeltaMS       float64 `json:"delta_ms"`
	TargetDeltaMS float64 `json:"target_delta_ms"`
}

func benchSecrets(tasks int) (secretsResult, error) {
	dir, err := os.MkdirTemp("", "berth-bench-inside-")
	if err != nil {
		return secretsResult{}, err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cp, err := controlplane.Start(context.Background(), controlplane.Config{
		DataDir: filepath.Join(dir, "cp"), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0", Logger: quiet,
	})
	if err != nil {
		return secretsResult{}, err
	}
	defer cp.Shutdown(context.Background())
	actx, stopAgent := context.WithCancel(context.Background())
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- agent.Run(actx, agent.Config{ControlPlane: cp.GRPCAddr(), JoinToken: cp.JoinToken(), CPU: 4096, Memory: 8192,
			Runtime: hollow.New(hollow.Config{}), DataDir: filepath.Join(dir, "agent"), Logger: quiet})
	}()
	defer func() { stopAgent(); <-agentDone }()

	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+cp.AdminToken()), 10*time.Minute)
	defer cancel()
	conn, err := grpc.NewClient(cp.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return secretsResult{}, err
	}
	defer conn.Close()
	ecs, ssm, sm := berthv1.NewECSClient(conn), berthv1.NewSSMClient(conn), berthv1.NewSecretsManagerClient(conn)

	var secrets []*berthv1.Secret
	for i := range 5 {
		name := fmt.Sprintf("/bench/param%d", i)
		if _, err := ssm.PutParameter(ctx, &berthv1.PutParameterRequest{Name: name, Value: fmt.Sprintf("value-%d", i), Type: "SecureString"}); err != nil {
			return secretsResult{}, err
		}
		secrets = append(secrets, &berthv1.Secret{Name: fmt.Sprintf("PARAM%d", i), ValueFrom: name})
		s, err := sm.CreateSecret(ctx, &berthv1.CreateSecretRequest{Name: fmt.Sprintf("bench/secret%d", i),
			SecretString: proto.String(fmt.Sprintf(`{"user":"u%d","password":"p%d"}`, i, i))})
		if err != nil {
			return secretsResult{}, err
		}
		secrets = append(secrets, &berthv1.Secret{Name: fmt.Sprintf("SECRET%d", i), ValueFrom: s.GetArn() + ":password::"})
	}
	for family, ss := range map[string][]*berthv1.Secret{"none": nil, "secrets": secrets} {
		_, err := ecs.RegisterTaskDefinition(ctx, &berthv1.RegisterTaskDefinitionRequest{Family: family,
			ExecutionRoleArn:     "arn:aws:iam::000000000000:role/ecsTaskExecutionRole",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "bench/app", Memory: proto.Int32(64), Secrets: ss}}})
		if err != nil {
			return secretsResult{}, err
		}
	}
	for {
		l, err := ecs.ListContainerInstances(ctx, &berthv1.ListContainerInstancesRequest{})
		if err != nil {
			return secretsResult{}, err
		}
		if len(l.GetContainerInstanceArns()) > 0 {
			break
		}
		if ctx.Err() != nil {
			return secretsResult{}, ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}

	// One warm-up of each, then the two in turn, so that the machine's other
	// work weighs on both alike.
	var none, with []float64
	for i := range tasks + 1 {
		for _, family := range []string{"none", "secrets"} {
			ms, err := runningTime(ctx, ecs, family)
			if err != nil {
				return secretsResult{}, fmt.Errorf("%s: %w", family, err)
			}
			if i == 0 {
				continue
			}
			if family == "none" {
				none = append(none, ms)
			} else {
				with = append(with, ms)
			}
		}
	}
	r := secretsResult{Bench: "secrets", Secrets: len(secrets), Tasks: tasks, NoneMS: median(none), WithMS: median(with),
		NoneP90MS: percentile(none, 0.9), WithP90MS: percentile(with, 0.9), TargetDeltaMS: 50}
	r.Ratio, r.DeltaMS = round(r.WithMS/r.NoneMS), round(r.WithMS-r.NoneMS)
	return r, nil
}

// runningTime runs one task of family and returns the milliseconds from its
// createdAt to its startedAt (both the control plane's clock), then stops it.
func runningTime(ctx context.Context, ecs berthv1.ECSClient, family string) (float64, error) {
	run, err := ecs.RunTask(ctx, &berthv1.RunTaskRequest{TaskDefinition: family})
	if err != nil {
		return 0, err
	}
	if len(run.GetTasks()) != 1 {
		return 0, fmt.Errorf("RunTask: %v", run.GetFailures())
	}
	arn := run.GetTasks()[0].GetTaskArn()
	defer ecs.StopTask(ctx, &berthv1.StopTaskRequest{Task: arn, Reason: "bench"})
	for {
		d, err := ecs.DescribeTasks(ctx, &berthv1.DescribeTasksRequest{Tasks: []string{arn}})
		if err != nil {
			return 0, err
		}
		if t := d.GetTasks()[0]; t.GetLastStatus() == "RUNNING" && t.GetStartedAt() > 0 {
			return (t.GetStartedAt() - t.GetCreatedAt()) * 1000, nil
		} else if t.GetLastStatus() == "STOPPED" {
			return 0, fmt.Errorf("task stopped: %s", t.GetStoppedReason())
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return round(s[min(len(s)-1, int(float64(len(s))*p))])
}
