package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// InsideReport is what `testapp inside` prints: what a program in an ECS task
// finds from inside it.
type InsideReport struct {
	// From ${ECS_CONTAINER_METADATA_URI_V4}: this container's name, and the
	// task's ARN, status, container names and this container's networks.
	ContainerName string
	TaskARN       string
	KnownStatus   string
	Containers    []string
	NetworkMode   string
	IPv4Addresses []string
	MetadataError string `json:",omitempty"`
	// From aws-sdk-go-v2's default credential chain.
	AccessKeyID      string
	CredentialSource string
	CredentialsError string `json:",omitempty"`
	Region           string
	// DescribeTasks of itself through the SDK at AWS_ENDPOINT_URL: the HTTP
	// status of the answer (0: none came), how many tasks it found, and the
	// error, if any.
	FrontDoorStatus int
	FrontDoorTasks  int
	FrontDoorError  string `json:",omitempty"`
	// The variables named on the command line.
	Env map[string]string
}

// inside prints one InsideReport line and runs until stopped.
func inside(args []string) error {
	r := InsideReport{Env: map[string]string{}}
	for _, name := range args {
		r.Env[name] = os.Getenv(name)
	}
	uri := os.Getenv("ECS_CONTAINER_METADATA_URI_V4")
	var c struct {
		Name     string
		Networks []struct {
			NetworkMode   string
			IPv4Addresses []string
		}
	}
	var task struct {
		Cluster     string
		TaskARN     string
		KnownStatus string
		Containers  []struct{ Name string }
	}
	err := getJSON(uri, &c)
	if err == nil {
		err = getJSON(uri+"/task", &task)
	}
	if err != nil {
		r.MetadataError = err.Error()
	}
	r.ContainerName, r.TaskARN, r.KnownStatus = c.Name, task.TaskARN, task.KnownStatus
	cluster := task.Cluster
	for _, tc := range task.Containers {
		r.Containers = append(r.Containers, tc.Name)
	}
	if len(c.Networks) > 0 {
		r.NetworkMode, r.IPv4Addresses = c.Networks[0].NetworkMode, c.Networks[0].IPv4Addresses
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err == nil {
		r.Region = cfg.Region
		creds, cerr := cfg.Credentials.Retrieve(ctx)
		r.AccessKeyID, r.CredentialSource, err = creds.AccessKeyID, creds.Source, cerr
	}
	if err != nil {
		r.CredentialsError = err.Error()
	} else if r.TaskARN != "" {
		out, err := ecs.NewFromConfig(cfg).DescribeTasks(ctx, &ecs.DescribeTasksInput{Tasks: []string{r.TaskARN}, Cluster: aws.String(cluster)})
		var re *awshttp.ResponseError
		switch {
		case err == nil:
			r.FrontDoorStatus, r.FrontDoorTasks = http.StatusOK, len(out.Tasks)
		case errors.As(err, &re):
			r.FrontDoorStatus, r.FrontDoorError = re.HTTPStatusCode(), err.Error()
		default:
			r.FrontDoorError = err.Error()
		}
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return sleep(nil)
}

// getJSON GETs url into v, retrying a refused connection for a few seconds:
// a bridge container may ask before its endpoint has opened.
func getJSON(url string, v any) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
		}
		return json.Unmarshal(b, v)
	}
}
